package spill

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time of the calling thread (the benchmark locks its goroutine to it):
// events per CPU second, whatever else loads the machine.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

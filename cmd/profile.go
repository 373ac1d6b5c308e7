package cmd

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// profileOptions are hidden flags for performance work (issue 7): a CPU profile of the whole
// run and a heap profile taken when the report is done, for `go tool pprof`.
type profileOptions struct {
	CPUProfile string
	MemProfile string
}

func (o *profileOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile to `FILE`")
	f.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile to `FILE` at the end of the run")
	_ = f.MarkHidden("cpuprofile")
	_ = f.MarkHidden("memprofile")
}

// start begins the CPU profile; the returned function ends it and writes the heap profile.
// keep is called just before the heap profile is written, so what the run holds is still live.
func (o *profileOptions) start() (stop func(keep func()), err error) {
	var cpu *os.File
	if o.CPUProfile != "" {
		if cpu, err = os.Create(o.CPUProfile); err != nil {
			return nil, runtimef("", fmt.Errorf("write CPU profile: %w", err))
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, runtimef("", fmt.Errorf("write CPU profile: %w", err))
		}
	}
	return func(keep func()) {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if o.MemProfile == "" {
			return
		}
		f, err := os.Create(o.MemProfile)
		if err != nil {
			return
		}
		defer f.Close()
		runtime.GC()
		_ = pprof.Lookup("heap").WriteTo(f, 0)
		keep()
	}, nil
}

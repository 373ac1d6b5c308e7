package cmd

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"

	"github.com/spf13/cobra"
)

// profileOptions are hidden flags for performance work: a CPU profile of the whole
// run and a heap profile written when it ends (its alloc_space view shows what the run
// allocated), for `go tool pprof`; an execution trace (where the cores wait), for `go tool
// trace`.
type profileOptions struct {
	CPUProfile string
	MemProfile string
	Trace      string
}

func (o *profileOptions) addProfileFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile to `FILE`")
	f.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile to `FILE` at the end of the run")
	f.StringVar(&o.Trace, "trace", "", "write an execution trace to `FILE`")
	_ = f.MarkHidden("cpuprofile")
	_ = f.MarkHidden("memprofile")
	_ = f.MarkHidden("trace")
}

// profile runs run under the profiles that were asked for.
func (o *profileOptions) profile(run func() error) error {
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return runtimef("", fmt.Errorf("write CPU profile: %w", err))
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return runtimef("", fmt.Errorf("write CPU profile: %w", err))
		}
		defer pprof.StopCPUProfile()
	}
	if o.Trace != "" {
		f, err := os.Create(o.Trace)
		if err != nil {
			return runtimef("", fmt.Errorf("write execution trace: %w", err))
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return runtimef("", fmt.Errorf("write execution trace: %w", err))
		}
		defer trace.Stop()
	}
	err := run()
	if o.MemProfile != "" {
		f, ferr := os.Create(o.MemProfile)
		if ferr != nil {
			return errors.Join(err, runtimef("", fmt.Errorf("write heap profile: %w", ferr)))
		}
		defer f.Close()
		runtime.GC()
		if werr := pprof.Lookup("heap").WriteTo(f, 0); werr != nil {
			return errors.Join(err, runtimef("", fmt.Errorf("write heap profile: %w", werr)))
		}
	}
	return err
}

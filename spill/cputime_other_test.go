//go:build !linux

package spill

import "time"

func threadCPU() time.Duration { return 0 }

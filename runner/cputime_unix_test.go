//go:build unix

package runner

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time this process has used, so
// that benchmarks can report throughput per CPU-second, which does not
// depend on how busy the rest of the machine is.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:build !unix

package runner

import "time"

// processCPU is not available here; benchmarks then skip CPU metrics.
func processCPU() time.Duration { return 0 }

// Command rawsha measures the machine's raw crypto/sha256 throughput:
// in-memory data hashed on every core (GOMAXPROCS goroutines) for a few
// seconds. It prints bytes per wall-clock second and per CPU-second, the
// ceilings for hashing files.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	d := flag.Duration("d", 3*time.Second, "how long to hash")
	flag.Parse()
	workers := runtime.GOMAXPROCS(0)
	counts := make([]int64, workers)
	var wg sync.WaitGroup
	deadline := time.Now().Add(*d)
	start, c0 := time.Now(), cpu()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			h := sha256.New()
			for time.Now().Before(deadline) {
				h.Write(buf)
				counts[w] += int64(len(buf))
			}
			h.Sum(nil)
		}()
	}
	wg.Wait()
	wall, used := time.Since(start), cpu()-c0
	var total int64
	for _, c := range counts {
		total += c
	}
	fmt.Printf("%.1f %.1f %d\n", float64(total)/wall.Seconds()/1e6, float64(total)/used.Seconds()/1e6, workers)
}

// Command rawsha measures the machine's raw crypto/sha256 throughput, the
// ceiling for hashing files, in two ways:
//
//   - in-memory blocks small enough to stay in the CPU caches, hashed on
//     every core (the hash function's own speed);
//   - with -tree DIR, the tree's file contents loaded into memory first,
//     each file hashed with sha256.Sum256 on every core (the same data a
//     file hasher reads, minus all file system work).
//
// It prints one line: "cache_MB/s cache_cpu_MB/s tree_MB/s tree_cpu_MB/s
// CPUs", throughputs per wall-clock second and per CPU-second (tree values
// are 0 without -tree).
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs round until d has passed and returns bytes per wall-clock
// and per CPU second, each round hashing bytesPerRound.
func measure(d time.Duration, bytesPerRound int64, round func()) (float64, float64) {
	start, c0 := time.Now(), cpu()
	n := 0
	for n == 0 || time.Since(start) < d {
		round()
		n++
	}
	wall, used := time.Since(start), cpu()-c0
	total := float64(bytesPerRound) * float64(n)
	return total / wall.Seconds() / 1e6, total / used.Seconds() / 1e6
}

func parallel(work func(w int)) {
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	wg.Wait()
}

func main() {
	d := flag.Duration("d", 3*time.Second, "how long to hash for each measurement")
	tree := flag.String("tree", "", "also hash this tree's contents, preloaded into memory")
	flag.Parse()
	workers := runtime.GOMAXPROCS(0)

	const block, perRound = 256 << 10, 64
	cacheWall, cacheCPU := measure(*d, int64(workers*block*perRound), func() {
		parallel(func(int) {
			buf := make([]byte, block)
			h := sha256.New()
			for range perRound {
				h.Write(buf)
			}
			h.Sum(nil)
		})
	})

	var treeWall, treeCPU float64
	if *tree != "" {
		var contents [][]byte
		var size int64
		err := filepath.WalkDir(*tree, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			data, err := os.ReadFile(p)
			contents = append(contents, data)
			size += int64(len(data))
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "rawsha:", err)
			os.Exit(1)
		}
		treeWall, treeCPU = measure(*d, size, func() {
			var next atomic.Int64
			parallel(func(int) {
				for i := next.Add(1) - 1; i < int64(len(contents)); i = next.Add(1) - 1 {
					sha256.Sum256(contents[i])
				}
			})
		})
	}
	fmt.Printf("%.1f %.1f %.1f %.1f %d\n", cacheWall, cacheCPU, treeWall, treeCPU, workers)
}

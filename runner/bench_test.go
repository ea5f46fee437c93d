package runner

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toto-dev/toto/keys"
)

// Benchmarks for artifact hashing. The tree is generated once per process
// (TOTO_BENCH_FILES files, TOTO_BENCH_MB MiB in total, default 2000 files /
// 128 MiB, sizes spread log-uniformly from 1 KiB to 1 MiB) and read once
// before timing, so that the page cache holds it and the numbers measure
// hashing, not the disk. bench/runner.sh runs the 20,000 files / 1 GiB
// comparison against the reference implementations.

var benchTree struct {
	once  sync.Once
	dir   string
	files int
	bytes int64
	err   error
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchSizes spreads total bytes over n files, log-uniformly between 1 KiB
// and 1 MiB before scaling, deterministically.
func benchSizes(n int, total int64) []int64 {
	rng := rand.New(rand.NewPCG(42, 42))
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = math.Exp(rng.Float64() * math.Log(1024))
		sum += w[i]
	}
	sizes := make([]int64, n)
	var acc int64
	for i := range w {
		sizes[i] = int64(w[i] / sum * float64(total))
		acc += sizes[i]
	}
	sizes[0] += total - acc
	return sizes
}

func setupBenchTreeT(t testing.TB) (string, int, int64) { return setupBenchTree(t) }

func setupBenchTree(b testing.TB) (string, int, int64) {
	b.Helper()
	benchTree.once.Do(func() {
		n := envInt("TOTO_BENCH_FILES", 2000)
		mb := envInt("TOTO_BENCH_MB", 128)
		dir, err := os.MkdirTemp("", "toto-runner-bench")
		if err != nil {
			benchTree.err = err
			return
		}
		buf := make([]byte, 1<<20)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range buf {
			buf[i] = byte(rng.IntN(256))
		}
		var total int64
		for i, size := range benchSizes(n, int64(mb)<<20) {
			d := filepath.Join(dir, fmt.Sprintf("d%02d", i%50), fmt.Sprintf("s%d", i%7))
			if err := os.MkdirAll(d, 0o755); err != nil {
				benchTree.err = err
				return
			}
			f, err := os.Create(filepath.Join(d, fmt.Sprintf("f%05d.bin", i)))
			if err != nil {
				benchTree.err = err
				return
			}
			buf[0] = byte(i) // distinct contents
			for left := size; left > 0; {
				m := min(left, int64(len(buf)))
				f.Write(buf[:m])
				left -= m
			}
			total += size
			if err := f.Close(); err != nil {
				benchTree.err = err
				return
			}
		}
		benchTree.dir, benchTree.files, benchTree.bytes = dir, n, total
		// Warm the page cache.
		_, benchTree.err = RecordArtifacts(context.Background(), []string{dir}, HashOptions{})
	})
	if benchTree.err != nil {
		b.Fatal(benchTree.err)
	}
	return benchTree.dir, benchTree.files, benchTree.bytes
}

// BenchmarkRawSHA256 is crypto/sha256 on in-memory 1 MiB blocks, one core.
func BenchmarkRawSHA256(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	h := sha256.New()
	for b.Loop() {
		h.Write(buf)
	}
}

// BenchmarkRawSHA256Parallel is crypto/sha256 on in-memory blocks on every
// core: the machine's raw hashing throughput.
func BenchmarkRawSHA256Parallel(b *testing.B) {
	b.SetBytes(1 << 20)
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 1<<20)
		h := sha256.New()
		for pb.Next() {
			h.Write(buf)
		}
	})
}

// loadTree reads every file of the bench tree into memory.
func loadTree(b *testing.B, dir string) [][]byte {
	b.Helper()
	var contents [][]byte
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		contents = append(contents, data)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return contents
}

// hashAll hashes every buffer with crypto/sha256 on every core.
func hashAll(contents [][]byte) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(contents)); i = next.Add(1) - 1 {
				sha256.Sum256(contents[i])
			}
		}()
	}
	wg.Wait()
}

// rawSameData measures hashAll for at least d: bytes per wall-clock second
// and per CPU-second.
func rawSameData(contents [][]byte, size int64, d time.Duration) (wall, cpu float64) {
	start, cpu0 := time.Now(), processCPU()
	n := 0
	for n == 0 || time.Since(start) < d {
		hashAll(contents)
		n++
	}
	elapsed, used := time.Since(start), processCPU()-cpu0
	wall = float64(size) * float64(n) / elapsed.Seconds()
	if used > 0 {
		cpu = float64(size) * float64(n) / used.Seconds()
	}
	return wall, cpu
}

// BenchmarkRawSHA256SameData hashes the bench tree's contents, loaded into
// memory beforehand, with crypto/sha256 on every core: the same data as
// BenchmarkRecordArtifacts without any file system work.
func BenchmarkRawSHA256SameData(b *testing.B) {
	dir, _, size := setupBenchTree(b)
	contents := loadTree(b, dir)
	b.SetBytes(size)
	b.ResetTimer()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		hashAll(contents)
		n++
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(size)*float64(n)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

// BenchmarkRecordArtifacts hashes the whole tree. For sha256 it also
// reports its throughput as a percentage of raw crypto/sha256 on the same
// data held in memory (BenchmarkRawSHA256SameData, measured right before):
// "raw-wall-%" per wall-clock second, "raw-cpu-%" per CPU-second, which
// other load on the machine does not distort.
func BenchmarkRecordArtifacts(b *testing.B) {
	dir, files, size := setupBenchTree(b)
	for _, tc := range []struct {
		name string
		opts HashOptions
	}{
		{"sha256", HashOptions{}},
		{"sha256-normalize", HashOptions{NormalizeLineEndings: true}},
		{"sha512", HashOptions{Algorithms: []string{"sha512"}}},
		{"sha256+sha512", HashOptions{Algorithms: []string{"sha256", "sha512"}}},
		{"sha256-1worker", HashOptions{Workers: 1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var rawWall, rawCPU float64
			if tc.name == "sha256" {
				rawWall, rawCPU = rawSameData(loadTree(b, dir), size, time.Second)
				runtime.GC()
			}
			b.SetBytes(size)
			b.ReportAllocs()
			start, cpu0 := time.Now(), processCPU()
			n := 0
			for b.Loop() {
				a, err := RecordArtifacts(context.Background(), []string{dir}, tc.opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(a) != files {
					b.Fatalf("recorded %d files, want %d", len(a), files)
				}
				n++
			}
			hashed := float64(size) * float64(n)
			wall := hashed / time.Since(start).Seconds()
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(hashed/cpu.Seconds()/1e6, "cpu-MB/s")
				if rawCPU > 0 {
					b.ReportMetric(100*hashed/cpu.Seconds()/rawCPU, "raw-cpu-%")
				}
			}
			if rawWall > 0 {
				b.ReportMetric(100*wall/rawWall, "raw-wall-%")
			}
		})
	}
}

// BenchmarkDigestLargeFile hashes one big file: memory per operation stays
// at the read buffer whatever the size (see B/op).
func BenchmarkDigestLargeFile(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	const size = 256 << 20
	f.Truncate(size)
	f.Close()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DigestFile(path, DigestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunAndSign is a whole step as `toto run` does it: the tree as
// materials and products, then the link signed (Metablock, ed25519).
func BenchmarkRunAndSign(b *testing.B) {
	dir, files, size := setupBenchTree(b)
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(2 * size)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Run(context.Background(), Options{Name: "bench", Materials: []string{dir}, Products: []string{dir}})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Link.Products) != files {
			b.Fatalf("recorded %d products", len(res.Link.Products))
		}
		env, err := Sign(context.Background(), res.Link, k, Metablock)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := env.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

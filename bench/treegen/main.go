// Command treegen writes a deterministic tree of files for benchmarking
// artifact recording: -files files totalling -mb MiB, spread over nested
// directories, with sizes log-uniform between 1 KiB and 1 MiB before scaling
// (many small files, most bytes in larger ones, as in a source tree with
// build outputs).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	files := flag.Int("files", 20000, "number of files")
	mb := flag.Int64("mb", 1024, "total size in MiB")
	out := flag.String("o", "", "directory to create (must not exist)")
	flag.Parse()
	if *out == "" || *files <= 0 || *mb <= 0 {
		fmt.Fprintln(os.Stderr, "usage: treegen -files N -mb M -o DIR")
		os.Exit(2)
	}
	if err := generate(*out, *files, *mb<<20); err != nil {
		fmt.Fprintln(os.Stderr, "treegen:", err)
		os.Exit(1)
	}
}

func generate(root string, n int, total int64) error {
	if _, err := os.Stat(root); err == nil {
		return fmt.Errorf("%s exists", root)
	}
	rng := rand.New(rand.NewPCG(42, 42))
	weights := make([]float64, n)
	var sum float64
	for i := range weights {
		weights[i] = math.Exp(rng.Float64() * math.Log(1024))
		sum += weights[i]
	}
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(rng.IntN(256))
	}
	var written int64
	for i := range n {
		size := int64(weights[i] / sum * float64(total))
		if i == n-1 {
			size = total - written
		}
		dir := filepath.Join(root, fmt.Sprintf("pkg%03d", i%100), fmt.Sprintf("mod%d", i%10), fmt.Sprintf("sub%d", i%3))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("file%05d.dat", i)), block, i, size); err != nil {
			return err
		}
		written += size
	}
	return nil
}

func writeFile(path string, block []byte, seed int, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	// Every file starts differently so no two share a digest.
	fmt.Fprintf(w, "%08d", seed)
	size -= 8
	for off := seed % 4096; size > 0; off = 0 {
		m := min(size, int64(len(block)-off))
		w.Write(block[off : off+int(m)])
		size -= m
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

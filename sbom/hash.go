package sbom

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
)

// hashFile streams the file once through SHA-1, SHA-256 and SHA-512. SHA-1
// is there because SPDX 2.3 makes it mandatory for files (clause 8.4);
// in-toto subjects use SHA-256 and SHA-512.
func hashFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h1, h256, h512 := sha1.New(), sha256.New(), sha512.New()
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(io.MultiWriter(h1, h256, h512), f, buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return map[string]string{
		SHA1:   hex.EncodeToString(h1.Sum(nil)),
		SHA256: hex.EncodeToString(h256.Sum(nil)),
		SHA512: hex.EncodeToString(h512.Sum(nil)),
	}, nil
}

// hashFiles hashes paths in parallel (one worker per CPU) and returns the
// digests in the same order. The first error cancels the rest.
func hashFiles(ctx context.Context, paths []string) ([]map[string]string, error) {
	out := make([]map[string]string, len(paths))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d, err := hashFile(paths[i])
				if err != nil {
					cancel(fmt.Errorf("hash %s: %w", paths[i], err))
					continue
				}
				out[i] = d
			}
		}()
	}
feed:
	for i := range paths {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

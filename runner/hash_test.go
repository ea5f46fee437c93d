package runner

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func sha512hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

// refNormalize is the references' whole-file normalisation.
func refNormalize(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
}

func TestDigestMatchesCryptoSHA(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 63, 64, 65, bufSize - 1, bufSize, bufSize + 1, 3*bufSize + 17} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		ds, err := Digest(bytes.NewReader(data), DigestOptions{Algorithms: []string{"sha256", "sha512"}})
		if err != nil {
			t.Fatal(err)
		}
		if ds["sha256"] != sha256hex(data) || ds["sha512"] != sha512hex(data) || len(ds) != 2 {
			t.Errorf("size %d: digest set %v does not match crypto/sha256, crypto/sha512", size, ds)
		}
	}
}

func TestDigestDefaultsToSHA256(t *testing.T) {
	ds, err := Digest(strings.NewReader("abc"), DigestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// FIPS 180-2 test vector.
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if len(ds) != 1 || ds["sha256"] != want {
		t.Errorf("got %v, want only sha256=%s", ds, want)
	}
}

func TestDigestAllAlgorithms(t *testing.T) {
	// Known answers for "abc" (FIPS 180-4 and FIPS 202 examples).
	want := map[string]string{
		"sha224":     "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
		"sha384":     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
		"sha512_224": "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa",
		"sha512_256": "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
		"sha3_224":   "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf",
		"sha3_256":   "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
		"sha3_384":   "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25",
		"sha3_512":   "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	ds, err := Digest(strings.NewReader("abc"), DigestOptions{Algorithms: names})
	if err != nil {
		t.Fatal(err)
	}
	for n, w := range want {
		if ds[n] != w {
			t.Errorf("%s(abc) = %s, want %s", n, ds[n], w)
		}
	}
	if len(Algorithms()) != len(want)+2 { // + sha256, sha512
		t.Errorf("Algorithms() = %v: a supported algorithm has no known-answer test", Algorithms())
	}
}

func TestDigestRejectsUnknownAndWeakAlgorithms(t *testing.T) {
	for _, alg := range []string{"md5", "sha1", "SHA256", "blake3", ""} {
		_, err := Digest(strings.NewReader("x"), DigestOptions{Algorithms: []string{alg}})
		if !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Errorf("algorithm %q: err = %v, want ErrUnsupportedAlgorithm", alg, err)
		}
	}
}

func TestNormalizeLineEndings(t *testing.T) {
	cases := []string{
		"", "\r", "\n", "\r\n", "\n\r", "\r\r\n", "\r\n\r\n", "\r\r\r",
		"a\r\nb\rc\nd", "no line endings", "trailing\r", "x\r\n\n\r\r\ny",
	}
	for _, in := range cases {
		ds, err := Digest(strings.NewReader(in), DigestOptions{NormalizeLineEndings: true})
		if err != nil {
			t.Fatal(err)
		}
		want := sha256hex(refNormalize([]byte(in)))
		if ds["sha256"] != want {
			t.Errorf("%q: normalised digest differs from the reference's replace(\\r\\n)+replace(\\r)", in)
		}
	}
}

// TestNormalizeAcrossReads feeds content one byte (and random sizes) at a
// time so that every "\r\n" pair is split across reads at some point.
func TestNormalizeAcrossReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\r\n")
	for round := 0; round < 100; round++ {
		data := make([]byte, rng.IntN(300))
		for i := range data {
			data[i] = alphabet[rng.IntN(len(alphabet))]
		}
		want := sha256hex(refNormalize(data))
		for _, r := range []io.Reader{
			iotest.OneByteReader(bytes.NewReader(data)),
			iotest.HalfReader(bytes.NewReader(data)),
			&chunkReader{data: data, rng: rng},
		} {
			ds, err := Digest(r, DigestOptions{NormalizeLineEndings: true})
			if err != nil {
				t.Fatal(err)
			}
			if ds["sha256"] != want {
				t.Fatalf("%q: split reads give a different digest", data)
			}
		}
	}
}

type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1 + c.rng.IntN(7)
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// TestNormalizeReferenceFiles uses in-toto-golang's line-ending test files:
// all four spellings of "this is a test" hash the same when normalised.
func TestNormalizeReferenceFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "corpus", "in-toto-golang", "data")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus not found at %s: %v", dir, err)
	}
	linux, err := DigestFile(filepath.Join(dir, "line-ending-linux"), DigestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"line-ending-linux", "line-ending-macos", "line-ending-windows", "line-ending-mixed"} {
		raw, err := DigestFile(filepath.Join(dir, f), DigestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		norm, err := DigestFile(filepath.Join(dir, f), DigestOptions{NormalizeLineEndings: true})
		if err != nil {
			t.Fatal(err)
		}
		if norm["sha256"] != linux["sha256"] {
			t.Errorf("%s normalised = %s, want the LF file's %s", f, norm["sha256"], linux["sha256"])
		}
		if f != "line-ending-linux" && raw["sha256"] == linux["sha256"] {
			t.Errorf("%s without normalisation should differ from the LF file", f)
		}
	}
}

func TestDigestFileErrors(t *testing.T) {
	if _, err := DigestFile(filepath.Join(t.TempDir(), "missing"), DigestOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
	_, err := Digest(iotest.ErrReader(errors.New("disk on fire")), DigestOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error lost: %v", err)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add([]byte("a\r\nb\rc"), uint8(1))
	f.Add([]byte("\r\r\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		want := sha256hex(refNormalize(bytes.Clone(data)))
		r := &fixedReader{data: data, n: int(step)%9 + 1}
		ds, err := Digest(r, DigestOptions{NormalizeLineEndings: true})
		if err != nil {
			t.Fatal(err)
		}
		if ds["sha256"] != want {
			t.Errorf("%q in reads of %d: digest differs from reference normalisation", data, r.n)
		}
	})
}

type fixedReader struct {
	data []byte
	n    int
}

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

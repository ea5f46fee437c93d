package runner

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/toto-dev/toto/link"
)

// DefaultAlgorithm is the hash algorithm used when none is requested, as in
// both reference implementations.
const DefaultAlgorithm = "sha256"

// algorithms maps the names the references write in digest sets (Python's
// hashlib names) to constructors. Weak algorithms (md5, sha1) are left out on
// purpose: a link is evidence and must not be forgeable.
var algorithms = map[string]func() hash.Hash{
	"sha224":     sha256.New224,
	"sha256":     sha256.New,
	"sha384":     sha512.New384,
	"sha512":     sha512.New,
	"sha512_224": sha512.New512_224,
	"sha512_256": sha512.New512_256,
	"sha3_224":   func() hash.Hash { return sha3.New224() },
	"sha3_256":   func() hash.Hash { return sha3.New256() },
	"sha3_384":   func() hash.Hash { return sha3.New384() },
	"sha3_512":   func() hash.Hash { return sha3.New512() },
}

// ErrUnsupportedAlgorithm is returned for a hash algorithm name the runner
// does not know.
var ErrUnsupportedAlgorithm = errors.New("unsupported hash algorithm")

// Algorithms returns the supported hash algorithm names, sorted.
func Algorithms() []string {
	out := make([]string, 0, len(algorithms))
	for a := range algorithms {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// checkAlgorithms validates names and returns them deduplicated, defaulting
// to sha256.
func checkAlgorithms(names []string) ([]string, error) {
	if len(names) == 0 {
		return []string{DefaultAlgorithm}, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if _, ok := algorithms[n]; !ok {
			return nil, fmt.Errorf("%w %q (supported: %s)", ErrUnsupportedAlgorithm, n, strings.Join(Algorithms(), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// bufSize is the read size per worker: large enough that syscalls cost
// little next to hashing (measured: 256 KiB reads copy from the page cache
// about as fast as 1 MiB ones, 16 KiB reads at a third of that), small
// enough to stay in the CPU's L2 cache between the kernel's copy and the
// hash reading it. Memory is bufSize per worker whatever the file sizes.
const bufSize = 256 << 10

// digester hashes one stream with several algorithms at once, optionally
// normalising line endings on the fly. It is reused across files by one
// worker and is not safe for concurrent use.
type digester struct {
	names     []string
	hashes    []hash.Hash
	normalize bool
	crlf      crlfState
	buf       []byte
}

func newDigester(names []string, normalize bool) *digester {
	d := &digester{names: names, normalize: normalize, buf: make([]byte, bufSize)}
	for _, n := range names {
		d.hashes = append(d.hashes, algorithms[n]())
	}
	return d
}

// digest reads r to the end and returns its digests and the number of bytes
// read (before normalisation). counter, if not nil, is advanced as bytes
// are read so that progress can be shown on large files.
func (d *digester) digest(r io.Reader, counter *atomic.Int64) (link.DigestSet, int64, error) {
	d.reset()
	n, err := d.readFrom(r, counter)
	if err != nil {
		return nil, n, err
	}
	return d.sum(), n, nil
}

func (d *digester) reset() {
	for _, h := range d.hashes {
		h.Reset()
	}
	d.crlf = crlfState{}
}

// readFrom feeds everything r yields into the hashes.
func (d *digester) readFrom(r io.Reader, counter *atomic.Int64) (int64, error) {
	var n int64
	for {
		m, err := r.Read(d.buf)
		if m > 0 {
			n += int64(m)
			d.write(d.buf[:m])
			if counter != nil {
				counter.Add(int64(m))
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// write hashes one chunk. With normalisation the chunk is rewritten in
// place, so it must be writable.
func (d *digester) write(chunk []byte) {
	if d.normalize {
		chunk = d.crlf.normalize(chunk)
	}
	for _, h := range d.hashes {
		h.Write(chunk)
	}
}

func (d *digester) sum() link.DigestSet {
	ds := make(link.DigestSet, len(d.names))
	var sum [64]byte
	for i, h := range d.hashes {
		ds[d.names[i]] = hex.EncodeToString(h.Sum(sum[:0]))
	}
	return ds
}

// crlfState normalises line endings across chunk boundaries the way the
// references do over a whole file: every "\r\n" becomes "\n", then every
// remaining "\r" becomes "\n" (securesystemslib.hash.digest_fileobject,
// in-toto-golang RecordArtifact). Streaming, a "\r" is written as "\n" at
// once and a "\n" directly after it is dropped.
type crlfState struct {
	afterCR bool
}

// normalize rewrites chunk in place (the output is never longer) and returns
// the normalised prefix.
func (s *crlfState) normalize(chunk []byte) []byte {
	if s.afterCR && len(chunk) > 0 {
		s.afterCR = false
		if chunk[0] == '\n' {
			chunk = chunk[1:]
		}
	}
	i := bytes.IndexByte(chunk, '\r')
	if i < 0 {
		return chunk
	}
	w := i // write position; chunk[:w] is final
	for i < len(chunk) {
		// chunk[i] == '\r'
		chunk[w] = '\n'
		w++
		i++
		if i == len(chunk) {
			s.afterCR = true
			break
		}
		if chunk[i] == '\n' {
			i++
		}
		j := bytes.IndexByte(chunk[i:], '\r')
		if j < 0 {
			w += copy(chunk[w:], chunk[i:])
			break
		}
		w += copy(chunk[w:], chunk[i:i+j])
		i += j
	}
	return chunk[:w]
}

// DigestOptions selects how content is hashed.
type DigestOptions struct {
	// Algorithms are hash algorithm names (see Algorithms); empty means
	// sha256.
	Algorithms []string
	// NormalizeLineEndings hashes text as if every "\r\n" and lone "\r"
	// were "\n", so that checkouts on different systems agree. Only use it
	// for text: it makes "a\r\n" and "a\n" indistinguishable.
	NormalizeLineEndings bool
}

// bufPool recycles read buffers between Digest calls, so that hashing many
// small inputs one by one does not allocate a megabyte each time.
var bufPool = sync.Pool{New: func() any { return new([bufSize]byte) }}

// Digest hashes everything r yields, streaming, with the given algorithms.
func Digest(r io.Reader, opts DigestOptions) (link.DigestSet, error) {
	names, err := checkAlgorithms(opts.Algorithms)
	if err != nil {
		return nil, err
	}
	buf := bufPool.Get().(*[bufSize]byte)
	defer bufPool.Put(buf)
	d := &digester{names: names, normalize: opts.NormalizeLineEndings, buf: buf[:]}
	for _, n := range names {
		d.hashes = append(d.hashes, algorithms[n]())
	}
	ds, _, err := d.digest(r, nil)
	return ds, err
}

// DigestFile hashes the file at path, streaming.
func DigestFile(path string, opts DigestOptions) (link.DigestSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ds, err := Digest(f, opts)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ds, nil
}

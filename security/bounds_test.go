package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// sparse creates a file of size bytes that takes no disk space.
func sparse(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// allocated returns how many bytes f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A link file over the links folder's size limit is refused by its size,
// before anything is read.
func TestHugeLinkFileRefused(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	le := signLayout(t, buildLayout(t, 1, alice), envelope.Metablock, owner)
	name := "build." + short(alice) + ".link"

	for _, tc := range []struct {
		name      string
		size, max int64 // max 0: the default limit
	}{
		{"100 MB with a 1 MB limit", 100 << 20, 1 << 20},
		{"300 MB with the default limit", 300 << 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sparse(t, filepath.Join(dir, name), tc.size)
			d, err := verifier.OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			d.MaxFileSize = tc.max
			limit := tc.max
			if limit == 0 {
				limit = verifier.DefaultMaxLinkSize
			}
			var res *verifier.Result
			alloc := allocated(func() { res = verifyWith(t, le, verifier.Options{Links: d}, owner) })
			reason := fmt.Sprintf("unreadable: %s is %d bytes, more than the limit of %d", name, tc.size, limit)
			rejected(t, res, "build", name, reason)
			onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
				"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
			if alloc > 8<<20 {
				t.Errorf("refusing a %d-byte file allocated %d bytes; it should not read it", tc.size, alloc)
			}
		})
	}

	t.Run("control: the same folder with the link", func(t *testing.T) {
		dir := t.TempDir()
		writeLink(t, dir, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
		d, err := verifier.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.MaxFileSize = 1 << 20
		requirePass(t, verifyWith(t, le, verifier.Options{Links: d}, owner))
	})
}

// bigLink returns a Metablock of about size bytes, signed by k: the
// honest build link with an unknown member holding one huge string added
// after signing (nothing checks that signature before the key is found
// unauthorised, and the file is made in milliseconds).
func bigLink(t *testing.T, size int, k *keys.Key) []byte {
	t.Helper()
	data := encode(t, signLink(t, buildLink(), envelope.Metablock, k))
	i := bytes.Index(data, []byte(`"_type": "link"`))
	if i < 0 {
		t.Fatalf("no _type in %s", data)
	}
	var b bytes.Buffer
	b.Grow(len(data) + size + 16)
	b.Write(data[:i])
	b.WriteString(`"x-padding": "`)
	b.Write(bytes.Repeat([]byte("A"), size))
	b.WriteString(`", `)
	b.Write(data[i:])
	return b.Bytes()
}

// A 100 MB link file under the folder's limit is read and checked once,
// with memory bounded by a multiple of its size (measured: a peak RSS of
// about 500 MB). What is bounded is each file: the limit is per file, not
// per verification.
func TestHugeLinkFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	owner, alice, mallory := newKey(t), newKey(t), newKey(t)
	work := t.TempDir()
	writeFile(t, filepath.Join(work, "root.layout"), encode(t, signLayout(t, buildLayout(t, 1, alice), envelope.Metablock, owner)))
	writeFile(t, filepath.Join(work, "owner.pub"), publicPEM(t, owner))
	links := filepath.Join(work, "links")
	name := "build." + short(alice) + ".link"
	const size = 100 << 20
	writeFile(t, filepath.Join(links, name), bigLink(t, size, mallory))

	r := runToto(t, work, 2*time.Minute, "verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", "links")
	wantCode(t, r, 1)
	contains(t, r.Stdout, fmt.Sprintf("ignored %s: signed by %s, not by a functionary authorised for step build", name, short(mallory)))
	t.Logf("peak RSS verifying with a %d MB link: %d MB", size>>20, r.MaxRSS>>20)
	if r.MaxRSS > 16*size {
		t.Errorf("peak RSS %d MB for a %d MB link; want under %d MB", r.MaxRSS>>20, size>>20, 16*size>>20)
	}
}

func publicPEM(t *testing.T, k *keys.Key) []byte {
	t.Helper()
	b, err := k.MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Key files are small; a huge one is refused by size, on the API and in
// the CLI, whatever kind of file it is.
func TestHugeKeyFile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pub")
	pem := publicPEM(t, newKey(t))
	writeFile(t, big, append(pem, bytes.Repeat([]byte("# padding\n"), 1<<20)...)) // 10 MB

	t.Run("control", func(t *testing.T) {
		p := filepath.Join(dir, "small.pub")
		writeFile(t, p, pem)
		if _, err := keys.Load(p); err != nil {
			t.Fatal(err)
		}
	})

	for _, p := range []string{big, "/dev/zero"} {
		t.Run(p, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = keys.Load(p) })
			want := fmt.Sprintf("load key %s: file larger than 1048576 bytes", p)
			if err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
			if alloc > 8<<20 {
				t.Errorf("refusing a huge key allocated %d bytes", alloc)
			}
		})
	}

	t.Run("cli", func(t *testing.T) {
		owner := newKey(t)
		writeFile(t, filepath.Join(dir, "root.layout"), encode(t, signLayout(t, buildLayout(t, 1, owner), envelope.Metablock, owner)))
		r := runToto(t, dir, time.Minute, "verify", "--layout", "root.layout", "--layout-key", "big.pub", "--links", ".")
		wantCode(t, r, 2)
		contains(t, r.Stderr, "load key big.pub: file larger than 1048576 bytes")
	})
}

// A layout file is bounded too, including one that is not a regular file
// (a FIFO, a device) whose size stat cannot tell.
func TestHugeLayoutFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "owner.pub"), publicPEM(t, newKey(t)))
	const max = 64 << 20 // the CLI's metadata limit

	t.Run("control: a layout of ordinary size", func(t *testing.T) {
		c := newCLIChain(t)
		writeLink(t, filepath.Join(c.dir, "links"), "build", c.alice, signLink(t, buildLink(), envelope.Metablock, c.alice))
		wantCode(t, c.verify(t), 0)
	})

	t.Run("regular file", func(t *testing.T) {
		sparse(t, filepath.Join(dir, "huge.layout"), max+1)
		r := runToto(t, dir, time.Minute, "verify", "--layout", "huge.layout", "--layout-key", "owner.pub", "--links", ".")
		wantCode(t, r, 2)
		contains(t, r.Stderr, fmt.Sprintf("huge.layout: larger than %d bytes", max))
	})

	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "layout.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		// O_RDWR opens a FIFO without waiting for a reader; writes then
		// block until toto reads, and fail once the file is closed.
		w, err := os.OpenFile(fifo, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan int64)
		go func() {
			var n int64
			chunk := bytes.Repeat([]byte(" "), 1<<20)
			for n < max+(8<<20) {
				m, err := w.Write(chunk)
				n += int64(m)
				if err != nil {
					break
				}
			}
			w.Close()
			done <- n
		}()
		r := runToto(t, dir, time.Minute, "verify", "--layout", "layout.fifo", "--layout-key", "owner.pub", "--links", ".")
		w.Close()
		<-done
		wantCode(t, r, 2)
		contains(t, r.Stderr, fmt.Sprintf("larger than %d bytes", max))
	})
}

// Deeply nested JSON gets a clear error from every parser, without
// exhausting the stack; the same document nested a little is fine.
func TestDeeplyNestedJSON(t *testing.T) {
	k := newKey(t)
	linkJSON, err := buildLink().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	layoutJSON, err := layout.Payload(buildLayout(t, 1, k))
	if err != nil {
		t.Fatal(err)
	}
	keyJSON, err := json.Marshal(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	envJSON := encode(t, signLink(t, buildLink(), envelope.Metablock, k))
	// nested adds a member "x" holding depth nested arrays to a JSON object.
	nested := func(doc []byte, depth int) []byte {
		return append([]byte(`{"x":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)+","), doc[1:]...)
	}
	for _, tc := range []struct {
		name  string
		parse func([]byte) error
		doc   []byte
		want  string
	}{
		{"envelope", func(b []byte) error { _, err := envelope.Parse(b); return err }, envJSON,
			`field "x": invalid JSON: invalid character '[' exceeded max depth`},
		{"link", func(b []byte) error { _, err := link.Parse(b); return err }, linkJSON,
			`link: field "x": invalid JSON: invalid character '[' exceeded max depth`},
		{"layout", func(b []byte) error { _, err := layout.Parse(b); return err }, layoutJSON,
			`layout: field "x": invalid JSON: invalid character '[' exceeded max depth`},
		{"key", func(b []byte) error { _, err := keys.Parse(b); return err }, keyJSON,
			`key JSON: field "x": invalid JSON: invalid character '[' exceeded max depth`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.parse(nested(tc.doc, 100)); err != nil {
				t.Fatalf("control, 100 levels: %v", err)
			}
			err := tc.parse(nested(tc.doc, 1<<20))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}

	t.Run("layout source", func(t *testing.T) {
		src := func(depth int) []byte {
			return []byte("readme: " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n")
		}
		// A little nesting gets as far as the first missing field.
		_, err := layout.ParseSource("deep.yaml", src(100), layout.SourceOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "deep.yaml:1:1: expires: missing") {
			t.Fatalf("control, 100 levels: %v", err)
		}
		_, err = layout.ParseSource("deep.yaml", src(1<<20), layout.SourceOptions{})
		if want := "deep.yaml: exceeded max depth of 10000"; err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
}

//go:build interop

package cosign

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// parallelAttests is how many toto image attest processes run at once.
const parallelAttests = 8

// attestInParallel runs parallelAttests `toto image attest` processes on
// ref at once, each with its own predicate type, and returns the results
// and the types.
func (e *env) attestInParallel(ref string) ([]totoResult, []string) {
	e.t.Helper()
	pred := e.write("pred.json", `{"n":1}`)
	types := make([]string, parallelAttests)
	results := make([]totoResult, parallelAttests)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range types {
		types[i] = fmt.Sprintf("https://example.com/parallel/%d", i)
		cmd := exec.Command(oracle.Toto(e.t), "image", "attest", "--key", "toto.key", "--predicate-type", types[i], "--predicate", pred, ref)
		cmd.Dir = e.dir
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			results[i] = totoResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
		}()
	}
	close(start)
	wg.Wait()
	return results, types
}

// Issue 14.8: parallel toto image attest processes each add their
// attestation; every one is there and verifies afterwards, in a registry
// without the referrers API (the sha256-HEX index, which toto re-reads and
// repairs until its entry stays) and in an OCI layout (index.json
// rewritten under a lock). Before, 8 parallel attests kept 2 (registry)
// and 5 (layout), each printing success.
func TestConcurrentAttest(t *testing.T) {
	e := newEnv(t)
	e.totoKey("toto")
	layoutDir := filepath.Join(e.dir, "layout")
	for _, tc := range []struct {
		name string
		ref  func() string
	}{
		{"registry fallback tag", func() string { return e.push("parallel") }},
		{"oci layout", func() string {
			ref := e.push("for-layout")
			oracle.MustRun(t, e.dir, nil, oracle.Tool(t, "crane"), "pull", "--insecure", "--format", "oci", ref, layoutDir)
			return "oci-layout:" + layoutDir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			ref := tc.ref()
			e.wantCode(e.toto("image", "sign", "--key", "toto.key", ref), 0)
			results, types := e.attestInParallel(ref)
			for i, r := range results {
				if r.Code != 0 {
					t.Errorf("attest %d: exit %d\nstdout: %s\nstderr: %s", i, r.Code, r.Stdout, r.Stderr)
				}
			}
			args := []string{"--key", "toto.pub", "--require-all"}
			for _, ty := range types {
				args = append(args, "--type", ty)
			}
			rep := e.verify(0, append(args, ref)...)
			if rep.Signatures != 1 || rep.Attestations != parallelAttests {
				t.Fatalf("%d of %d attestations kept:\n%s", rep.Attestations, parallelAttests, rep)
			}
		})
	}
	// The lock file is all toto adds to the layout.
	if _, err := os.Stat(filepath.Join(layoutDir, "index.json.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
}

// Issue 14.8: when the entry cannot be made to stay — a registry (here a
// proxy in front of the real one) that answers 201 to every update of
// the sha256-HEX index and keeps none — toto image attest and sign fail
// with exit 1, naming the index, instead of printing success.
func TestAttachNotRecordedFailsLoudly(t *testing.T) {
	e := newEnv(t)
	e.totoKey("toto")
	ref := e.push("dropped")
	subjectTag := "/manifests/sha256-" + strings.TrimPrefix(digestOf(ref), "sha256:")
	p := newProxy(t, e.host, func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, subjectTag)
	})
	viaProxy := p.host + strings.TrimPrefix(ref, e.host)
	pred := e.write("pred.json", `{"n":1}`)
	for _, args := range [][]string{
		{"image", "sign", "--key", "toto.key", viaProxy},
		{"image", "attest", "--key", "toto.key", "--predicate-type", "https://example.com/p", "--predicate", pred, viaProxy},
	} {
		r := e.toto(args...)
		e.wantCode(r, 1, args...)
		for _, want := range []string{"attachment not recorded", "is not listed in", ":sha256-", "after 12 attempts"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("toto %s: stderr does not say %q:\n%s", args[1], want, r.Stderr)
			}
		}
		if strings.Contains(r.Stdout, "referrer") {
			t.Errorf("toto %s printed success:\n%s", args[1], r.Stdout)
		}
	}
	// Nothing reached the index: the real registry lists no referrer.
	e.verify(1, "--key", "toto.pub", ref)
}

package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toto-dev/toto/keys"
)

// attachN attests n times at once, each from its own Target (as separate
// processes would), and returns the errors.
func attachN(t *testing.T, ref string, k *keys.Key, n int) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		tg := mustOpen(t, ref)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Attest(context.Background(), tg, k, fmt.Sprintf("https://example.com/p/%d", i), []byte(`{}`), SignOptions{})
		}()
	}
	wg.Wait()
	return errs
}

// Concurrent attaches all stay listed: in both registries (the referrers
// API, and the sha256-HEX index that toto re-reads and repairs) and in an
// OCI layout (index.json under a lock).
func TestConcurrentAttach(t *testing.T) {
	const n = 8
	k := genKey(t, keys.ECDSA)
	refs := map[string]string{}
	for name, host := range registries(t) {
		d := pushRandom(t, host+"/concurrent:1")
		refs[name] = host + "/concurrent@" + d.String()
	}
	dir, ds := newLayout(t, 1)
	refs["oci layout"] = LayoutPrefix + dir + "@" + ds[0].String()
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) {
			for i, err := range attachN(t, ref, k, n) {
				if err != nil {
					t.Errorf("attach %d: %v", i, err)
				}
			}
			tg := mustOpen(t, ref)
			if _, err := Sign(context.Background(), tg, k, SignOptions{}); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(context.Background(), tg, VerifyOptions{Keys: []*keys.Key{k}, RequireAll: true})
			if err != nil || rep.Attestations != n || rep.Signatures != 1 {
				t.Fatalf("%d of %d attestations kept (err %v)", rep.Attestations, n, err)
			}
		})
	}
}

// A registry that answers every update of the sha256-HEX index with 201
// and keeps none: Attest fails with an *AttachError naming the tag.
func TestAttachDroppedIndexUpdate(t *testing.T) {
	old := indexRetry
	indexRetry.attempts, indexRetry.settle = 3, 5*time.Millisecond
	t.Cleanup(func() { indexRetry = old })
	host := registries(t)["distribution-v3 (tag schema)"]
	d := pushRandom(t, host+"/dropped:1")
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host})
	tagPath := "/manifests/sha256-" + d.Hex
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, tagPath) {
			w.WriteHeader(http.StatusCreated)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	ref := strings.TrimPrefix(proxy.URL, "http://") + "/dropped@" + d.String()
	_, err := Sign(context.Background(), mustOpen(t, ref), genKey(t, keys.ECDSA), SignOptions{})
	var ae *AttachError
	if !errors.Is(err, ErrNotAttached) || !errors.As(err, &ae) || ae.Attempts != 3 || !strings.HasSuffix(ae.Where, ":sha256-"+d.Hex) {
		t.Fatalf("err = %v (%#v)", err, ae)
	}
}

// A layout whose lock another writer holds too long: Attest fails with an
// *AttachError, and index.json is untouched.
func TestAttachLayoutLockHeld(t *testing.T) {
	old := lockWait
	lockWait = 50 * time.Millisecond
	t.Cleanup(func() { lockWait = old })
	dir, _ := newLayout(t, 1)
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if busy, err := tryLock(f); busy || err != nil {
		t.Fatalf("tryLock: busy %v, %v", busy, err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	_, err = Sign(context.Background(), mustOpen(t, LayoutPrefix+dir), genKey(t, keys.ECDSA), SignOptions{})
	if !errors.Is(err, ErrNotAttached) || !strings.Contains(err.Error(), "held by another writer") {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if string(before) != string(after) {
		t.Error("index.json changed without the lock")
	}
	unlock(f)
	if _, err := Sign(context.Background(), mustOpen(t, LayoutPrefix+dir), genKey(t, keys.ECDSA), SignOptions{}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

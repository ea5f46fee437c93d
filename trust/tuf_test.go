package trust_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/toto-dev/toto"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/trust/repository"
)

// testRepo is a published repository served on 127.0.0.1, with every
// holder's key at hand.
type testRepo struct {
	t        *testing.T
	repo     *repository.Repository
	srv      *httptest.Server
	root     []*keys.Key // root holders, threshold 2
	targets  []*keys.Key // targets holders, threshold 2
	snap, ts *keys.Key
	owners   map[string]*keys.Key
}

func genKey(t *testing.T, typ string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(typ, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newTestRepo publishes root v1 (three root keys, threshold 2; two
// targets keys, threshold 2) with owners alice and bob and a layout both
// signed.
func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	tr := &testRepo{t: t, repo: &repository.Repository{Dir: t.TempDir()}, owners: map[string]*keys.Key{}}
	for i := 0; i < 3; i++ {
		tr.root = append(tr.root, genKey(t, keys.Ed25519))
	}
	tr.targets = []*keys.Key{genKey(t, keys.ECDSA), genKey(t, keys.Ed25519)}
	tr.snap, tr.ts = genKey(t, keys.Ed25519), genKey(t, keys.ECDSA)
	err := tr.repo.Init(repository.InitOptions{
		Root:      repository.RoleKeys{Keys: pubs(tr.root), Threshold: 2},
		Targets:   repository.RoleKeys{Keys: pubs(tr.targets), Threshold: 2},
		Snapshot:  tr.snap.Public(),
		Timestamp: tr.ts.Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.sign("root", tr.root[0], tr.root[1])
	tr.addOwner("alice")
	tr.addOwner("bob")
	tr.addLayout("alice", "bob")
	tr.sign("targets", tr.targets...)
	tr.publish()
	tr.srv = httptest.NewServer(http.FileServer(http.Dir(filepath.Join(tr.repo.Dir, repository.PublicDir))))
	t.Cleanup(tr.srv.Close)
	return tr
}

func pubs(ks []*keys.Key) []*keys.Key {
	var out []*keys.Key
	for _, k := range ks {
		out = append(out, k.Public())
	}
	return out
}

func (tr *testRepo) sign(role string, ks ...*keys.Key) {
	tr.t.Helper()
	for _, k := range ks {
		if err := tr.repo.Sign(context.Background(), role, k); err != nil {
			tr.t.Fatal(err)
		}
	}
}

func (tr *testRepo) publish() *repository.Published {
	tr.t.Helper()
	p, err := tr.repo.Publish(context.Background(), repository.PublishOptions{Snapshot: tr.snap, Timestamp: tr.ts})
	if err != nil {
		tr.t.Fatal(err)
	}
	return p
}

func (tr *testRepo) addOwner(name string) {
	tr.t.Helper()
	k := genKey(tr.t, keys.Ed25519)
	tr.owners[name] = k
	b, err := k.MarshalPEM(false)
	if err != nil {
		tr.t.Fatal(err)
	}
	if err := tr.repo.AddTarget(trust.TargetOwnersDir+name+".pub", b, nil); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *testRepo) addLayout(signers ...string) {
	tr.t.Helper()
	if err := tr.repo.AddTarget(trust.TargetLayout, signedLayout(tr.t, tr.ownerKeys(signers...)...), nil); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *testRepo) ownerKeys(names ...string) []*keys.Key {
	var out []*keys.Key
	for _, n := range names {
		out = append(out, tr.owners[n])
	}
	return out
}

// signedLayout is a layout with no steps, signed by every key.
func signedLayout(t *testing.T, ks ...*keys.Key) []byte {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"_type": "layout", "expires": "2099-01-01T00:00:00Z", "readme": "",
		"keys": map[string]any{}, "steps": []any{}, "inspect": []any{},
	})
	env, err := envelope.New(envelope.Metablock, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if err := env.Sign(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	b, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pinned is root.json version 1 as a consumer pins it.
func (tr *testRepo) pinned() []byte {
	tr.t.Helper()
	b, err := os.ReadFile(filepath.Join(tr.repo.Dir, repository.PublicDir, "1.root.json"))
	if err != nil {
		tr.t.Fatal(err)
	}
	return b
}

func (tr *testRepo) source(cache string) trust.TUF {
	return trust.TUF{TrustedRoot: tr.pinned(), MetadataURL: tr.srv.URL, CacheDir: cache}
}

func (tr *testRepo) file(name string) string {
	return filepath.Join(tr.repo.Dir, repository.PublicDir, filepath.FromSlash(name))
}

func verifyWith(t *testing.T, src trust.Source, layout []byte) (bool, error) {
	t.Helper()
	opts := toto.ChainOptions{Trust: src, Links: t.TempDir(), Workdir: t.TempDir()}
	if layout != nil {
		p := filepath.Join(t.TempDir(), "root.layout")
		if err := os.WriteFile(p, layout, 0o644); err != nil {
			t.Fatal(err)
		}
		opts.Layout = p
	}
	res, err := toto.VerifyChain(context.Background(), opts)
	if err != nil {
		return false, err
	}
	return res.Passed(), nil
}

// The layout and its owners come from verified targets, and the chain
// verifies with them.
func TestTUFRootFromRepository(t *testing.T) {
	tr := newTestRepo(t)
	src := tr.source(t.TempDir())
	root, info, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(root.LayoutOwners) != 2 || root.LayoutTarget != trust.TargetLayout || root.Layout == nil {
		t.Fatalf("root: %d owners, layout %q", len(root.LayoutOwners), root.LayoutTarget)
	}
	for i, name := range []string{"alice", "bob"} {
		if !root.LayoutOwners[i].SamePublic(tr.owners[name]) {
			t.Errorf("owner %d is not %s", i, name)
		}
	}
	if info.RootVersion != 1 || info.TargetsVersion != 1 || info.Expires[metadata.TIMESTAMP].IsZero() {
		t.Errorf("info %+v", info)
	}
	ok, err := verifyWith(t, src, nil)
	if err != nil || !ok {
		t.Fatalf("verify: %v %v", ok, err)
	}
}

// Root v2 rotates a root key; targets v2 revokes owner alice and adds
// carol. A client that trusted v1 follows, and a layout alice signed no
// longer verifies.
func TestTUFKeyRotation(t *testing.T) {
	tr := newTestRepo(t)
	cache := t.TempDir()
	src := tr.source(cache)
	if ok, err := verifyWith(t, src, nil); err != nil || !ok {
		t.Fatalf("before rotation: %v %v", ok, err)
	}
	aliceBob := signedLayout(t, tr.ownerKeys("alice", "bob")...)

	newRoot := genKey(t, keys.ECDSA)
	if err := tr.repo.Rotate(repository.RotateOptions{Role: "root", Revoke: []*keys.Key{tr.root[2]}, Add: []*keys.Key{newRoot}}); err != nil {
		t.Fatal(err)
	}
	// Two of the old keys and two of the new set.
	tr.sign("root", tr.root[0], tr.root[1], newRoot)
	if err := tr.repo.RemoveTarget(trust.TargetOwnersDir + "alice.pub"); err != nil {
		t.Fatal(err)
	}
	tr.addOwner("carol")
	tr.addLayout("bob", "carol")
	tr.sign("targets", tr.targets...)
	if p := tr.publish(); p.Root != 2 || p.Targets != 2 {
		t.Fatalf("published %+v", p)
	}

	root, info, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.RootVersion != 2 || len(root.LayoutOwners) != 2 || !root.LayoutOwners[0].SamePublic(tr.owners["bob"]) || !root.LayoutOwners[1].SamePublic(tr.owners["carol"]) {
		t.Fatalf("after rotation: root v%d, %d owners", info.RootVersion, len(root.LayoutOwners))
	}
	if ok, err := verifyWith(t, src, nil); err != nil || !ok {
		t.Fatalf("layout by bob and carol: %v %v", ok, err)
	}
	if ok, err := verifyWith(t, src, aliceBob); err != nil || ok {
		t.Fatalf("layout by revoked alice and bob passed (%v, %v)", ok, err)
	}
	// The cache now starts from root v2: offline use sees the new keys.
	off := src
	off.Offline, off.MetadataURL = true, ""
	if r, info, err := off.Fetch(context.Background()); err != nil || info.RootVersion != 2 || len(r.LayoutOwners) != 2 {
		t.Fatalf("offline after rotation: %v", err)
	}
}

// A new root needs a threshold of the old root keys and of its own.
func TestTUFRootThreshold(t *testing.T) {
	tests := []struct {
		name    string
		signers func(tr *testRepo, newKey *keys.Key) []*keys.Key
		ok      bool
	}{
		{"two old, two new", func(tr *testRepo, k *keys.Key) []*keys.Key { return []*keys.Key{tr.root[0], tr.root[1], k} }, true},
		{"one old only", func(tr *testRepo, k *keys.Key) []*keys.Key { return []*keys.Key{tr.root[0]} }, false},
		{"new key and revoked key", func(tr *testRepo, k *keys.Key) []*keys.Key { return []*keys.Key{tr.root[2], k} }, false},
		{"old threshold, new key alone", func(tr *testRepo, k *keys.Key) []*keys.Key { return []*keys.Key{tr.root[1], tr.root[2], k} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRepo(t)
			k := genKey(t, keys.Ed25519)
			if err := tr.repo.Rotate(repository.RotateOptions{Role: "root", Revoke: []*keys.Key{tr.root[2]}, Add: []*keys.Key{k}}); err != nil {
				t.Fatal(err)
			}
			tr.sign("root", tc.signers(tr, k)...)
			_, err := tr.repo.Publish(context.Background(), repository.PublishOptions{Snapshot: tr.snap, Timestamp: tr.ts})
			if tc.ok != (err == nil) {
				t.Fatalf("publish: %v", err)
			}
			if err != nil && !errors.Is(err, repository.ErrThreshold) {
				t.Fatalf("want ErrThreshold, got %v", err)
			}
		})
	}

	// A client refuses a root v2 that a server (not publish) offers with
	// one signature.
	tr := newTestRepo(t)
	k := genKey(t, keys.Ed25519)
	if err := tr.repo.Rotate(repository.RotateOptions{Role: "root", Add: []*keys.Key{k}}); err != nil {
		t.Fatal(err)
	}
	tr.sign("root", tr.root[0])
	b, _ := os.ReadFile(filepath.Join(tr.repo.Dir, repository.StagedDir, "root.json"))
	if err := os.WriteFile(tr.file("2.root.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := tr.source(t.TempDir()).Root(context.Background())
	if !errors.Is(err, trust.ErrUnsigned) {
		t.Fatalf("root v2 with one of two signatures: want ErrUnsigned, got %v", err)
	}
}

// Attacks on the served files, after a client has seen version 2 of
// everything.
func TestTUFAttacks(t *testing.T) {
	tests := []struct {
		name   string
		attack func(t *testing.T, tr *testRepo, src *trust.TUF)
		want   error
	}{
		{"rollback: older timestamp served", func(t *testing.T, tr *testRepo, _ *trust.TUF) {
			copyFile(t, tr.file("v1.timestamp.json"), tr.file("timestamp.json"))
		}, trust.ErrRollback},
		{"rollback: older snapshot served as the current one", func(t *testing.T, tr *testRepo, _ *trust.TUF) {
			copyFile(t, tr.file("1.snapshot.json"), tr.file("3.snapshot.json"))
		}, trust.ErrRollback},
		{"mix-and-match: targets v1 served as v3", func(t *testing.T, tr *testRepo, _ *trust.TUF) {
			copyFile(t, tr.file("1.targets.json"), tr.file("3.targets.json"))
		}, trust.ErrRollback},
		{"freeze: timestamp expired", func(t *testing.T, tr *testRepo, src *trust.TUF) {
			src.Now = time.Now().Add(repository.DefaultExpiries.Timestamp + time.Hour)
		}, trust.ErrExpired},
		{"target content differs from its hash", func(t *testing.T, tr *testRepo, _ *trust.TUF) {
			matches, _ := filepath.Glob(tr.file("targets/toto/*.root.layout"))
			for _, m := range matches {
				if err := os.WriteFile(m, signedLayout(t, tr.owners["alice"], tr.owners["bob"]), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, trust.ErrTargetMismatch},
		{"timestamp signed by a snapshot key", func(t *testing.T, tr *testRepo, _ *trust.TUF) {
			m, err := (&metadata.Metadata[metadata.TimestampType]{}).FromFile(tr.file("timestamp.json"))
			if err != nil {
				t.Fatal(err)
			}
			m.Signed.Version++
			m.ClearSignatures()
			if _, err := m.Sign(repository.NewSigner(context.Background(), tr.snap)); err != nil {
				t.Fatal(err)
			}
			if err := m.ToFile(tr.file("timestamp.json"), true); err != nil {
				t.Fatal(err)
			}
		}, trust.ErrUnsigned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRepo(t)
			copyFile(t, tr.file("timestamp.json"), tr.file("v1.timestamp.json"))
			// Version 2 of targets, snapshot and timestamp.
			tr.addLayout("alice", "bob")
			tr.sign("targets", tr.targets...)
			tr.publish()
			src := tr.source(t.TempDir())
			if _, err := src.Root(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Version 3, which the attack then tampers with.
			tr.addLayout("bob", "alice")
			tr.sign("targets", tr.targets...)
			tr.publish()
			tc.attack(t, tr, &src)
			_, err := src.Root(context.Background())
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			t.Log(err)
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Offline use reads the cache until it expires; without a cache, or
// with the server down and no offline use, the errors say so.
func TestTUFOffline(t *testing.T) {
	tr := newTestRepo(t)
	cache := t.TempDir()
	src := tr.source(cache)
	off := src
	off.Offline = true
	if _, err := off.Root(context.Background()); !errors.Is(err, trust.ErrNoCache) {
		t.Fatalf("offline before any fetch: want ErrNoCache, got %v", err)
	}
	if _, err := src.Root(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr.srv.Close()
	if _, err := src.Root(context.Background()); !errors.Is(err, trust.ErrUnreachable) {
		t.Fatalf("server down: want ErrUnreachable, got %v", err)
	}
	r, err := off.Root(context.Background())
	if err != nil || len(r.LayoutOwners) != 2 || r.Layout == nil {
		t.Fatalf("offline: %v", err)
	}
	if ok, err := verifyWith(t, off, nil); err != nil || !ok {
		t.Fatalf("offline verify: %v %v", ok, err)
	}
	off.Now = time.Now().Add(repository.DefaultExpiries.Timestamp + time.Hour)
	if _, err := off.Root(context.Background()); !errors.Is(err, trust.ErrExpired) {
		t.Fatalf("offline after expiry: want ErrExpired, got %v", err)
	}
}

// The layout target can list its owners; other targets are trust
// material by their prefixes.
func TestTUFConventions(t *testing.T) {
	tr := newTestRepo(t)
	tr.addOwner("carol")
	custom := json.RawMessage(`{"toto":{"owners":["toto/owners/carol.pub"]}}`)
	if err := tr.repo.AddTarget("toto/layouts/app.layout", signedLayout(t, tr.owners["carol"]), custom); err != nil {
		t.Fatal(err)
	}
	k := genKey(t, keys.ECDSA)
	kb, _ := k.MarshalPEM(false)
	if err := tr.repo.AddTarget(trust.TargetKeysDir+"ci.pub", kb, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.repo.AddTarget(trust.TargetSigstoreTrustedRoot, []byte(`{"mediaType":"x"}`), nil); err != nil {
		t.Fatal(err)
	}
	tr.sign("targets", tr.targets...)
	tr.publish()

	src := tr.source(t.TempDir())
	src.LayoutTarget = "toto/layouts/app.layout"
	r, err := src.Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.LayoutOwners) != 1 || !r.LayoutOwners[0].SamePublic(tr.owners["carol"]) {
		t.Fatalf("owners of app.layout: %d", len(r.LayoutOwners))
	}
	if len(r.Keys) != 1 || !r.Keys[0].SamePublic(k) || string(r.SigstoreTrustedRoot) != `{"mediaType":"x"}` {
		t.Fatalf("keys %d, trusted root %q", len(r.Keys), r.SigstoreTrustedRoot)
	}
	if ok, err := verifyWith(t, src, nil); err != nil || !ok {
		t.Fatalf("verify app.layout: %v %v", ok, err)
	}
	src.LayoutTarget = "toto/layouts/missing.layout"
	if _, err := src.Root(context.Background()); !errors.Is(err, trust.ErrNoTarget) {
		t.Fatalf("missing layout target: want ErrNoTarget, got %v", err)
	}
	b, err := tr.source(t.TempDir()).Target(context.Background(), trust.TargetKeysDir+"ci.pub")
	if err != nil || string(b) != string(kb) {
		t.Fatalf("Target: %v", err)
	}
}

func FuzzParseLayoutCustom(f *testing.F) {
	for _, s := range []string{
		`{"toto":{"owners":["toto/owners/a.pub"]}}`,
		`{"toto":{"owners":[]}}`,
		`{"toto":{"owners":["x"]}}`,
		`{"toto":{"owners":["toto/owners/a.pub","toto/owners/a.pub"]}}`,
		`{"toto":{"owners":["toto/owners/a.pub"],"more":1}}`,
		`{"other":1}`, `null`, `[]`, `{"toto":null}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := json.RawMessage(b)
		c, err := trust.ParseLayoutCustom(&raw)
		if err != nil {
			if !errors.Is(err, trust.ErrBadTarget) {
				t.Fatalf("error not ErrBadTarget: %v", err)
			}
			return
		}
		if c == nil {
			return
		}
		if len(c.Owners) == 0 {
			t.Fatal("parsed with no owners")
		}
		for _, o := range c.Owners {
			if !strings.HasPrefix(o, trust.TargetOwnersDir) {
				t.Fatalf("owner %q outside %s", o, trust.TargetOwnersDir)
			}
		}
	})
}

// The online keys rotate through a new root; the next publish signs with
// the new ones, the old ones are refused, and a client follows.
func TestTUFOnlineKeyRotation(t *testing.T) {
	tr := newTestRepo(t)
	src := tr.source(t.TempDir())
	if _, err := src.Root(context.Background()); err != nil {
		t.Fatal(err)
	}
	newSnap, newTS := genKey(t, keys.ECDSA), genKey(t, keys.Ed25519)
	for _, rot := range []repository.RotateOptions{
		{Role: "snapshot", Revoke: []*keys.Key{tr.snap}, Add: []*keys.Key{newSnap}},
		{Role: "timestamp", Revoke: []*keys.Key{tr.ts}, Add: []*keys.Key{newTS}},
	} {
		if err := tr.repo.Rotate(rot); err != nil {
			t.Fatal(err)
		}
	}
	tr.sign("root", tr.root[1], tr.root[2])
	if _, err := tr.repo.Publish(context.Background(), repository.PublishOptions{Snapshot: tr.snap, Timestamp: tr.ts}); !errors.Is(err, repository.ErrNotAuthorized) {
		t.Fatalf("publish with the revoked online keys: want ErrNotAuthorized, got %v", err)
	}
	tr.snap, tr.ts = newSnap, newTS
	if p := tr.publish(); p.Root != 2 || p.Snapshot != 2 || p.Timestamp != 2 {
		t.Fatalf("published %+v", p)
	}
	_, info, err := src.Fetch(context.Background())
	if err != nil || info.RootVersion != 2 {
		t.Fatalf("after online key rotation: %v", err)
	}
}

// A consumer hears before trusted metadata lapses: the timestamp a day
// ahead, the other roles earlier, nothing when all is far off.
func TestExpiryWarnings(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	info := &trust.RootInfo{Expires: map[string]time.Time{
		"timestamp": now.Add(2 * time.Hour),
		"snapshot":  now.Add(30 * 24 * time.Hour),
		"targets":   now.Add(10 * 24 * time.Hour),
		"root":      now.Add(365 * 24 * time.Hour),
	}}
	got := info.ExpiryWarnings(now)
	if len(got) != 2 || !strings.Contains(got[0], "TUF timestamp metadata expires 2026-01-01T02:00:00Z (in 2h0m0s)") || !strings.Contains(got[1], "TUF targets metadata expires") {
		t.Errorf("warnings: %q", got)
	}
	if w := (&trust.RootInfo{Expires: map[string]time.Time{"timestamp": now.Add(48 * time.Hour)}}).ExpiryWarnings(now); len(w) != 0 {
		t.Errorf("far off: %q", w)
	}
	if w := (*trust.RootInfo)(nil).ExpiryWarnings(now); w != nil {
		t.Errorf("files, no TUF: %q", w)
	}
}

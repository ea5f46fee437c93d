package trust_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation/notationtest"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/trust/repository"
)

func pubPEM(t *testing.T, k *keys.Key) []byte {
	t.Helper()
	b, err := k.Public().MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hasKey says whether root trusts k to sign directly.
func hasKey(root *trust.Root, k *keys.Key) bool {
	for _, x := range root.Keys {
		if x.SamePublic(k) {
			return true
		}
	}
	return false
}

// forge publishes, by hand and past the publisher's checks, a new
// version of the delegated role with target name → content added, signed
// by signer, with a snapshot and timestamp signed by the online keys: a
// delegate (or a revoked one) who can get metadata onto the server.
func (tr *testRepo) forge(role string, signer *keys.Key, name string, content []byte) {
	tr.t.Helper()
	ctx := context.Background()
	read := func(p string) []byte {
		b, err := os.ReadFile(tr.file(p))
		if err != nil {
			tr.t.Fatal(err)
		}
		return b
	}
	write := func(p string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(tr.file(p)), 0o755); err != nil {
			tr.t.Fatal(err)
		}
		if err := os.WriteFile(tr.file(p), b, 0o644); err != nil {
			tr.t.Fatal(err)
		}
	}
	m, err := (&metadata.Metadata[metadata.TargetsType]{}).FromBytes(read(role + ".json"))
	if err != nil {
		tr.t.Fatal(err)
	}
	tf, err := metadata.TargetFile().FromBytes(name, content, "sha256")
	if err != nil {
		tr.t.Fatal(err)
	}
	m.Signed.Targets[name] = tf
	m.Signed.Version++
	m.ClearSignatures()
	if _, err := m.Sign(repository.NewSigner(ctx, signer)); err != nil {
		tr.t.Fatal(err)
	}
	b, _ := m.ToBytes(true)
	write(fmt.Sprintf("%d.%s.json", m.Signed.Version, role), b)
	sum := sha256.Sum256(content)
	dir, base := filepath.Split(name)
	write("targets/"+dir+hex.EncodeToString(sum[:])+"."+base, content)

	snap, err := (&metadata.Metadata[metadata.SnapshotType]{}).FromBytes(read("snapshot.json"))
	if err != nil {
		tr.t.Fatal(err)
	}
	snap.Signed.Meta[role+".json"] = metadata.MetaFile(m.Signed.Version)
	snap.Signed.Version++
	snap.ClearSignatures()
	if _, err := snap.Sign(repository.NewSigner(ctx, tr.snap)); err != nil {
		tr.t.Fatal(err)
	}
	sb, _ := snap.ToBytes(true)
	write(fmt.Sprintf("%d.snapshot.json", snap.Signed.Version), sb)
	write("snapshot.json", sb)
	ts, err := (&metadata.Metadata[metadata.TimestampType]{}).FromBytes(read("timestamp.json"))
	if err != nil {
		tr.t.Fatal(err)
	}
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(snap.Signed.Version)
	ts.Signed.Version++
	ts.ClearSignatures()
	if _, err := ts.Sign(repository.NewSigner(ctx, tr.ts)); err != nil {
		tr.t.Fatal(err)
	}
	tb, _ := ts.ToBytes(true)
	write("timestamp.json", tb)
}

// TestTUFDelegation: targets delegates toto/keys/* to the role team-keys
// with its own key; the consumer (go-tuf's delegation search) trusts the
// keys the role signs, not a target the role lists outside its paths,
// and after the role's key is revoked, nothing the revoked key signs.
func TestTUFDelegation(t *testing.T) {
	ctx := context.Background()
	tr := newTestRepo(t)
	d1, d2 := genKey(t, keys.Ed25519), genKey(t, keys.ECDSA)
	app, mallory, evil := genKey(t, keys.Ed25519), genKey(t, keys.Ed25519), genKey(t, keys.Ed25519)
	r := tr.repo
	if err := r.Delegate(repository.DelegateOptions{Role: "team-keys", Paths: []string{"toto/keys/*"}, Keys: []*keys.Key{d1.Public()}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddTargetTo("team-keys", "toto/keys/app.pub", pubPEM(t, app), nil); err != nil {
		t.Fatal(err)
	}
	if err := r.AddTargetTo("team-keys", trust.TargetOwnersDir+"mallory.pub", pubPEM(t, mallory), nil); !errors.Is(err, repository.ErrOutsidePaths) {
		t.Fatalf("outside its paths: %v", err)
	}
	if err := r.Sign(ctx, "team-keys", d2); !errors.Is(err, repository.ErrNotAuthorized) {
		t.Fatalf("signed by a key the delegation does not list: %v", err)
	}
	tr.sign("targets", tr.targets...)
	if _, err := r.Publish(ctx, repository.PublishOptions{Snapshot: tr.snap, Timestamp: tr.ts}); !errors.Is(err, repository.ErrThreshold) {
		t.Fatalf("publish with the role unsigned: %v", err)
	}
	tr.sign("team-keys", d1)
	tr.publish()

	cache := t.TempDir()
	root, err := tr.source(cache).Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp := root.TUF.Expires["team-keys"]
	if exp.IsZero() {
		t.Fatalf("the delegated role's expiry is not reported: %v", root.TUF.Expires)
	}
	if w := strings.Join(root.TUF.ExpiryWarnings(exp.Add(-time.Hour)), "\n"); !strings.Contains(w, "TUF team-keys metadata expires") {
		t.Fatalf("warnings an hour before the delegated role lapses: %s", w)
	}
	if w := strings.Join(root.TUF.ExpiryWarnings(time.Now()), "\n"); strings.Contains(w, "team-keys") {
		t.Fatalf("warnings now: %s", w)
	}
	if !hasKey(root, app) || len(root.LayoutOwners) != 2 {
		t.Fatalf("delegated key not trusted: %d keys, %d owners", len(root.Keys), len(root.LayoutOwners))
	}
	// Offline, from the cache: the delegated role was cached too.
	off := tr.source(cache)
	off.Offline = true
	if root, err := off.Root(ctx); err != nil || !hasKey(root, app) {
		t.Fatalf("offline: %v", err)
	}

	// The role signs an owner key, outside its paths: it is not trusted
	// as an owner (nor found by name).
	tr.forge("team-keys", d1, trust.TargetOwnersDir+"mallory.pub", pubPEM(t, mallory))
	root, err = tr.source(cache).Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range root.LayoutOwners {
		if o.SamePublic(mallory) {
			t.Fatal("an owner key signed outside the delegation's paths is trusted")
		}
	}
	if len(root.LayoutOwners) != 2 || !hasKey(root, app) {
		t.Fatalf("after the forged version: %d owners, app trusted %v", len(root.LayoutOwners), hasKey(root, app))
	}
	if _, err := tr.source(cache).Target(ctx, trust.TargetOwnersDir+"mallory.pub"); !errors.Is(err, trust.ErrNoTarget) {
		t.Fatalf("mallory.pub by name: %v", err)
	}

	// Revoke d1: the role now needs d2, and the publisher refuses the
	// role until d2 signs a new version.
	if err := r.Delegate(repository.DelegateOptions{Role: "team-keys", Paths: []string{"toto/keys/*"}, Keys: []*keys.Key{d2.Public()}}); err != nil {
		t.Fatal(err)
	}
	tr.sign("targets", tr.targets...)
	if err := r.Sign(ctx, "team-keys", d1); !errors.Is(err, repository.ErrNotAuthorized) {
		t.Fatalf("revoked key signs: %v", err)
	}
	if _, err := r.Publish(ctx, repository.PublishOptions{Snapshot: tr.snap, Timestamp: tr.ts}); !errors.Is(err, repository.ErrThreshold) {
		t.Fatalf("publish with the role signed by the revoked key only: %v", err)
	}
	tr.sign("team-keys", d2)
	tr.publish()
	if root, err := tr.source(cache).Root(ctx); err != nil || !hasKey(root, app) {
		t.Fatalf("after rotating the delegation key: %v", err)
	}
	// The revoked key signs a new version of the role adding a key: the
	// consumer refuses the role's metadata.
	tr.forge("team-keys", d1, "toto/keys/evil.pub", pubPEM(t, evil))
	if _, err := tr.source(cache).Root(ctx); !errors.Is(err, trust.ErrUnsigned) {
		t.Fatalf("role signed by the revoked key: %v", err)
	}
	if _, err := tr.source(t.TempDir()).Root(ctx); !errors.Is(err, trust.ErrUnsigned) {
		t.Fatalf("role signed by the revoked key, fresh cache: %v", err)
	}

	// Removing the delegation: its targets are no longer trusted.
	tr2 := newTestRepo(t)
	if err := tr2.repo.Delegate(repository.DelegateOptions{Role: "team-keys", Paths: []string{"toto/keys/*"}, Keys: []*keys.Key{d1.Public()}}); err != nil {
		t.Fatal(err)
	}
	if err := tr2.repo.AddTargetTo("team-keys", "toto/keys/app.pub", pubPEM(t, app), nil); err != nil {
		t.Fatal(err)
	}
	tr2.sign("targets", tr2.targets...)
	tr2.sign("team-keys", d1)
	tr2.publish()
	cache2 := t.TempDir()
	if root, err := tr2.source(cache2).Root(ctx); err != nil || !hasKey(root, app) {
		t.Fatalf("second repository: %v", err)
	}
	if err := tr2.repo.Undelegate("team-keys"); err != nil {
		t.Fatal(err)
	}
	tr2.sign("targets", tr2.targets...)
	tr2.publish()
	if root, err := tr2.source(cache2).Root(ctx); err != nil || hasKey(root, app) {
		t.Fatalf("after removing the delegation: %v, app trusted %v", err, err == nil && hasKey(root, app))
	}
	// Delegated again: the role's versions continue past the published
	// one, which clients would otherwise refuse as a rollback.
	if err := tr2.repo.Delegate(repository.DelegateOptions{Role: "team-keys", Paths: []string{"toto/keys/*"}, Keys: []*keys.Key{d2.Public()}}); err != nil {
		t.Fatal(err)
	}
	if err := tr2.repo.AddTargetTo("team-keys", "toto/keys/app.pub", pubPEM(t, app), nil); err != nil {
		t.Fatal(err)
	}
	tr2.sign("targets", tr2.targets...)
	tr2.sign("team-keys", d2)
	tr2.publish()
	if root, err := tr2.source(cache2).Root(ctx); err != nil || !hasKey(root, app) {
		t.Fatalf("delegated again: %v", err)
	}
}

// A notation set staged into a delegated role (whose paths cover the
// trust policy and the trust store's files) reaches the consumer; a set
// the role's paths do not cover is refused before anything is staged.
func TestTUFDelegatedNotationSet(t *testing.T) {
	ctx := context.Background()
	tr := newTestRepo(t)
	team := genKey(t, keys.Ed25519)
	n := notationtest.New(t, notationtest.Options{})
	err := tr.repo.Delegate(repository.DelegateOptions{Role: "pki", Keys: []*keys.Key{team.Public()},
		Paths: []string{"toto/notation/prod/trustpolicy.json", "toto/notation/prod/truststore/x509/*/*/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.repo.AddNotationDirTo("pki", "staging", n.Dir); !errors.Is(err, repository.ErrOutsidePaths) {
		t.Fatalf("a set outside the role's paths: %v", err)
	}
	names, err := tr.repo.AddNotationDirTo("pki", "prod", n.Dir)
	if err != nil || len(names) != 2 {
		t.Fatalf("staged %v: %v", names, err)
	}
	tr.sign("targets", tr.targets...)
	tr.sign("pki", team)
	tr.publish()
	root, err := tr.source(t.TempDir()).Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := root.Notation["prod"]
	if c == nil || c.TrustPolicy == nil || len(c.Certificates) != 1 || c.Certificates["x509/ca/toto/ca.pem"] == nil {
		t.Fatalf("notation set from the delegated role: %+v", c)
	}
}

package repository_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust/repository"
)

type holders struct {
	root, targets []*keys.Key
	snap, ts      *keys.Key
}

func gen(t *testing.T, typ string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(typ, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// initRepo stages root v1 (two root keys, threshold 2; one targets key).
func initRepo(t *testing.T, now time.Time) (*repository.Repository, holders) {
	t.Helper()
	h := holders{
		root:    []*keys.Key{gen(t, keys.Ed25519), gen(t, keys.ECDSA)},
		targets: []*keys.Key{gen(t, keys.Ed25519)},
		snap:    gen(t, keys.Ed25519), ts: gen(t, keys.Ed25519),
	}
	r := &repository.Repository{Dir: t.TempDir(), Now: now}
	err := r.Init(repository.InitOptions{
		Root:     repository.RoleKeys{Keys: []*keys.Key{h.root[0].Public(), h.root[1].Public()}, Threshold: 2},
		Targets:  repository.RoleKeys{Keys: []*keys.Key{h.targets[0].Public()}},
		Snapshot: h.snap.Public(), Timestamp: h.ts.Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, h
}

func (h holders) publish(t *testing.T, r *repository.Repository) (*repository.Published, error) {
	t.Helper()
	return r.Publish(context.Background(), repository.PublishOptions{Snapshot: h.snap, Timestamp: h.ts})
}

func TestPublishConsistentSnapshot(t *testing.T) {
	ctx := context.Background()
	r, h := initRepo(t, time.Time{})
	for _, k := range h.root {
		if err := r.Sign(ctx, "root", k); err != nil {
			t.Fatal(err)
		}
	}
	content, err := gen(t, keys.Ed25519).MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddTarget("toto/owners/a.pub", content, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Sign(ctx, "targets", h.targets[0]); err != nil {
		t.Fatal(err)
	}
	p, err := h.publish(t, r)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	for _, f := range []string{"1.root.json", "root.json", "1.targets.json", "1.snapshot.json", "timestamp.json", "targets/toto/owners/" + hex.EncodeToString(sum[:]) + ".a.pub"} {
		if !slices.Contains(p.Written, f) {
			t.Errorf("%s not written: %v", f, p.Written)
		}
		if _, err := os.Stat(filepath.Join(r.Dir, repository.PublicDir, filepath.FromSlash(f))); err != nil {
			t.Error(err)
		}
	}
	// Nothing staged: only a new timestamp.
	p, err = h.publish(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Written, []string{"timestamp.json"}) || p.Timestamp != 2 || p.Snapshot != 1 {
		t.Fatalf("republish: %+v", p)
	}
}

func TestSignRefuses(t *testing.T) {
	r, h := initRepo(t, time.Time{})
	rsa := gen(t, keys.RSA)
	tests := []struct {
		name string
		role string
		key  *keys.Key
		want error
	}{
		{"targets key on root", "root", h.targets[0], repository.ErrNotAuthorized},
		{"root key on targets", "targets", h.root[0], repository.ErrNotAuthorized},
		{"public key", "root", h.root[0].Public(), repository.ErrKey},
		{"RSA key", "root", rsa, repository.ErrKey},
		{"snapshot by hand", "snapshot", h.snap, nil},
	}
	priv, _ := h.root[0].MarshalPEM(true)
	if err := r.AddTarget("toto/owners/a.pub", priv, nil); !errors.Is(err, repository.ErrContent) {
		t.Errorf("private key as an owner target: want ErrContent, got %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Sign(context.Background(), tc.role, tc.key)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// Publish writes nothing unless every threshold holds.
func TestPublishRefusesBelowThreshold(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		sign func(r *repository.Repository, h holders) error
	}{
		{"root by one of two", func(r *repository.Repository, h holders) error {
			if err := r.Sign(ctx, "root", h.root[0]); err != nil {
				return err
			}
			return r.Sign(ctx, "targets", h.targets[0])
		}},
		{"targets unsigned", func(r *repository.Repository, h holders) error {
			if err := r.Sign(ctx, "root", h.root[0]); err != nil {
				return err
			}
			return r.Sign(ctx, "root", h.root[1])
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, h := initRepo(t, time.Time{})
			if err := tc.sign(r, h); err != nil {
				t.Fatal(err)
			}
			if _, err := h.publish(t, r); !errors.Is(err, repository.ErrThreshold) {
				t.Fatalf("want ErrThreshold, got %v", err)
			}
			ents, _ := os.ReadDir(filepath.Join(r.Dir, repository.PublicDir))
			for _, e := range ents {
				if !e.IsDir() {
					t.Errorf("wrote %s", e.Name())
				}
			}
		})
	}
	// Online keys must be the root's.
	r, h := initRepo(t, time.Time{})
	for _, k := range h.root {
		_ = r.Sign(ctx, "root", k)
	}
	_ = r.Sign(ctx, "targets", h.targets[0])
	_, err := r.Publish(ctx, repository.PublishOptions{Snapshot: h.ts, Timestamp: h.ts})
	if !errors.Is(err, repository.ErrNotAuthorized) {
		t.Fatalf("timestamp key as snapshot key: want ErrNotAuthorized, got %v", err)
	}
}

func TestAddTargetRefuses(t *testing.T) {
	r, _ := initRepo(t, time.Time{})
	tests := []struct {
		name, target string
		custom       string
		want         error
	}{
		{"absolute", "/etc/passwd", "", repository.ErrTargetName},
		{"dot dot", "toto/../../x", "", repository.ErrTargetName},
		{"empty element", "toto//x", "", repository.ErrTargetName},
		{"trailing slash", "toto/", "", repository.ErrTargetName},
		{"backslash", `toto\x`, "", repository.ErrTargetName},
		{"empty", "", "", repository.ErrTargetName},
		{"custom not an object", "toto/x", `[1]`, nil},
		{"custom owners outside toto/owners", "toto/x", `{"toto":{"owners":["a.pub"]}}`, nil},
		{"owner key that is not a key", "toto/owners/a.pub", "", repository.ErrContent},
		{"layout that is not signed", "toto/root.layout", "", repository.ErrContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.AddTarget(tc.target, []byte("x"), json.RawMessage(tc.custom))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// Status warns before a role lapses, and about missing signatures.
func TestStatusWarns(t *testing.T) {
	ctx := context.Background()
	start := time.Now().UTC()
	r, h := initRepo(t, start)
	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(st, "root: staged version 1 has 0 of 2 signatures") || !hasWarning(st, "timestamp: never published") {
		t.Fatalf("fresh repository: %q", st.Warnings)
	}
	for _, k := range h.root {
		_ = r.Sign(ctx, "root", k)
	}
	_ = r.Sign(ctx, "targets", h.targets[0])
	if _, err := h.publish(t, r); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		after time.Duration
		want  []string
		not   []string
	}{
		{time.Hour, nil, []string{"expires", "EXPIRED"}},
		{6 * 24 * time.Hour, []string{"timestamp: version 1 expires in"}, []string{"snapshot"}},
		{8 * 24 * time.Hour, []string{"timestamp: version 1 EXPIRED"}, nil},
		{170 * 24 * time.Hour, []string{"targets: version 1 expires in", "snapshot: version 1 EXPIRED"}, []string{"root:"}},
		{340 * 24 * time.Hour, []string{"root: version 1 expires in"}, nil},
	}
	for _, tc := range tests {
		r.Now = start.Add(tc.after)
		st, err := r.Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !hasWarning(st, w) {
				t.Errorf("after %s: no %q in %q", tc.after, w, st.Warnings)
			}
		}
		for _, w := range tc.not {
			if hasWarning(st, w) {
				t.Errorf("after %s: unexpected %q in %q", tc.after, w, st.Warnings)
			}
		}
		if st.Expired() != hasWarning(st, "EXPIRED") {
			t.Errorf("after %s: Expired() = %v, warnings %q", tc.after, st.Expired(), st.Warnings)
		}
	}
}

func hasWarning(st *repository.Status, sub string) bool {
	for _, w := range st.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

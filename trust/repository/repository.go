// Package repository creates and maintains a TUF repository of toto's
// trust material as plain files (go-tuf's metadata API): the publisher's
// side of trust.TUF.
//
// A repository folder holds two trees:
//
//	staged/   root.json and targets.json being prepared and signed, and
//	          staged/targets/NAME, the content of every target
//	public/   what is served: N.root.json, root.json, N.targets.json,
//	          N.snapshot.json, timestamp.json, targets/DIR/HASH.BASE
//
// Root and targets are signed offline by several holders, each with
// Sign on their own machine (the staged file travels, like a layout
// does); snapshot and timestamp are online keys that Publish signs with.
// Consistent snapshots are always on. Nothing here prints or prompts.
package repository

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust"
)

// Folder names inside a repository folder.
const (
	StagedDir = "staged"
	PublicDir = "public"
)

// Errors callers branch on.
var (
	// ErrNotRepository: the folder holds no staged root.json.
	ErrNotRepository = errors.New("not a toto TUF repository")
	// ErrNotAuthorized: a key that the role does not list.
	ErrNotAuthorized = errors.New("key is not one of the role's keys")
	// ErrThreshold: publishing metadata without a threshold of
	// signatures.
	ErrThreshold = errors.New("not signed by a threshold of the role's keys")
	// ErrKey: a key TUF metadata cannot carry (ed25519 and ECDSA P-256
	// are supported) or a public key where a private one is needed.
	ErrKey = errors.New("unsupported TUF key")
	// ErrTargetName: a target name that is not a clean relative path.
	ErrTargetName = errors.New("bad target name")
)

// Expiries are how long each role's metadata lasts when (re)signed.
type Expiries struct {
	Root, Targets, Snapshot, Timestamp time.Duration
}

// DefaultExpiries: root a year, targets six months, snapshot a month,
// timestamp a week (so publish must run at least weekly).
var DefaultExpiries = Expiries{
	Root:      365 * 24 * time.Hour,
	Targets:   180 * 24 * time.Hour,
	Snapshot:  30 * 24 * time.Hour,
	Timestamp: 7 * 24 * time.Hour,
}

// WarnBefore is how long before its expiry Status warns about a role:
// a fifth of its default lifetime.
var WarnBefore = map[string]time.Duration{
	metadata.ROOT:      DefaultExpiries.Root / 5,
	metadata.TARGETS:   DefaultExpiries.Targets / 5,
	metadata.SNAPSHOT:  DefaultExpiries.Snapshot / 5,
	metadata.TIMESTAMP: DefaultExpiries.Timestamp / 5,
}

func (e Expiries) of(role string) time.Duration {
	d := map[string]time.Duration{metadata.ROOT: e.Root, metadata.TARGETS: e.Targets, metadata.SNAPSHOT: e.Snapshot, metadata.TIMESTAMP: e.Timestamp}[role]
	if d <= 0 {
		d = DefaultExpiries.of(role)
	}
	return d
}

// Repository is a repository folder.
type Repository struct {
	Dir string
	// Expiries are used when metadata is (re)created; zero fields take
	// DefaultExpiries.
	Expiries Expiries
	// Now is the time used for expiries; zero means now.
	Now time.Time
}

func (r *Repository) now() time.Time {
	if !r.Now.IsZero() {
		return r.Now.UTC()
	}
	return time.Now().UTC()
}

func (r *Repository) expires(role string) time.Time {
	return r.now().Add(r.Expiries.of(role)).Truncate(time.Second)
}

// RoleKeys are a role's keys and threshold.
type RoleKeys struct {
	Keys      []*keys.Key
	Threshold int
}

// InitOptions set up a repository's first root.
type InitOptions struct {
	// Root and Targets are offline roles held by several people; their
	// thresholds default to 1.
	Root, Targets RoleKeys
	// Snapshot and Timestamp are online keys (one each, threshold 1).
	Snapshot, Timestamp *keys.Key
}

// Init stages root.json version 1 and an empty targets.json version 1,
// unsigned. It refuses a folder that already has a staged root.
func (r *Repository) Init(opts InitOptions) error {
	if _, err := os.Stat(r.staged("root.json")); err == nil {
		return fmt.Errorf("%s: already a repository", r.Dir)
	}
	root := metadata.Root(r.expires(metadata.ROOT))
	set := func(role string, rk RoleKeys) error {
		if len(rk.Keys) == 0 {
			return fmt.Errorf("role %s: no keys", role)
		}
		for _, k := range rk.Keys {
			tk, err := tufKey(k)
			if err != nil {
				return fmt.Errorf("role %s: %w", role, err)
			}
			if err := root.Signed.AddKey(tk, role); err != nil {
				return fmt.Errorf("role %s: %w", role, err)
			}
		}
		th := rk.Threshold
		if th == 0 {
			th = 1
		}
		if th < 1 || th > len(root.Signed.Roles[role].KeyIDs) {
			return fmt.Errorf("role %s: threshold %d with %d distinct keys", role, th, len(root.Signed.Roles[role].KeyIDs))
		}
		root.Signed.Roles[role].Threshold = th
		return nil
	}
	if opts.Snapshot == nil || opts.Timestamp == nil {
		return errors.New("snapshot and timestamp keys are required")
	}
	for _, x := range []struct {
		role string
		rk   RoleKeys
	}{
		{metadata.ROOT, opts.Root},
		{metadata.TARGETS, opts.Targets},
		{metadata.SNAPSHOT, RoleKeys{Keys: []*keys.Key{opts.Snapshot}}},
		{metadata.TIMESTAMP, RoleKeys{Keys: []*keys.Key{opts.Timestamp}}},
	} {
		if err := set(x.role, x.rk); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(r.staged("targets"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(r.public("targets"), 0o755); err != nil {
		return err
	}
	if err := write(r.staged("root.json"), root); err != nil {
		return err
	}
	return write(r.staged("targets.json"), metadata.Targets(r.expires(metadata.TARGETS)))
}

// AddTarget stages a target: its content under staged/targets/NAME and
// its length, sha256 and custom (a JSON object, or nil) in a new
// unsigned targets.json version.
func (r *Repository) AddTarget(name string, data []byte, custom json.RawMessage) error {
	return r.AddTargetTo(metadata.TARGETS, name, data, custom)
}

// AddTargetTo is AddTarget into role: "targets", or a delegated targets
// role (Delegate), whose paths must cover name.
func (r *Repository) AddTargetTo(role, name string, data []byte, custom json.RawMessage) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := r.checkDelegatedPath(role, name); err != nil {
		return err
	}
	t, err := r.openTargetsRole(role)
	if err != nil {
		return err
	}
	if err := checkContent(name, data); err != nil {
		return err
	}
	tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
	if err != nil {
		return fmt.Errorf("target %s: %w", name, err)
	}
	if len(custom) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(custom, &obj); err != nil {
			return fmt.Errorf("target %s custom: not a JSON object: %w", name, err)
		}
		c := json.RawMessage(slices.Clone(custom))
		if _, err := trust.ParseLayoutCustom(&c); err != nil {
			return fmt.Errorf("target %s: %w", name, err)
		}
		tf.Custom = &c
	}
	p := r.staged("targets", filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(p, data, 0o644); err != nil {
		return err
	}
	t.Signed.Targets[name] = tf
	return write(r.staged(role+".json"), t)
}

// RemoveTarget stages a targets.json version without name.
func (r *Repository) RemoveTarget(name string) error {
	return r.RemoveTargetFrom(metadata.TARGETS, name)
}

// RemoveTargetFrom is RemoveTarget for role ("targets" or a delegated
// role).
func (r *Repository) RemoveTargetFrom(role, name string) error {
	t, err := r.openTargetsRole(role)
	if err != nil {
		return err
	}
	if _, ok := t.Signed.Targets[name]; !ok {
		return fmt.Errorf("target %s: not in %s.json", name, role)
	}
	delete(t.Signed.Targets, name)
	if !r.targetElsewhere(role, name) {
		_ = os.Remove(r.staged("targets", filepath.FromSlash(name)))
	}
	return write(r.staged(role+".json"), t)
}

// openTargets returns the staged targets ready for a change: a new
// version (one past the published one), unsigned, with a fresh expiry.
func (r *Repository) openTargets() (*metadata.Metadata[metadata.TargetsType], error) {
	return r.openTargetsRole(metadata.TARGETS)
}

// openTargetsRole is openTargets for "targets" or a delegated role.
func (r *Repository) openTargetsRole(role string) (*metadata.Metadata[metadata.TargetsType], error) {
	if role != metadata.TARGETS {
		if err := r.checkDelegated(role); err != nil {
			return nil, err
		}
	}
	t, err := readTargets(r.staged(role + ".json"))
	if err != nil {
		return nil, err
	}
	if pub, err := readTargets(r.public(role + ".json")); err == nil && t.Signed.Version <= pub.Signed.Version {
		t.Signed.Version = pub.Signed.Version + 1
	}
	t.Signed.Expires = r.expires(metadata.TARGETS)
	t.ClearSignatures()
	return t, nil
}

// openRoot returns the staged root ready for a change, as openTargets.
func (r *Repository) openRoot() (*metadata.Metadata[metadata.RootType], error) {
	root, err := readRoot(r.staged("root.json"))
	if err != nil {
		return nil, err
	}
	if pub, err := readRoot(r.public("root.json")); err == nil && root.Signed.Version <= pub.Signed.Version {
		root.Signed.Version = pub.Signed.Version + 1
	}
	root.Signed.Expires = r.expires(metadata.ROOT)
	root.ClearSignatures()
	return root, nil
}

// RotateOptions change one role's keys in a new root version.
type RotateOptions struct {
	Role   string
	Add    []*keys.Key
	Revoke []*keys.Key
	// Threshold, if not 0, is the role's new threshold.
	Threshold int
}

// Rotate stages a new, unsigned root version with the role's keys
// changed. The new root must be signed by a threshold of the old root's
// keys and of its own (Publish checks both). Rotating the targets role
// also stages a new targets version, which the new targets keys sign.
func (r *Repository) Rotate(opts RotateOptions) error {
	root, err := r.openRoot()
	if err != nil {
		return err
	}
	role, ok := root.Signed.Roles[opts.Role]
	if !ok {
		return fmt.Errorf("role %q: want root, targets, snapshot or timestamp", opts.Role)
	}
	for _, k := range opts.Revoke {
		tk, err := tufKey(k)
		if err != nil {
			return err
		}
		id, _ := tk.ID()
		if err := root.Signed.RevokeKey(id, opts.Role); err != nil {
			return fmt.Errorf("revoke from %s: %w", opts.Role, err)
		}
	}
	for _, k := range opts.Add {
		tk, err := tufKey(k)
		if err != nil {
			return err
		}
		if err := root.Signed.AddKey(tk, opts.Role); err != nil {
			return fmt.Errorf("add to %s: %w", opts.Role, err)
		}
	}
	if opts.Threshold != 0 {
		role.Threshold = opts.Threshold
	}
	if n := len(role.KeyIDs); role.Threshold < 1 || role.Threshold > n {
		return fmt.Errorf("role %s: threshold %d with %d keys", opts.Role, role.Threshold, n)
	}
	if err := write(r.staged("root.json"), root); err != nil {
		return err
	}
	if opts.Role == metadata.TARGETS {
		t, err := r.openTargets()
		if err != nil {
			return err
		}
		return write(r.staged("targets.json"), t)
	}
	return nil
}

// Sign adds k's signature to the staged root.json or targets.json (role
// "root" or "targets"), replacing an earlier one by the same key. The key
// must be one of the role's keys: for root, of the new root or of the
// published one it replaces (a rotation needs both).
func (r *Repository) Sign(ctx context.Context, role string, k *keys.Key) error {
	if !k.IsPrivate() {
		return fmt.Errorf("%w: a private key is needed to sign", ErrKey)
	}
	tk, err := tufKey(k)
	if err != nil {
		return err
	}
	id, _ := tk.ID()
	s := &signer{ctx: ctx, k: k}
	switch role {
	case metadata.ROOT:
		root, err := readRoot(r.staged("root.json"))
		if err != nil {
			return err
		}
		ok := slices.Contains(root.Signed.Roles[metadata.ROOT].KeyIDs, id)
		if pub, err := readRoot(r.public("root.json")); err == nil && pub.Signed.Version < root.Signed.Version {
			ok = ok || slices.Contains(pub.Signed.Roles[metadata.ROOT].KeyIDs, id)
		}
		if !ok {
			return fmt.Errorf("%w: %s for root version %d", ErrNotAuthorized, id, root.Signed.Version)
		}
		root.Signatures = dropSig(root.Signatures, id)
		if _, err := root.Sign(s); err != nil {
			return fmt.Errorf("sign root: %w", err)
		}
		return write(r.staged("root.json"), root)
	case metadata.TARGETS:
		root, err := r.currentRoot()
		if err != nil {
			return err
		}
		if !slices.Contains(root.Signed.Roles[metadata.TARGETS].KeyIDs, id) {
			return fmt.Errorf("%w: %s for targets", ErrNotAuthorized, id)
		}
		t, err := readTargets(r.staged("targets.json"))
		if err != nil {
			return err
		}
		t.Signatures = dropSig(t.Signatures, id)
		if _, err := t.Sign(s); err != nil {
			return fmt.Errorf("sign targets: %w", err)
		}
		return write(r.staged("targets.json"), t)
	}
	if role == metadata.SNAPSHOT || role == metadata.TIMESTAMP {
		return fmt.Errorf("role %q: holders sign root, targets or a delegated role; snapshot and timestamp are signed by publish", role)
	}
	dr, err := r.delegation(role)
	if err != nil {
		return err
	}
	if !slices.Contains(dr.KeyIDs, id) {
		return fmt.Errorf("%w: %s for the delegated role %s", ErrNotAuthorized, id, role)
	}
	t, err := readTargets(r.staged(role + ".json"))
	if err != nil {
		return err
	}
	t.Signatures = dropSig(t.Signatures, id)
	if _, err := t.Sign(s); err != nil {
		return fmt.Errorf("sign %s: %w", role, err)
	}
	return write(r.staged(role+".json"), t)
}

func dropSig(sigs []metadata.Signature, id string) []metadata.Signature {
	return slices.DeleteFunc(sigs, func(s metadata.Signature) bool { return s.KeyID == id })
}

// currentRoot is the root that will be in force after publishing: the
// staged one if it is newer than the published one.
func (r *Repository) currentRoot() (*metadata.Metadata[metadata.RootType], error) {
	staged, err := readRoot(r.staged("root.json"))
	if err != nil {
		return nil, err
	}
	if pub, err := readRoot(r.public("root.json")); err == nil && pub.Signed.Version >= staged.Signed.Version {
		return pub, nil
	}
	return staged, nil
}

// PublishOptions carry the online keys.
type PublishOptions struct {
	Snapshot, Timestamp *keys.Key
}

// Published says what Publish wrote.
type Published struct {
	// Root, Targets, Snapshot, Timestamp are the versions now served.
	Root      int64 `json:"root"`
	Targets   int64 `json:"targets"`
	Snapshot  int64 `json:"snapshot"`
	Timestamp int64 `json:"timestamp"`
	// Written are the files written under public/.
	Written []string `json:"written"`
}

// Publish checks the staged root and targets (thresholds: a new root by
// both the old and the new root keys, targets by the root's targets
// keys), copies what is new into public/ with consistent-snapshot names,
// and signs a new snapshot (when targets changed or it nears expiry) and
// a new timestamp with the online keys. Nothing is written unless every
// check passes.
func (r *Repository) Publish(ctx context.Context, opts PublishOptions) (*Published, error) {
	if opts.Snapshot == nil || opts.Timestamp == nil {
		return nil, fmt.Errorf("%w: snapshot and timestamp private keys are needed", ErrKey)
	}
	staged, err := readRoot(r.staged("root.json"))
	if err != nil {
		return nil, err
	}
	var files []pending
	root := staged
	prev, err := readRoot(r.public("root.json"))
	switch {
	case err == nil && prev.Signed.Version >= staged.Signed.Version:
		root = prev
	case err == nil || errors.Is(err, os.ErrNotExist):
		if err == nil {
			if staged.Signed.Version != prev.Signed.Version+1 {
				return nil, fmt.Errorf("staged root version %d does not follow published %d", staged.Signed.Version, prev.Signed.Version)
			}
			if err := prev.VerifyDelegate(metadata.ROOT, staged); err != nil {
				return nil, fmt.Errorf("root version %d: %w by the keys of version %d: %w", staged.Signed.Version, ErrThreshold, prev.Signed.Version, err)
			}
		}
		if err := staged.VerifyDelegate(metadata.ROOT, staged); err != nil {
			return nil, fmt.Errorf("root version %d: %w by its own root keys: %w", staged.Signed.Version, ErrThreshold, err)
		}
		b, err := staged.ToBytes(true)
		if err != nil {
			return nil, err
		}
		files = append(files, pending{fmt.Sprintf("%d.root.json", staged.Signed.Version), b}, pending{"root.json", b})
	default:
		return nil, err
	}

	tgt, err := readTargets(r.staged("targets.json"))
	if err != nil {
		return nil, err
	}
	pubT, err := readTargets(r.public("targets.json"))
	targetsChanged := false
	switch {
	case err == nil && pubT.Signed.Version >= tgt.Signed.Version:
		tgt = pubT
	case err == nil || errors.Is(err, os.ErrNotExist):
		targetsChanged = true
	default:
		return nil, err
	}
	if err := root.VerifyDelegate(metadata.TARGETS, tgt); err != nil {
		return nil, fmt.Errorf("targets version %d: %w: %w", tgt.Signed.Version, ErrThreshold, err)
	}
	if targetsChanged {
		for _, name := range sortedKeys(tgt.Signed.Targets) {
			tf := tgt.Signed.Targets[name]
			data, err := os.ReadFile(r.staged("targets", filepath.FromSlash(name)))
			if err != nil {
				return nil, fmt.Errorf("target %s: %w", name, err)
			}
			if err := tf.VerifyLengthHashes(data); err != nil {
				return nil, fmt.Errorf("target %s changed since it was added: %w", name, err)
			}
			dir, base := path.Split(name)
			files = append(files, pending{"targets/" + dir + hex.EncodeToString(tf.Hashes["sha256"]) + "." + base, data})
		}
		b, err := tgt.ToBytes(true)
		if err != nil {
			return nil, err
		}
		files = append(files, pending{fmt.Sprintf("%d.targets.json", tgt.Signed.Version), b}, pending{"targets.json", b})
	}
	delegated, dfiles, err := r.publishDelegated(tgt)
	if err != nil {
		return nil, err
	}
	files = append(files, dfiles...)
	snapMetaWant := map[string]*metadata.MetaFiles{"targets.json": metadata.MetaFile(tgt.Signed.Version)}
	for name, v := range delegated {
		snapMetaWant[name+".json"] = metadata.MetaFile(v)
	}

	snap, err := readSnapshot(r.public("snapshot.json"))
	if errors.Is(err, os.ErrNotExist) {
		snap, err = metadata.Snapshot(), nil
		snap.Signed.Version = 0
	}
	if err != nil {
		return nil, err
	}
	// A role no longer delegated stays listed at its last version: TUF
	// clients refuse a snapshot that drops a file the previous one
	// listed (rollback protection); nothing delegates to it any more.
	for name, mf := range snap.Signed.Meta {
		if _, ok := snapMetaWant[name]; !ok {
			snapMetaWant[name] = mf
		}
	}
	now := r.now()
	var snapMeta *metadata.MetaFiles
	snapChanged := targetsChanged || len(dfiles) > 0 || !sameMeta(snap.Signed.Meta, snapMetaWant) || snap.Signed.Version == 0 || snap.Signed.Expires.Before(now.Add(WarnBefore[metadata.SNAPSHOT])) || !signedBy(root, metadata.SNAPSHOT, snap)
	if snapChanged {
		snap.Signed.Version++
		snap.Signed.Expires = r.expires(metadata.SNAPSHOT)
		snap.Signed.Meta = snapMetaWant
		snap.ClearSignatures()
		if err := signOnline(ctx, root, metadata.SNAPSHOT, snap, opts.Snapshot); err != nil {
			return nil, err
		}
		b, err := snap.ToBytes(true)
		if err != nil {
			return nil, err
		}
		files = append(files, pending{fmt.Sprintf("%d.snapshot.json", snap.Signed.Version), b}, pending{"snapshot.json", b})
		// Length and hash too: the timestamp then pins the exact
		// snapshot bytes, not only its version.
		tf, err := metadata.TargetFile().FromBytes("snapshot.json", b, "sha256")
		if err != nil {
			return nil, err
		}
		snapMeta = metadata.MetaFile(snap.Signed.Version)
		snapMeta.Length, snapMeta.Hashes = tf.Length, tf.Hashes
	}

	ts, err := readTimestamp(r.public("timestamp.json"))
	if errors.Is(err, os.ErrNotExist) {
		ts, err = metadata.Timestamp(), nil
		ts.Signed.Version = 0
	}
	if err != nil {
		return nil, err
	}
	ts.Signed.Version++
	ts.Signed.Expires = r.expires(metadata.TIMESTAMP)
	if snapMeta != nil {
		ts.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": snapMeta}
	}
	ts.ClearSignatures()
	if err := signOnline(ctx, root, metadata.TIMESTAMP, ts, opts.Timestamp); err != nil {
		return nil, err
	}
	b, err := ts.ToBytes(true)
	if err != nil {
		return nil, err
	}
	// timestamp.json last: it is what makes the rest visible.
	files = append(files, pending{"timestamp.json", b})
	out := &Published{Root: root.Signed.Version, Targets: tgt.Signed.Version, Snapshot: snap.Signed.Version, Timestamp: ts.Signed.Version}
	for _, f := range files {
		p := r.public(filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(p, f.data, 0o644); err != nil {
			return nil, err
		}
		out.Written = append(out.Written, f.name)
	}
	return out, nil
}

type pending struct {
	name string
	data []byte
}

func signedBy[T metadata.Roles](root *metadata.Metadata[metadata.RootType], role string, m *metadata.Metadata[T]) bool {
	return root.VerifyDelegate(role, m) == nil
}

func signOnline[T metadata.Roles](ctx context.Context, root *metadata.Metadata[metadata.RootType], role string, m *metadata.Metadata[T], k *keys.Key) error {
	if !k.IsPrivate() {
		return fmt.Errorf("%w: %s key is public only", ErrKey, role)
	}
	tk, err := tufKey(k)
	if err != nil {
		return err
	}
	id, _ := tk.ID()
	if !slices.Contains(root.Signed.Roles[role].KeyIDs, id) {
		return fmt.Errorf("%w: %s for %s", ErrNotAuthorized, id, role)
	}
	if _, err := m.Sign(&signer{ctx: ctx, k: k}); err != nil {
		return fmt.Errorf("sign %s: %w", role, err)
	}
	return root.VerifyDelegate(role, m)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrContent: a target under toto's conventions whose content is not
// what the name says (a key that does not parse, a private key, a layout
// that is not a signed envelope).
var ErrContent = errors.New("target content does not fit its name")

// checkContent holds targets named by toto's conventions (trust.Target*)
// to what consumers will read from them.
func checkContent(name string, data []byte) error {
	switch {
	case strings.HasPrefix(name, trust.TargetOwnersDir), strings.HasPrefix(name, trust.TargetKeysDir):
		k, err := keys.Parse(data)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrContent, name, err)
		}
		if k.IsPrivate() {
			return fmt.Errorf("%w: %s is a private key: publish its public half", ErrContent, name)
		}
	case strings.HasPrefix(name, trust.TargetKeyringsDir):
		return checkKeyring(name, data)
	case strings.HasPrefix(name, trust.TargetNotationDir):
		return checkNotation(name, data)
	case strings.HasPrefix(name, trust.TargetDCTDir):
		return checkDCTRoot(name, data)
	case name == trust.TargetLayout || (strings.HasPrefix(name, "toto/") && strings.HasSuffix(name, ".layout")):
		if _, err := envelope.Parse(data); err != nil {
			return fmt.Errorf("%w: %s: not a signed layout: %w", ErrContent, name, err)
		}
	}
	return nil
}

// checkName accepts a clean relative slash path without "." or ".."
// elements, as TUF target paths and files under staged/targets must be.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name || strings.HasSuffix(name, "/") {
		return fmt.Errorf("%w: %q", ErrTargetName, name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == "." || el == ".." || el == "" {
			return fmt.Errorf("%w: %q", ErrTargetName, name)
		}
	}
	return nil
}

// tufKey is k as TUF metadata lists it.
func tufKey(k *keys.Key) (*metadata.Key, error) {
	switch p := k.CryptoPublicKey().(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA keys must be P-256", ErrKey)
		}
	default:
		return nil, fmt.Errorf("%w: %T (use ed25519 or ecdsa)", ErrKey, p)
	}
	tk, err := metadata.KeyFromPublicKey(k.CryptoPublicKey())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return tk, nil
}

// KeyID is k's keyid as TUF metadata names it (not the in-toto keyid).
func KeyID(k *keys.Key) (string, error) {
	tk, err := tufKey(k)
	if err != nil {
		return "", err
	}
	return tk.ID()
}

// NewSigner makes k (a private key file, or a KMS or HSM key through
// keys.FromSigner) a signer for go-tuf's Metadata.Sign.
func NewSigner(ctx context.Context, k *keys.Key) signature.Signer {
	return &signer{ctx: ctx, k: k}
}

// signer makes a keys.Key (a file key, or a KMS key through
// keys.FromSigner) a sigstore signature.Signer for go-tuf.
type signer struct {
	ctx context.Context
	k   *keys.Key
}

var _ signature.Signer = (*signer)(nil)

func (s *signer) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return s.k.CryptoPublicKey(), nil
}

func (s *signer) SignMessage(msg io.Reader, _ ...signature.SignOption) ([]byte, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return nil, err
	}
	return s.k.Sign(s.ctx, b)
}

func (r *Repository) staged(p ...string) string {
	return filepath.Join(append([]string{r.Dir, StagedDir}, p...)...)
}

func (r *Repository) public(p ...string) string {
	return filepath.Join(append([]string{r.Dir, PublicDir}, p...)...)
}

func write[T metadata.Roles](p string, m *metadata.Metadata[T]) error {
	b, err := m.ToBytes(true)
	if err != nil {
		return err
	}
	return atomicfile.Write(p, b, 0o644)
}

const maxMetadataSize = 16 << 20

func readFile(p string) ([]byte, error) {
	b, err := boundedio.ReadFile(p, maxMetadataSize)
	if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(p, filepath.Join(StagedDir, "root.json")) {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotRepository, filepath.Dir(filepath.Dir(p)), err)
	}
	return b, err
}

// read reads and parses one metadata file of role type T.
func read[T metadata.Roles](p string) (*metadata.Metadata[T], error) {
	b, err := readFile(p)
	if err != nil {
		return nil, err
	}
	m, err := (&metadata.Metadata[T]{}).FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

func readRoot(p string) (*metadata.Metadata[metadata.RootType], error) {
	return read[metadata.RootType](p)
}

func readTargets(p string) (*metadata.Metadata[metadata.TargetsType], error) {
	return read[metadata.TargetsType](p)
}

func readSnapshot(p string) (*metadata.Metadata[metadata.SnapshotType], error) {
	return read[metadata.SnapshotType](p)
}

func readTimestamp(p string) (*metadata.Metadata[metadata.TimestampType], error) {
	return read[metadata.TimestampType](p)
}

package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust/tufoci"
)

// Target naming conventions of a TUF repository carrying toto's trust
// material (docs/trust.md). Targets are named by path; these are the
// top-level targets TUF reads.
const (
	// TargetLayout is the default root layout target.
	TargetLayout = "toto/root.layout"
	// TargetOwnersDir holds the layout owners' public keys, one
	// "toto/owners/NAME.pub" target each; every one must sign the layout
	// (unless the layout target lists its owners, see LayoutCustom).
	TargetOwnersDir = "toto/owners/"
	// TargetKeysDir holds keys trusted to sign artifacts directly
	// ("toto/keys/NAME.pub"): Root.Keys.
	TargetKeysDir = "toto/keys/"
	// TargetSigstoreTrustedRoot is a Sigstore trusted_root.json.
	TargetSigstoreTrustedRoot = "toto/sigstore/trusted_root.json"
)

// Errors a caller of TUF.Root branches on. Each wraps go-tuf's own error,
// so errors.As to go-tuf's metadata error types works too.
var (
	// ErrExpired: the newest metadata the repository offers (or the
	// cache holds, offline) has expired — a freeze attack, or a
	// repository nobody re-signed in time.
	ErrExpired = errors.New("TUF metadata expired")
	// ErrRollback: metadata older than what the client already trusts,
	// or metadata versions that do not belong together (a rollback or a
	// mix-and-match attack).
	ErrRollback = errors.New("TUF metadata rolled back or mixed")
	// ErrUnsigned: metadata not signed by a threshold of its role's keys.
	ErrUnsigned = errors.New("TUF metadata not signed by a threshold of keys")
	// ErrTargetMismatch: a target whose length or hashes are not the
	// ones the signed targets metadata lists.
	ErrTargetMismatch = errors.New("TUF target does not match its signed hashes")
	// ErrNoTarget: a target the verification needs is not listed.
	ErrNoTarget = errors.New("TUF target not found")
	// ErrUnreachable: the repository could not be fetched (offline use
	// with cached metadata is TUF.Offline).
	ErrUnreachable = errors.New("TUF repository unreachable")
	// ErrNoCache: offline use without a complete cache.
	ErrNoCache = errors.New("no cached TUF metadata")
	// ErrBadTarget: a target's content or custom metadata is malformed.
	ErrBadTarget = errors.New("malformed TUF target")
)

// TUF is a Source reading trust material from a TUF repository through
// go-tuf's updater: the client workflow of the TUF specification (section
// 5) from a pinned root, then targets named by toto's conventions.
type TUF struct {
	// TrustedRoot is the pinned root.json (any version the repository
	// published; the client walks forward from it). Required.
	TrustedRoot []byte
	// MetadataURL is where N.root.json, timestamp.json, N.snapshot.json
	// and N.targets.json are served: an http(s) URL, or
	// oci://REGISTRY/REPO[:TAG] for a repository pushed to a registry as
	// an OCI artifact (package tufoci). Required unless Offline.
	MetadataURL string
	// TargetsURL is where targets are served; "" means MetadataURL +
	// "/targets".
	TargetsURL string
	// CacheDir keeps trusted metadata ("metadata/") and targets
	// ("targets/") between runs. Required: it is what rollback
	// protection and offline use rest on. DefaultTUFCacheDir gives one
	// per repository URL.
	CacheDir string
	// Offline uses the cached metadata only (still verified from the
	// newest cached root, and refused once expired).
	Offline bool
	// LayoutTarget names the root layout target; "" means TargetLayout.
	// NoLayout skips it (only keys are wanted).
	LayoutTarget string
	NoLayout     bool
	// HTTPClient fetches; nil means a client with a one-minute timeout.
	HTTPClient *http.Client
	// Now is the reference time for expiry; zero means now.
	Now time.Time
}

// LayoutCustom is the toto member of a layout target's "custom" field:
// the owner key targets of this layout, when a repository carries several
// layouts with different owners. Absent, every "toto/owners/" target is
// an owner.
type LayoutCustom struct {
	Owners []string `json:"owners"`
}

// Limits on what the TUF source reads.
const (
	maxTUFTargetSize = 64 << 20
	maxOwnerKeySize  = 1 << 20
)

// DefaultTUFCacheDir is a cache folder for the repository at metadataURL
// under the user's cache folder: toto/tuf/<sha256 of the URL, 16 hex>.
func DefaultTUFCacheDir(metadataURL string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("TUF cache: %w", err)
	}
	sum := sha256.Sum256([]byte(strings.TrimSuffix(metadataURL, "/")))
	return filepath.Join(base, "toto", "tuf", hex.EncodeToString(sum[:8])), nil
}

// RootInfo describes the verified TUF metadata a Root came from.
type RootInfo struct {
	// RootVersion is the version of the newest trusted root.json.
	RootVersion int64
	// TargetsVersion is the version of the trusted targets.json.
	TargetsVersion int64
	// Expires maps each top-level role, and each delegated role the
	// targets search loaded, to its expiry.
	Expires map[string]time.Time
	// Targets are the names of the targets the Root was built from.
	Targets []string
}

// Root refreshes the metadata (or loads the cache, offline) and builds a
// Root from the verified targets: layout owners from "toto/owners/",
// keys from "toto/keys/", a Sigstore trusted root, notation
// configurations ("toto/notation/"), OpenPGP keyrings ("toto/keyrings/"),
// and the signed root layout (Root.Layout).
func (t TUF) Root(ctx context.Context) (*Root, error) {
	r, _, err := t.Fetch(ctx)
	return r, err
}

// Fetch is Root, also describing the metadata used.
func (t TUF) Fetch(ctx context.Context) (*Root, *RootInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	up, err := t.updater(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := up.Refresh(); err != nil {
		return nil, nil, t.classify("refresh", err)
	}
	tm := up.GetTrustedMetadataSet()
	info := &RootInfo{
		RootVersion:    tm.Root.Signed.Version,
		TargetsVersion: tm.Targets[metadata.TARGETS].Signed.Version,
		Expires: map[string]time.Time{
			metadata.ROOT:      tm.Root.Signed.Expires,
			metadata.TIMESTAMP: tm.Timestamp.Signed.Expires,
			metadata.SNAPSHOT:  tm.Snapshot.Signed.Expires,
			metadata.TARGETS:   tm.Targets[metadata.TARGETS].Signed.Expires,
		},
	}
	top, err := t.allTargets(up)
	if err != nil {
		return nil, nil, err
	}
	root := &Root{}
	get := func(name string) ([]byte, error) {
		b, err := t.target(ctx, up, name)
		if err == nil {
			info.Targets = append(info.Targets, name)
		}
		return b, err
	}

	owners := prefixed(top, TargetOwnersDir)
	if !t.NoLayout {
		name := t.LayoutTarget
		if name == "" {
			name = TargetLayout
		}
		tf, err := up.GetTargetInfo(name)
		if err != nil {
			return nil, nil, t.classify("layout target "+name, err)
		}
		if c, err := ParseLayoutCustom(tf.Custom); err != nil {
			return nil, nil, fmt.Errorf("layout target %s: %w", name, err)
		} else if c != nil {
			owners = c.Owners
		}
		if root.Layout, err = get(name); err != nil {
			return nil, nil, err
		}
		root.LayoutTarget = name
	}
	for _, name := range owners {
		k, err := keyTarget(name, get)
		if err != nil {
			return nil, nil, err
		}
		root.LayoutOwners = append(root.LayoutOwners, k)
	}
	for _, name := range prefixed(top, TargetKeysDir) {
		k, err := keyTarget(name, get)
		if err != nil {
			return nil, nil, err
		}
		root.Keys = append(root.Keys, k)
	}
	if _, ok := top[TargetSigstoreTrustedRoot]; ok {
		if root.SigstoreTrustedRoot, err = get(TargetSigstoreTrustedRoot); err != nil {
			return nil, nil, err
		}
	}
	for _, name := range prefixed(top, TargetNotationDir) {
		set, rel, _, err := SplitNotationTarget(name)
		if err != nil {
			return nil, nil, err
		}
		b, err := get(name)
		if err != nil {
			return nil, nil, err
		}
		if root.Notation == nil {
			root.Notation = map[string]*NotationConfig{}
		}
		c := root.Notation[set]
		if c == nil {
			c = &NotationConfig{Certificates: map[string][]byte{}}
			root.Notation[set] = c
		}
		if rel == "trustpolicy.json" {
			c.TrustPolicy = b
		} else {
			c.Certificates[strings.TrimPrefix(rel, "truststore/")] = b
		}
	}
	for _, name := range prefixed(top, TargetKeyringsDir) {
		base := strings.TrimPrefix(name, TargetKeyringsDir)
		if err := checkElem(base); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrBadTarget, name, err)
		}
		b, err := get(name)
		if err != nil {
			return nil, nil, err
		}
		if root.Keyrings == nil {
			root.Keyrings = map[string][]byte{}
		}
		root.Keyrings[base] = b
	}
	for _, name := range prefixed(top, TargetDCTDir) {
		gun, ok := strings.CutSuffix(strings.TrimPrefix(name, TargetDCTDir), "/root.pem")
		if !ok || gun == "" {
			return nil, nil, fmt.Errorf("%w: %s: want %sGUN/root.pem", ErrBadTarget, name, TargetDCTDir)
		}
		b, err := get(name)
		if err != nil {
			return nil, nil, err
		}
		if root.DCTRoots == nil {
			root.DCTRoots = map[string][]byte{}
		}
		root.DCTRoots[gun] = b
	}
	if !t.NoLayout && len(root.LayoutOwners) == 0 {
		return nil, nil, fmt.Errorf("%w: no layout owner keys (targets %s*)", ErrNoTarget, TargetOwnersDir)
	}
	// Delegated roles the search loaded expire too (and fail every
	// verification that needs them once they do).
	for role, m := range up.GetTrustedMetadataSet().Targets {
		if role != metadata.TARGETS {
			info.Expires[role] = m.Signed.Expires
		}
	}
	root.TUF = info
	return root, info, nil
}

// Target refreshes the metadata (or loads the cache, offline) and returns
// the verified content of one target, by path: for trust material toto
// has no convention for (a notation trust store, an OpenPGP keyring).
func (t TUF) Target(ctx context.Context, name string) ([]byte, error) {
	up, err := t.updater(ctx)
	if err != nil {
		return nil, err
	}
	if err := up.Refresh(); err != nil {
		return nil, t.classify("refresh", err)
	}
	return t.target(ctx, up, name)
}

// ParseLayoutCustom reads the toto member of a target's custom field; nil
// without one. Owner names must be targets under "toto/owners/".
func ParseLayoutCustom(custom *json.RawMessage) (*LayoutCustom, error) {
	if custom == nil || len(bytes.TrimSpace(*custom)) == 0 || string(bytes.TrimSpace(*custom)) == "null" {
		return nil, nil
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(*custom, &outer); err != nil {
		return nil, fmt.Errorf("%w: custom: %w", ErrBadTarget, err)
	}
	raw, ok := outer["toto"]
	if !ok {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c LayoutCustom
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: custom.toto: %w", ErrBadTarget, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: custom.toto: trailing data", ErrBadTarget)
	}
	if len(c.Owners) == 0 {
		return nil, fmt.Errorf("%w: custom.toto.owners is empty", ErrBadTarget)
	}
	seen := map[string]bool{}
	for _, o := range c.Owners {
		if !strings.HasPrefix(o, TargetOwnersDir) || len(o) == len(TargetOwnersDir) {
			return nil, fmt.Errorf("%w: custom.toto.owners: %q is not a %s target", ErrBadTarget, o, TargetOwnersDir)
		}
		if seen[o] {
			return nil, fmt.Errorf("%w: custom.toto.owners: %q twice", ErrBadTarget, o)
		}
		seen[o] = true
	}
	return &c, nil
}

// allTargets lists every target name go-tuf resolves: the top-level
// targets, and the targets of delegated roles that the delegation search
// (go-tuf's GetTargetInfo: pre-order, paths checked, terminating roles
// honoured) finds for their name. A delegated role is loaded (and
// verified, by go-tuf) by searching for one of its path patterns; a name
// a role lists outside its delegated paths is never found through it, so
// it is not trusted. Roles delegated by hash prefixes only are not
// enumerated (their targets are still found by name).
func (t TUF) allTargets(up *updater.Updater) (map[string]*metadata.TargetFiles, error) {
	out := map[string]*metadata.TargetFiles{}
	for name, tf := range up.GetTopLevelTargets() {
		out[name] = tf
	}
	tm := up.GetTrustedMetadataSet()
	var pending []metadata.DelegatedRole
	if d := tm.Targets[metadata.TARGETS].Signed.Delegations; d != nil {
		pending = append(pending, d.Roles...)
	}
	seen := map[string]bool{metadata.TARGETS: true}
	candidates := map[string]bool{}
	for len(pending) > 0 && len(seen) <= maxDelegatedRoles {
		dr := pending[0]
		pending = pending[1:]
		if seen[dr.Name] {
			continue
		}
		seen[dr.Name] = true
		for _, p := range dr.Paths {
			probe := globProbe(p)
			if probe == "" {
				continue
			}
			if _, err := up.GetTargetInfo(probe); err != nil {
				if err := t.classify("delegated role "+dr.Name, err); !errors.Is(err, ErrNoTarget) {
					return nil, err
				}
			}
		}
		m, ok := up.GetTrustedMetadataSet().Targets[dr.Name]
		if !ok {
			continue // not reached: an earlier terminating role
		}
		for name := range m.Signed.Targets {
			candidates[name] = true
		}
		if m.Signed.Delegations != nil {
			pending = append(pending, m.Signed.Delegations.Roles...)
		}
	}
	for name := range candidates {
		if _, ok := out[name]; ok {
			continue
		}
		tf, err := up.GetTargetInfo(name)
		if err != nil {
			if err := t.classify("target "+name, err); errors.Is(err, ErrNoTarget) {
				continue
			} else {
				return nil, err
			}
		}
		out[name] = tf
	}
	return out, nil
}

// maxDelegatedRoles bounds the delegated roles allTargets visits, as
// go-tuf's MaxDelegations bounds one search.
const maxDelegatedRoles = 32

// globProbe is a target path a TUF path pattern matches (go-tuf matches
// element by element with path.Match): the pattern itself when it
// matches itself ('*' and '?' do), else with each character class
// replaced by its first member; "" when neither works.
func globProbe(pattern string) string {
	ok := func(s string) bool {
		m, err := path.Match(pattern, s)
		return err == nil && m && strings.Count(s, "/") == strings.Count(pattern, "/")
	}
	if ok(pattern) {
		return pattern
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '[':
			j := strings.IndexByte(pattern[i:], ']')
			if j < 2 || pattern[i+1] == '^' || pattern[i+1] == '!' {
				return ""
			}
			b.WriteByte(pattern[i+1])
			i += j
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteByte(pattern[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	if ok(b.String()) {
		return b.String()
	}
	return ""
}

func prefixed(top map[string]*metadata.TargetFiles, prefix string) []string {
	var out []string
	for name := range top {
		if strings.HasPrefix(name, prefix) && len(name) > len(prefix) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// keyTarget reads the target name with get and parses it as a public key.
func keyTarget(name string, get func(string) ([]byte, error)) (*keys.Key, error) {
	b, err := get(name)
	if err != nil {
		return nil, err
	}
	if len(b) > maxOwnerKeySize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrBadTarget, name, maxOwnerKeySize)
	}
	k, err := keys.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadTarget, name, err)
	}
	return k.Public(), nil
}

// target returns a verified target's content: from the cache when it
// matches the signed hashes, else downloaded (unless offline).
func (t TUF) target(ctx context.Context, up *updater.Updater, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tf, err := up.GetTargetInfo(name)
	if err != nil {
		return nil, t.classify("target "+name, err)
	}
	if tf.Length > maxTUFTargetSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, more than %d", ErrBadTarget, name, tf.Length, maxTUFTargetSize)
	}
	if _, b, err := up.FindCachedTarget(tf, ""); err == nil && b != nil {
		return b, nil
	}
	if t.Offline {
		return nil, fmt.Errorf("%w: target %s is not cached", ErrNoCache, name)
	}
	_, b, err := up.DownloadTarget(tf, "", t.TargetsURL)
	if err != nil {
		return nil, t.classify("target "+name, err)
	}
	return b, nil
}

// classify wraps go-tuf's error in the sentinel a caller branches on.
func (t TUF) classify(what string, err error) error {
	var sentinel error
	switch {
	case errors.Is(err, &metadata.ErrExpiredMetadata{}):
		sentinel = ErrExpired
	case errors.Is(err, &metadata.ErrBadVersionNumber{}):
		sentinel = ErrRollback
	case errors.Is(err, &metadata.ErrUnsignedMetadata{}):
		sentinel = ErrUnsigned
	case errors.Is(err, &metadata.ErrLengthOrHashMismatch{}), errors.Is(err, &metadata.ErrDownloadLengthMismatch{}):
		if strings.HasPrefix(what, "target") {
			sentinel = ErrTargetMismatch
		} else {
			sentinel = ErrRollback
		}
	case strings.HasPrefix(err.Error(), "target ") && strings.HasSuffix(err.Error(), " not found"):
		sentinel = ErrNoTarget
	case errors.Is(err, &metadata.ErrDownloadHTTP{}):
		sentinel = ErrUnreachable
	case errors.Is(err, os.ErrNotExist) && t.Offline:
		sentinel = ErrNoCache
	case isNetwork(err):
		sentinel = ErrUnreachable
	}
	if sentinel == nil {
		return fmt.Errorf("TUF %s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, sentinel, err)
}

func isNetwork(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

// updater starts go-tuf's updater from the newest trusted root: the
// cached one when it is at least the pinned version, else the pin.
func (t TUF) updater(ctx context.Context) (*updater.Updater, error) {
	if len(t.TrustedRoot) == 0 {
		return nil, errors.New("TUF: no trusted root.json pinned")
	}
	if t.CacheDir == "" {
		return nil, errors.New("TUF: no cache folder")
	}
	if t.MetadataURL == "" && !t.Offline {
		return nil, errors.New("TUF: no metadata URL")
	}
	pinned, err := (&metadata.Metadata[metadata.RootType]{}).FromBytes(t.TrustedRoot)
	if err != nil {
		return nil, fmt.Errorf("TUF trusted root: %w", err)
	}
	rootBytes := t.TrustedRoot
	mdDir := filepath.Join(t.CacheDir, "metadata")
	if b, err := os.ReadFile(filepath.Join(mdDir, "root.json")); err == nil {
		if cached, err := (&metadata.Metadata[metadata.RootType]{}).FromBytes(b); err == nil && cached.Signed.Version >= pinned.Signed.Version {
			rootBytes = b
		}
	}
	murl := t.MetadataURL
	if murl == "" {
		murl = "offline:"
	}
	cfg, err := config.New(murl, rootBytes)
	if err != nil {
		return nil, fmt.Errorf("TUF metadata URL %q: %w", t.MetadataURL, err)
	}
	if t.TargetsURL != "" {
		cfg.RemoteTargetsURL = t.TargetsURL
	}
	cfg.LocalMetadataDir = mdDir
	cfg.LocalTargetsDir = filepath.Join(t.CacheDir, "targets")
	cfg.UnsafeLocalMode = t.Offline
	hc := t.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	cfg.Fetcher = &ctxFetcher{ctx: ctx, client: hc}
	if strings.HasPrefix(t.MetadataURL, tufoci.Scheme) {
		// A repository pushed to a registry (toto trust publish
		// --oci): the files are blobs of one artifact.
		if cfg.Fetcher, err = tufoci.NewFetcher(ctx, t.MetadataURL, tufoci.Options{HTTPClient: hc}); err != nil {
			return nil, fmt.Errorf("TUF metadata URL: %w", err)
		}
	}
	if t.Offline {
		if _, err := os.Stat(filepath.Join(mdDir, "timestamp.json")); err != nil {
			return nil, fmt.Errorf("%w in %s: run once online first", ErrNoCache, t.CacheDir)
		}
	}
	up, err := updater.New(cfg)
	if err != nil {
		return nil, t.classify("trusted root", err)
	}
	if !t.Now.IsZero() {
		up.UnsafeSetRefTime(t.Now)
	}
	return up, nil
}

// ctxFetcher downloads with the caller's context and a hard size bound.
type ctxFetcher struct {
	ctx    context.Context
	client *http.Client
}

func (f *ctxFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: u}
	}
	if res.ContentLength > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: length %d is larger than expected %d", u, res.ContentLength, maxLength)}
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: larger than expected %d", u, maxLength)}
	}
	return data, nil
}

// expiryNotice is how long before it lapses a role's metadata is worth a
// warning to a consumer: the timestamp is renewed often (days), the
// others seldom (months), so a late renewal shows early.
var expiryNotice = map[string]time.Duration{
	metadata.TIMESTAMP: 24 * time.Hour,
	metadata.SNAPSHOT:  7 * 24 * time.Hour,
	metadata.TARGETS:   14 * 24 * time.Hour,
	metadata.ROOT:      30 * 24 * time.Hour,
}

// ExpiryWarnings says, for each top-level role whose trusted metadata
// expires soon after now, when: once it lapses every verification that
// relies on it fails (a freeze is indistinguishable from a repository
// nobody re-published), so the consumer hears of it before.
func (i *RootInfo) ExpiryWarnings(now time.Time) []string {
	if i == nil {
		return nil
	}
	var out []string
	roles := []string{metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS, metadata.ROOT}
	var delegated []string
	for role := range i.Expires {
		if !slices.Contains(roles, role) {
			delegated = append(delegated, role)
		}
	}
	sort.Strings(delegated)
	for _, role := range append(roles, delegated...) {
		exp, ok := i.Expires[role]
		if !ok {
			continue
		}
		notice, ok := expiryNotice[role]
		if !ok {
			notice = expiryNotice[metadata.TARGETS] // a delegated targets role
		}
		if left := exp.Sub(now); left < notice {
			out = append(out, fmt.Sprintf("TUF %s metadata expires %s (in %s); after that, verifications that rely on it fail until the repository is re-published",
				role, exp.UTC().Format(time.RFC3339), left.Round(time.Minute)))
		}
	}
	return out
}

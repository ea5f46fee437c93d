package imagepolicy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/trust"
)

// Trust declares, once per document, where trust material named
// "tuf:TARGET" comes from: a TUF repository read through trust.TUF (the
// one TUF client: go-tuf's updater from a pinned root, rotation, rollback
// and freeze protection, a cache). Key files, layouts and trusted roots in
// requirements may then be targets:
//
//	trust:
//	  tuf: {root: root.json, url: https://trust.example/, cache: /var/cache/toto-tuf, refresh: 5m}
//	rules:
//	  - images: ["*"]
//	    require: {intoto: {layout: tuf:toto/root.layout, ownerKeys: [tuf:toto/owners/alice.pub]}}
type Trust struct {
	TUF *TUFSource `yaml:"tuf"`
}

// TUFSource is a TUF repository of trust material.
type TUFSource struct {
	// Root is the pinned root.json (a file of the policy).
	Root string `yaml:"root"`
	// URL serves the metadata (http(s), or oci://, see trust.TUF);
	// TargetsURL the targets, default URL/targets.
	URL        string `yaml:"url"`
	TargetsURL string `yaml:"targetsUrl"`
	// Cache keeps trusted metadata and targets between runs; default
	// trust.DefaultTUFCacheDir(URL).
	Cache string `yaml:"cache"`
	// Offline uses the cached metadata only, until it expires.
	Offline bool `yaml:"offline"`
	// Refresh is how long a target fetched is used before the
	// repository is asked again ("30s", "5m"; "0s": every evaluation).
	// Default DefaultTUFRefresh. A key revoked in the repository stops
	// vouching for images within Refresh.
	Refresh string `yaml:"refresh"`
}

// DefaultTUFRefresh is how long TUF targets are used before the
// repository is asked again, when the document does not say.
const DefaultTUFRefresh = 5 * time.Minute

// TUFPrefix marks a file of a requirement as a target of the document's
// TUF repository.
const TUFPrefix = "tuf:"

// maxTrustFile bounds a key, layout or trusted root read from a file.
const maxTrustFile = 64 << 20

func (t *Trust) check() error {
	if t == nil || t.TUF == nil {
		return nil
	}
	s := t.TUF
	switch {
	case s.Root == "":
		return fieldErrorf("trust.tuf", "no root (the pinned root.json)")
	case s.URL == "" && !s.Offline:
		return fieldErrorf("trust.tuf", "no url")
	case s.URL == "" && s.Cache == "":
		return fieldErrorf("trust.tuf", "offline without url needs cache")
	}
	if s.Refresh != "" {
		if d, err := time.ParseDuration(s.Refresh); err != nil || d < 0 {
			return fieldErrorf("trust.tuf.refresh", "%q: want a duration such as 5m", s.Refresh)
		}
	}
	return nil
}

// tufState is what the document's TUF repository gave: targets by name,
// with when they were fetched.
type tufState struct {
	src     *trust.TUF
	refresh time.Duration
	targets map[string]tufTarget
	// root is the repository's trust material as a whole, for notation
	// sets; notation the options loaded from their folders.
	root     *trust.Root
	rootAt   time.Time
	notation map[[2]string]notation.VerifyOptions
}

type tufTarget struct {
	data []byte
	at   time.Time
}

// material returns the content of a file of the policy: "tuf:TARGET" from
// the document's TUF repository (fetched again once Refresh has passed),
// any other name a file relative to the document, read once.
func (p *Policy) material(ctx context.Context, name string, max int64) ([]byte, error) {
	target, fromTUF := strings.CutPrefix(name, TUFPrefix)
	if !fromTUF {
		return p.readOnce(name, max)
	}
	if p.Trust == nil || p.Trust.TUF == nil {
		return nil, fmt.Errorf("%s: the document declares no trust.tuf repository", name)
	}
	p.trust.tufMu.Lock()
	defer p.trust.tufMu.Unlock()
	st, err := p.tufState()
	if err != nil {
		return nil, err
	}
	if t, ok := st.targets[target]; ok && time.Since(t.at) < st.refresh {
		return t.data, nil
	}
	b, err := st.src.Target(ctx, target)
	if err != nil {
		delete(st.targets, target)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: more than %d bytes", name, max)
	}
	st.targets[target] = tufTarget{data: b, at: time.Now()}
	return b, nil
}

// tufState sets up the document's TUF source once; p.trust.tufMu is held.
func (p *Policy) tufState() (*tufState, error) {
	if p.trust.tuf != nil {
		return p.trust.tuf, nil
	}
	s := p.Trust.TUF
	root, err := boundedio.ReadFile(p.file(s.Root), maxTrustFile)
	if err != nil {
		return nil, fmt.Errorf("trust.tuf.root: %w", err)
	}
	cache := s.Cache
	if cache != "" {
		cache = p.file(cache)
	} else if cache, err = trust.DefaultTUFCacheDir(s.URL); err != nil {
		return nil, err
	}
	refresh := DefaultTUFRefresh
	if s.Refresh != "" {
		refresh, _ = time.ParseDuration(s.Refresh) // checked by Parse
	}
	p.trust.tuf = &tufState{
		src:      &trust.TUF{TrustedRoot: root, MetadataURL: s.URL, TargetsURL: s.TargetsURL, CacheDir: cache, Offline: s.Offline, NoLayout: true},
		refresh:  refresh,
		targets:  map[string]tufTarget{},
		notation: map[[2]string]notation.VerifyOptions{},
	}
	return p.trust.tuf, nil
}

// loadKeys returns the public keys in files (or TUF targets). Keys are
// kept by content, so a key rotated in TUF is the new key.
func (p *Policy) loadKeys(ctx context.Context, files []string) ([]*keys.Key, error) {
	out := make([]*keys.Key, 0, len(files))
	for _, f := range files {
		data, err := p.material(ctx, f, maxTrustFile)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		p.trust.mu.Lock()
		k, ok := p.trust.keys[sum]
		p.trust.mu.Unlock()
		if !ok {
			parsed, err := keys.Parse(data)
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", f, err)
			}
			k = parsed.Public()
			p.trust.mu.Lock()
			if p.trust.keys == nil {
				p.trust.keys = map[[32]byte]*keys.Key{}
			}
			p.trust.keys[sum] = k
			p.trust.mu.Unlock()
		}
		out = append(out, k)
	}
	return out, nil
}

// materialErr turns a failure to get a requirement's trust material into
// its result: material the TUF repository no longer lists (a revoked
// key) or whose metadata expired vouches for nothing, so the requirement
// is violated; anything else (a file that does not load, a target that
// does not match its signed hashes, an unreachable repository) is an
// error: the policy cannot be evaluated.
func materialErr(name string, action decision.Action, err error) (decision.Requirement, error) {
	if errors.Is(err, trust.ErrNoTarget) || errors.Is(err, trust.ErrExpired) {
		return decision.Check(name, action, err), nil
	}
	return decision.Requirement{}, fmt.Errorf("%w: %s: %w", ErrPolicy, name, err)
}

// fromTUF says whether a notation requirement's trust policy or store is
// a "tuf:SET".
func (n *Notation) fromTUF() bool {
	return strings.HasPrefix(n.TrustPolicy, TUFPrefix) || strings.HasPrefix(n.TrustStore, TUFPrefix)
}

// notationTUF returns the options of a notation requirement whose trust
// policy or trust store is a notation set of the TUF repository,
// "tuf:SET": the targets under toto/notation/SET/, as `toto image verify
// --notation-policy/--trust-store tuf:SET` reads them (trust.Root's
// Notation). A set is written once per content into a folder of the TUF
// cache, which notation-go's own trust store reader then reads; the
// repository is asked again once Refresh has passed.
func (p *Policy) notationTUF(ctx context.Context, n *Notation) (notation.VerifyOptions, error) {
	if p.Trust == nil || p.Trust.TUF == nil {
		return notation.VerifyOptions{}, fmt.Errorf("notation tuf:SET: the document declares no trust.tuf repository")
	}
	p.trust.tufMu.Lock()
	defer p.trust.tufMu.Unlock()
	st, err := p.tufState()
	if err != nil {
		return notation.VerifyOptions{}, err
	}
	if st.root == nil || time.Since(st.rootAt) >= st.refresh {
		r, err := st.src.Root(ctx)
		if err != nil {
			st.root = nil
			return notation.VerifyOptions{}, err
		}
		st.root, st.rootAt = r, time.Now()
	}
	dir := func(set string, need string) (string, error) {
		c := st.root.Notation[set]
		switch {
		case c == nil:
			return "", fmt.Errorf("tuf:%s: %w: no targets under %s%s/", set, trust.ErrNoTarget, trust.TargetNotationDir, set)
		case need == "policy" && c.TrustPolicy == nil:
			return "", fmt.Errorf("tuf:%s: %w: %s%s/trustpolicy.json", set, trust.ErrNoTarget, trust.TargetNotationDir, set)
		case need == "store" && len(c.Certificates) == 0:
			return "", fmt.Errorf("tuf:%s: %w: no certificates under %s%s/truststore/", set, trust.ErrNoTarget, trust.TargetNotationDir, set)
		}
		return notationDir(st.src.CacheDir, c)
	}
	policyPath, storeDir := p.file(n.TrustPolicy), p.file(n.TrustStore)
	if set, ok := strings.CutPrefix(n.TrustPolicy, TUFPrefix); ok {
		d, err := dir(set, "policy")
		if err != nil {
			return notation.VerifyOptions{}, err
		}
		policyPath = filepath.Join(d, "trustpolicy.json")
	}
	if set, ok := strings.CutPrefix(n.TrustStore, TUFPrefix); ok {
		if storeDir, err = dir(set, "store"); err != nil {
			return notation.VerifyOptions{}, err
		}
	}
	key := [2]string{policyPath, storeDir}
	if o, ok := st.notation[key]; ok {
		return o, nil
	}
	tp, err := notation.LoadPolicy(policyPath)
	if err != nil {
		return notation.VerifyOptions{}, err
	}
	ts, err := notation.OpenTrustStore(storeDir)
	if err != nil {
		return notation.VerifyOptions{}, err
	}
	o := notation.VerifyOptions{Policy: tp, TrustStore: ts}
	st.notation[key] = o
	return o, nil
}

// notationDir writes a notation set into cache/imagepolicy-notation/HASH
// (HASH of its content), once: a changed set gets a new folder.
func notationDir(cache string, c *trust.NotationConfig) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "trustpolicy.json\x00%d\x00", len(c.TrustPolicy))
	h.Write(c.TrustPolicy)
	names := make([]string, 0, len(c.Certificates))
	for n := range c.Certificates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(c.Certificates[n]))
		h.Write(c.Certificates[n])
	}
	base := filepath.Join(cache, "imagepolicy-notation")
	dir := filepath.Join(base, hex.EncodeToString(h.Sum(nil))[:32])
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(base, ".tmp-")
	if err != nil {
		return "", err
	}
	if err := c.WriteDir(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil {
			return dir, nil // another process wrote it first
		}
		return "", err
	}
	return dir, nil
}

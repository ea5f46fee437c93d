package bundle

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// Policy says what a bundle must prove. Set the identity fields for bundles
// signed with a Fulcio certificate ("keyless"), Keys for bundles signed with
// a long-lived key, and exactly one way of naming the artifact.
type Policy struct {
	// Identity is the exact certificate Subject Alternative Name (an
	// e-mail address or a workflow URI). IdentityRegexp is a regular
	// expression for it instead, matched against the whole name: it is
	// anchored as ^(?:IdentityRegexp)$, unlike sigstore-go and cosign,
	// so that alice@example\.com does not admit malice@example.com.evil.
	// One of them is required for keyless bundles.
	Identity       string
	IdentityRegexp string
	// Issuer is the exact OIDC issuer recorded in the certificate;
	// IssuerRegexp a regular expression for it, anchored the same way.
	// One is required for keyless bundles.
	Issuer       string
	IssuerRegexp string

	// Keys are the public keys trusted to have signed a keyed bundle. The
	// bundle's public-key hint is unauthenticated, so every key is tried.
	Keys []*keys.Key

	// Artifact is the signed artifact: for a message signature the signed
	// bytes, for a DSSE in-toto Statement one of its subjects. It is read
	// once, streaming, unless a keyed message signature needs the bytes.
	Artifact io.Reader
	// ArtifactDigest names the artifact by digest instead, as
	// "sha256:<hex>" (or sha384, sha512).
	ArtifactDigest string
	// SkipArtifact verifies the signature without binding it to an
	// artifact. Only for callers that check the DSSE payload's subject
	// themselves (as package image does for image digests).
	SkipArtifact bool

	// RequireTlog requires a transparency-log entry (inclusion proof and
	// checkpoint, or a Rekor v1 promise) by a log of the trusted root,
	// also for keyed bundles (keyless bundles always need one).
	// RequireTimestamp requires an RFC 3161 timestamp by a timestamp
	// authority of the trusted root. Both need a trusted root.
	RequireTlog      bool
	RequireTimestamp bool
}

// Result is what a successful verification established.
type Result struct {
	// MediaType is the bundle's media type (its version).
	MediaType string
	// Content is ContentDSSE or ContentMessageSignature.
	Content string
	// Envelope is the verified DSSE envelope (nil for a message
	// signature). Its payload and payloadType are exactly the signed bytes.
	// For a keyed bundle its signature's keyid is the matched Key's.
	Envelope *envelope.Envelope
	// Identity and Issuer are the certificate's SAN and OIDC issuer, for
	// keyless bundles.
	Identity, Issuer string
	// Key is the trusted key that verified a keyed bundle.
	Key *keys.Key
	// Timestamps are the verified observer timestamps (transparency log
	// integrated times and RFC 3161 timestamps).
	Timestamps []Timestamp
	// TlogEntries is the number of transparency-log entries the bundle
	// carries; when the trusted root was given, at least one of them was
	// verified (a Rekor v2 entry gives no time of its own).
	TlogEntries int
	// Tlog are the entries that were verified: those by a log of the
	// trusted root (sigstore-go checks every such entry and skips the
	// others). Empty without a trusted root.
	Tlog []LogEntry
}

// LogEntry is a transparency-log entry that verified: its inclusion proof
// against a checkpoint signed by a log of the trusted root (or, for Rekor
// v1, its signed promise).
type LogEntry struct {
	// Log is the log's base URL in the trusted root; LogID its key id
	// (hex), as sigstore-go and the trusted root's logId name it.
	Log   string `json:"log"`
	LogID string `json:"logId"`
	// Index is the entry's log index.
	Index int64 `json:"logIndex"`
	// Kind and Version are the entry type ("hashedrekord", "0.0.2").
	Kind    string `json:"kind,omitempty"`
	Version string `json:"version,omitempty"`
	// IntegratedTime is a Rekor v1 entry's signed time (zero for Rekor
	// v2, whose entries carry none).
	IntegratedTime time.Time `json:"integratedTime,omitzero"`
}

// Equal reports whether t and u are the same time from the same source.
func (t Timestamp) Equal(u Timestamp) bool {
	return t.Kind == u.Kind && t.URI == u.URI && t.Time.Equal(u.Time)
}

// Timestamp is one verified time for the signature.
type Timestamp struct {
	// Kind is "Tlog" or "TimestampAuthority".
	Kind string    `json:"kind"`
	URI  string    `json:"uri,omitempty"`
	Time time.Time `json:"time"`
}

// Verify checks bundleJSON offline. trustedRootJSON is a Sigstore
// trusted_root.json; it may be nil for a keyed bundle, whose log entries are
// then not checked (the signature still is).
//
// The checks follow the Sigstore client specification as sigstore-go
// implements it, and are chosen from what the bundle carries:
//
//   - keyless (certificate) bundles: at least one transparency-log entry
//     with a valid inclusion proof or promise, at least one verified
//     observer timestamp (log integrated time or RFC 3161), an RFC 3161
//     timestamp that verifies when the bundle carries any, the certificate must chain to a
//     Fulcio CA of the trusted root at that time, SCTs are required when
//     the trusted root lists CT logs, and the identity and issuer must match;
//   - keyed bundles: the signature by one of Policy.Keys; with a trusted
//     root, also every log entry and timestamp the bundle carries.
//
// A DSSE payload must have payloadType application/vnd.in-toto+json (a
// Statement, link or layout): sigstore-go v1.3.0 rejects other types.
func Verify(ctx context.Context, bundleJSON, trustedRootJSON []byte, p Policy) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := parse(bundleJSON)
	if err != nil {
		return nil, err
	}
	var tr *root.TrustedRoot
	if len(trustedRootJSON) > 0 {
		tr, err = root.NewTrustedRootFromJSON(trustedRootJSON)
		if err != nil {
			return nil, fmt.Errorf("%w: trusted root: %v", ErrPolicy, err)
		}
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidBundle, err)
	}
	keyed := vc.PublicKey() != nil
	entries, err := b.TlogEntries()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidBundle, err)
	}
	stamps, err := b.Timestamps()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidBundle, err)
	}
	if err := checkRequirements(tr, entries, len(stamps), p); err != nil {
		return nil, err
	}

	var material root.TrustedMaterial
	var mk *multiKey
	var policyOpts []verify.PolicyOption
	if keyed {
		if len(p.Keys) == 0 {
			return nil, fmt.Errorf("%w: the bundle is signed with a key (hint %q) but no trusted key was given", ErrVerification, vc.PublicKey().Hint())
		}
		ks := p.Keys
		if tr != nil && len(entries) > 0 {
			// sigstore-go rebuilds a Rekor v2 entry from the bundle
			// with the key the hint names, before the signature is
			// checked: a logged bundle must name its key.
			if ks, err = keysForHint(p.Keys, vc.PublicKey().Hint()); err != nil {
				return nil, err
			}
		}
		mk = newMultiKey(ks)
		km := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return mk, nil })
		if tr != nil {
			material = root.TrustedMaterialCollection{km, tr}
		} else {
			material = km
		}
		policyOpts = append(policyOpts, verify.WithKey())
	} else {
		if tr == nil {
			return nil, fmt.Errorf("%w: the bundle is signed with a certificate; a trusted root is required", ErrPolicy)
		}
		id, err := certificateIdentity(p)
		if err != nil {
			return nil, err
		}
		material = tr
		policyOpts = append(policyOpts, verify.WithCertificateIdentity(id))
	}

	opts := verifierOptions(tr, keyed, entries, len(stamps), p)
	v, err := verify.NewVerifier(material, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	artifact, err := artifactOption(p)
	if err != nil {
		return nil, err
	}
	if err := checkMessageDigest(b, p.ArtifactDigest); err != nil {
		return nil, err
	}
	res, err := v.Verify(b, verify.NewPolicy(artifact, policyOpts...))
	if err != nil {
		if mk != nil && mk.matched() == nil && mk.tried() {
			return nil, fmt.Errorf("%w: signed by no trusted key (hint %q, %d key(s) tried): %w", ErrVerification, vc.PublicKey().Hint(), len(p.Keys), err)
		}
		// %w: callers may branch on sigstore-go's typed errors (for
		// example *verify.ErrValueRegexMismatch for an identity).
		return nil, classify(err)
	}
	out, err := result(b, res, mk)
	if err != nil {
		return nil, err
	}
	if tr != nil {
		out.Tlog = verifiedEntries(tr, entries)
	}
	return out, nil
}

// verifiedEntries lists the entries by a log of tr. With a trusted root
// and entries, sigstore-go verified every one of them (and failed the
// bundle if one did not verify) and skipped the rest (and Rekor v1
// entries whose promise does not verify); checkRequirements
// made sure there is at least one.
func verifiedEntries(tr *root.TrustedRoot, entries []*tlog.Entry) []LogEntry {
	logs := tr.RekorLogs()
	var out []LogEntry
	for _, e := range entries {
		id := hex.EncodeToString([]byte(e.LogKeyID()))
		l, ok := logs[id]
		if !ok {
			continue
		}
		if e.HasInclusionPromise() && tlog.VerifySET(e, logs) != nil {
			// sigstore-go skips a Rekor v1 entry whose promise does
			// not verify.
			continue
		}
		le := LogEntry{Log: l.BaseURL, LogID: id, Index: e.LogIndex()}
		if kv := e.TransparencyLogEntry().GetKindVersion(); kv != nil {
			le.Kind, le.Version = kv.GetKind(), kv.GetVersion()
		}
		if e.HasInclusionPromise() {
			le.IntegratedTime = e.IntegratedTime()
		}
		out = append(out, le)
	}
	return out
}

// verifierOptions picks the sigstore-go checks from what the bundle holds
// and what the policy requires (see Verify).
func verifierOptions(tr *root.TrustedRoot, keyed bool, entries []*tlog.Entry, stamps int, p Policy) []verify.VerifierOption {
	// toto reads the verified payload itself: sigstore-go need not decode
	// the predicate, and a DSSE payload that is an in-toto link or layout
	// rather than a Statement must not be rejected for it.
	opts := []verify.VerifierOption{verify.WithoutStatementPredicate()}
	if keyed && tr == nil {
		// Without a trusted root, log entries and timestamps cannot be
		// checked and are ignored (checkRequirements refused a policy
		// that requires them).
		return append(opts, verify.WithNoObserverTimestamps())
	}
	if !keyed || len(entries) > 0 || p.RequireTlog {
		// Keyless signatures must be logged; a keyed bundle's entries,
		// when present, must be valid.
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	timed := false
	if stamps > 0 || p.RequireTimestamp {
		// A bundle that carries RFC 3161 timestamps must have one that
		// verifies; otherwise a log entry alone would satisfy the
		// observer-timestamp threshold and a forged timestamp would go
		// unnoticed.
		opts = append(opts, verify.WithSignedTimestamps(1))
		timed = true
	}
	if !keyed || integratedTime(entries) {
		// A certificate needs a time (a Rekor v1 integrated time or an
		// RFC 3161 timestamp; a Rekor v2 entry has none). A long-lived
		// key does not, but a Rekor v1 promise's time is reported.
		opts = append(opts, verify.WithObserverTimestamps(1))
		timed = true
	}
	if !timed {
		// A keyed bundle with only a Rekor v2 entry: the entry is
		// checked, no time is established.
		opts = append(opts, verify.WithNoObserverTimestamps())
	}
	if !keyed && len(tr.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	return opts
}

// integratedTime reports whether an entry carries a signed integrated
// time (a Rekor v1 inclusion promise).
func integratedTime(entries []*tlog.Entry) bool {
	for _, e := range entries {
		if e.HasInclusionPromise() && !e.IntegratedTime().IsZero() {
			return true
		}
	}
	return false
}

// CheckPolicy reports, wrapping ErrPolicy, a policy no bundle can meet
// with trustedRootJSON: a log entry or timestamp required without a
// trusted root to check it against. Callers that verify many bundles
// (package attestation, package image) call it once, before the first.
func CheckPolicy(trustedRootJSON []byte, p Policy) error {
	if len(trustedRootJSON) == 0 && (p.RequireTlog || p.RequireTimestamp) {
		return fmt.Errorf("%w: requiring a transparency-log entry or a timestamp needs a trusted root that lists the log and timestamp authority", ErrPolicy)
	}
	return nil
}

// checkRequirements refuses early, with a reason, a bundle that lacks a
// log entry or timestamp the policy requires, or whose log entries are
// all by logs the trusted root does not list (sigstore-go skips those and
// reports only a count).
func checkRequirements(tr *root.TrustedRoot, entries []*tlog.Entry, stamps int, p Policy) error {
	if tr == nil {
		return CheckPolicy(nil, p)
	}
	if p.RequireTlog && len(entries) == 0 {
		return fmt.Errorf("%w: %w: the bundle has no transparency-log entry, and one is required", ErrVerification, ErrTransparencyLog)
	}
	if p.RequireTimestamp && stamps == 0 {
		return fmt.Errorf("%w: %w: the bundle has no RFC 3161 timestamp, and one is required", ErrVerification, ErrTimestamp)
	}
	if len(entries) == 0 {
		return nil
	}
	for i, e := range entries {
		if err := proofMatchesCheckpoint(e); err != nil {
			return fmt.Errorf("%w: %w: log entry %d: %w", ErrVerification, ErrTransparencyLog, i, err)
		}
	}
	logs := tr.RekorLogs()
	var unknown []string
	for _, e := range entries {
		id := hex.EncodeToString([]byte(e.LogKeyID()))
		if _, ok := logs[id]; ok {
			return nil
		}
		unknown = append(unknown, id)
	}
	return fmt.Errorf("%w: %w: no entry is by a log of the trusted root: the checkpoint key (log id %s) is not one it lists", ErrVerification, ErrTransparencyLog, strings.Join(unknown, ", "))
}

// proofMatchesCheckpoint checks that an inclusion proof's tree size and
// root hash are the ones its checkpoint signs. sigstore-go verifies the
// proof against the checkpoint's root and ignores the copy beside it; a
// bundle where they differ has been edited.
func proofMatchesCheckpoint(e *tlog.Entry) error {
	p := e.TransparencyLogEntry().GetInclusionProof()
	cp := p.GetCheckpoint().GetEnvelope()
	if cp == "" {
		return nil
	}
	lines := strings.SplitN(cp, "\n", 4)
	if len(lines) < 4 {
		return errors.New("the checkpoint is not a signed note (origin, size, root hash)")
	}
	if lines[1] != strconv.FormatInt(p.GetTreeSize(), 10) {
		return fmt.Errorf("the inclusion proof's tree size %d is not the checkpoint's (%s)", p.GetTreeSize(), lines[1])
	}
	if lines[2] != base64.StdEncoding.EncodeToString(p.GetRootHash()) {
		return errors.New("the inclusion proof's root hash is not the checkpoint's")
	}
	return nil
}

// keysForHint narrows the trusted keys to the one a logged keyed bundle
// names by its hint (the SHA-256 of the key's DER, base64, as Sigstore
// clients write it). With one trusted key and no hint, that key.
func keysForHint(ks []*keys.Key, hint string) ([]*keys.Key, error) {
	for _, k := range ks {
		if k.SigstoreHint() == hint {
			return []*keys.Key{k}, nil
		}
	}
	if len(ks) == 1 && hint == "" {
		return ks, nil
	}
	return nil, fmt.Errorf("%w: the bundle is logged and names its key by hint %q, which is none of the %d trusted key(s)", ErrVerification, hint, len(ks))
}

// classify names which check of sigstore-go's failed, by the step its
// error starts with (sigstore-go v1.3.0 wraps each step's error so), so
// that callers may branch on ErrTransparencyLog and ErrTimestamp.
func classify(err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "failed to verify log inclusion"):
		return fmt.Errorf("%w: %w: %w", ErrVerification, ErrTransparencyLog, err)
	case strings.HasPrefix(msg, "failed to verify timestamps"):
		return fmt.Errorf("%w: %w: %w", ErrVerification, ErrTimestamp, err)
	case strings.HasPrefix(msg, "failed to verify leaf certificate"):
		return fmt.Errorf("%w: %w: the certificate does not chain to a certificate authority of the trusted root at the time the timestamp authority or log proves (not yet valid or expired then, or another CA): %w", ErrVerification, ErrCertificate, err)
	}
	return fmt.Errorf("%w: %w", ErrVerification, err)
}

func certificateIdentity(p Policy) (verify.CertificateIdentity, error) {
	if p.Identity == "" && p.IdentityRegexp == "" {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: keyless bundle: an identity (exact or regexp) is required", ErrPolicy)
	}
	if p.Issuer == "" && p.IssuerRegexp == "" {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: keyless bundle: an OIDC issuer (exact or regexp) is required", ErrPolicy)
	}
	issRe, err := anchor(p.IssuerRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: issuer regexp: %v", ErrPolicy, err)
	}
	idRe, err := anchor(p.IdentityRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: identity regexp: %v", ErrPolicy, err)
	}
	id, err := verify.NewShortCertificateIdentity(p.Issuer, issRe, p.Identity, idRe)
	if err != nil {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	return id, nil
}

// anchor makes a policy regexp match the whole value. sigstore-go (like
// Go's regexp) matches anywhere in the string, so a pattern that merely
// occurs in an attacker's identity would admit it. The group keeps an
// alternation (a|b) inside the anchors; an already anchored pattern is
// unaffected. re is compiled alone first: "a)|(b" is invalid, but once
// wrapped it would compile to an unanchored alternation.
func anchor(re string) (string, error) {
	if re == "" {
		return "", nil
	}
	if _, err := regexp.Compile(re); err != nil {
		return "", err
	}
	return "^(?:" + re + ")$", nil
}

func artifactOption(p Policy) (verify.ArtifactPolicyOption, error) {
	n := 0
	for _, set := range []bool{p.Artifact != nil, p.ArtifactDigest != "", p.SkipArtifact} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: give exactly one of an artifact, an artifact digest, or SkipArtifact", ErrPolicy)
	}
	switch {
	case p.Artifact != nil:
		return verify.WithArtifact(p.Artifact), nil
	case p.ArtifactDigest != "":
		alg, hexd, ok := strings.Cut(p.ArtifactDigest, ":")
		raw, err := hex.DecodeString(hexd)
		if !ok || err != nil || len(raw) == 0 {
			return nil, fmt.Errorf("%w: artifact digest %q: want ALGORITHM:HEX", ErrPolicy, p.ArtifactDigest)
		}
		return verify.WithArtifactDigest(strings.ToLower(alg), raw), nil
	}
	return verify.WithoutArtifactUnsafe(), nil
}

// checkMessageDigest compares the artifact digest a caller names with the
// digest a message-signature bundle says it signs, so that the wrong
// artifact is reported as such, not as a bad signature. (The bundle's
// digest is only a claim: the signature is still checked over the
// caller's digest.)
func checkMessageDigest(b *sgbundle.Bundle, artifactDigest string) error {
	ms := b.GetMessageSignature()
	if ms == nil || artifactDigest == "" {
		return nil
	}
	md := ms.GetMessageDigest()
	if md == nil {
		return fmt.Errorf("%w: message signature without a message digest", ErrInvalidBundle)
	}
	alg, hexd, _ := strings.Cut(artifactDigest, ":")
	alg = strings.ToLower(alg)
	have := hashName(md.GetAlgorithm())
	got := alg + ":" + strings.ToLower(hexd)
	signed := have + ":" + hex.EncodeToString(md.GetDigest())
	if got != signed {
		return fmt.Errorf("%w: %w: the artifact digest %s is not the digest the bundle signs (%s)", ErrVerification, ErrArtifactMismatch, got, signed)
	}
	return nil
}

// hashName is the lower-case name (as in "sha256:<hex>") of a Sigstore
// hash algorithm.
func hashName(h protocommon.HashAlgorithm) string {
	switch h {
	case protocommon.HashAlgorithm_SHA2_256:
		return "sha256"
	case protocommon.HashAlgorithm_SHA2_384:
		return "sha384"
	case protocommon.HashAlgorithm_SHA2_512:
		return "sha512"
	case protocommon.HashAlgorithm_SHA3_256:
		return "sha3-256"
	case protocommon.HashAlgorithm_SHA3_384:
		return "sha3-384"
	}
	return strings.ToLower(h.String())
}

func result(b *sgbundle.Bundle, res *verify.VerificationResult, mk *multiKey) (*Result, error) {
	out := &Result{MediaType: b.GetMediaType(), Content: ContentMessageSignature}
	if b.GetDsseEnvelope() != nil {
		out.Content = ContentDSSE
		env, err := toEnvelope(b)
		if err != nil {
			return nil, err
		}
		out.Envelope = env
	}
	if res.Signature != nil && res.Signature.Certificate != nil {
		out.Identity = res.Signature.Certificate.SubjectAlternativeName
		out.Issuer = res.Signature.Certificate.Issuer
	}
	if mk != nil {
		out.Key = mk.matched()
		if out.Key == nil {
			return nil, fmt.Errorf("%w: no trusted key verified the signature", ErrVerification)
		}
		if out.Envelope != nil {
			// Sigstore leaves the DSSE keyid empty; name the key that
			// verified, so the envelope reads like any toto envelope
			// (envelope.Verify, signer keyids for thresholds).
			for i := range out.Envelope.Signatures {
				out.Envelope.Signatures[i].KeyID = out.Key.ID()
			}
		}
	}
	for _, ts := range res.VerifiedTimestamps {
		t := Timestamp{Kind: ts.Type, URI: ts.URI, Time: ts.Timestamp}
		// sigstore-go lists an RFC 3161 timestamp once per check that
		// asked for it.
		if !slices.ContainsFunc(out.Timestamps, t.Equal) {
			out.Timestamps = append(out.Timestamps, t)
		}
	}
	out.TlogEntries = len(b.GetVerificationMaterial().GetTlogEntries())
	return out, nil
}

// VerifyEnvelope verifies a keyed bundle with one toto key, offline and
// without a transparency log, and returns the DSSE envelope inside with its
// signature checked. This is how a layout step's link or an attestation
// may be delivered as a bundle: the caller treats the returned envelope's
// payload exactly as the payload of a verified DSSE envelope.
//
// Sigstore signers leave the DSSE signature's keyid empty; in the returned
// envelope it is set to k's keyid, the key that verified it, so the
// envelope behaves like any toto DSSE envelope signed by k (SignerIDs
// names k; Verify(k) succeeds, or for an RSA key Verify(k.ForSigstore()),
// since a bundle's RSA signature over a statement is PKCS#1 v1.5).
func VerifyEnvelope(ctx context.Context, bundleJSON []byte, k *keys.Key) (*envelope.Envelope, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: no key", ErrPolicy)
	}
	res, err := Verify(ctx, bundleJSON, nil, Policy{Keys: []*keys.Key{k}, SkipArtifact: true})
	if err != nil {
		return nil, err
	}
	if res.Envelope == nil {
		return nil, fmt.Errorf("%w: %w", ErrVerification, ErrMessageSignature)
	}
	return res.Envelope, nil
}

// multiKey is a sigstore signature verifier that accepts a signature made by
// any of a set of toto keys, using toto's own signature code, and
// remembers which key matched. An RSA key is tried as Sigstore uses it
// (PKCS#1 v1.5, what cosign and toto's Create write) and then with its
// own scheme (RSA-PSS: links and layouts in bundles, and the bundles toto
// wrote before it signed RSA as Sigstore does); the key reported is the
// caller's, with its own keyid.
type multiKey struct {
	keys   []*keys.Key
	mu     sync.Mutex
	hit    *keys.Key
	called bool
}

func newMultiKey(ks []*keys.Key) *multiKey { return &multiKey{keys: ks} }

func (m *multiKey) matched() *keys.Key {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hit
}

// tried reports whether sigstore-go asked for a signature check at all (it
// refuses some bundles before, for example a message digest that is not
// the artifact's).
func (m *multiKey) tried() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.called
}

func (m *multiKey) match(k *keys.Key) {
	m.mu.Lock()
	m.hit = k
	m.mu.Unlock()
}

// schemes returns the ways k is tried (see multiKey).
func schemes(k *keys.Key) []*keys.Key {
	if s := k.ForSigstore(); s != k {
		return []*keys.Key{s, k}
	}
	return []*keys.Key{k}
}

// maxSignatureSize bounds a signature read: RSA-8192 is 1 KiB.
const maxSignatureSize = 16 << 10

// maxMessageSize bounds a message signature's artifact held in memory for
// keyed verification.
const maxMessageSize = 1 << 30

// digestHash names the hash of a digest sigstore-go hands over
// (options.WithDigest) by its length, the only thing it passes.
func digestHash(d []byte) crypto.Hash {
	switch len(d) {
	case crypto.SHA256.Size():
		return crypto.SHA256
	case crypto.SHA384.Size():
		return crypto.SHA384
	case crypto.SHA512.Size():
		return crypto.SHA512
	}
	return 0
}

func (m *multiKey) VerifySignature(sig, message io.Reader, opts ...signature.VerifyOption) error {
	m.mu.Lock()
	m.called = true
	m.mu.Unlock()
	s, err := io.ReadAll(io.LimitReader(sig, maxSignatureSize+1))
	if err != nil {
		return err
	}
	if len(s) > maxSignatureSize {
		// Cut short it would only fail to verify, saying nothing of why.
		return fmt.Errorf("signature larger than %d bytes", maxSignatureSize)
	}
	// A message signature verified with an artifact digest comes with
	// the digest as an option and an empty message.
	var digest []byte
	for _, o := range opts {
		o.ApplyDigest(&digest)
	}
	if digest != nil {
		return m.verifyDigest(digest, s)
	}
	if message == nil {
		return errors.New("keyed verification needs the signed bytes or their digest")
	}
	msg, err := io.ReadAll(io.LimitReader(message, maxMessageSize+1))
	if err != nil {
		return err
	}
	if len(msg) > maxMessageSize {
		return fmt.Errorf("signed message larger than %d bytes", maxMessageSize)
	}
	for _, k := range m.keys {
		for _, v := range schemes(k) {
			if v.Verify(msg, s) == nil {
				m.match(k)
				return nil
			}
		}
	}
	return errors.New("signature does not verify with any trusted key")
}

func (m *multiKey) verifyDigest(digest, sig []byte) error {
	h := digestHash(digest)
	var unsupported []error
	for _, k := range m.keys {
		for _, v := range schemes(k) {
			err := v.VerifyDigest(h, digest, sig)
			if err == nil {
				m.match(k)
				return nil
			}
			if errors.Is(err, keys.ErrDigestUnsupported) {
				unsupported = append(unsupported, fmt.Errorf("key %s: %w", keys.ShortID(k.ID()), err))
				break
			}
		}
	}
	if len(unsupported) == len(m.keys) {
		return errors.Join(unsupported...)
	}
	return errors.New("signature over the artifact digest does not verify with any trusted key")
}

func (m *multiKey) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return m.keys[0].CryptoPublicKey(), nil
}

// ValidAtTime: toto keys carry no validity window; layouts expire instead.
func (m *multiKey) ValidAtTime(time.Time) bool { return true }

// Package attestation verifies signed in-toto Statements. It is the one
// path every caller in toto takes — the verifier's attestations about a
// chain's final products, the SBOM policy, the attestations and
// signatures attached to container images: an envelope, the trusted
// material, and optionally the subject digests the statement must be
// about go in; a verified Statement, or a typed *Error saying which check
// failed, comes out.
//
// The checks, in order: a valid signature by a trusted key over the exact
// signed bytes (for a Sigstore bundle, by sigstore-go against the keys or
// a trusted root and certificate identity, with its log entries and
// timestamps); the in-toto payloadType; an in-toto Statement (v1; the v0.1
// that cosign writes is for the Sigstore interop work); a subject whose
// digest is one of those expected. A Verifier does no I/O and may be used
// concurrently.
package attestation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// Stage names the check an attestation failed.
type Stage string

// The stages, in the order they are checked.
const (
	StageSignature   Stage = "signature"
	StagePayloadType Stage = "payloadType"
	StageStatement   Stage = "statement"
	StageSubject     Stage = "subject"
)

// Error is a failed check. Callers branch on Stage (errors.As) to word
// the failure in their own report.
type Error struct {
	Stage Stage
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrNoSubject is the Err of a StageSubject failure.
var ErrNoSubject = errors.New("no subject has an expected digest")

// TrustedKey is a key trusted to sign, under the keyid reports name it by
// (a layout lists its keys under keyids of its own choosing).
type TrustedKey struct {
	ID  string
	Key *keys.Key
}

// Options are the trusted material.
type Options struct {
	// Keys are trusted to sign. Every one is tried: Verified.Signers names
	// all that made a valid signature.
	Keys []TrustedKey
	// SigstoreTrustedRoot is a Sigstore trusted_root.json. With it,
	// keyless bundles are accepted when their certificate matches the
	// identity and issuer below, and a keyed bundle's log entries and
	// timestamps must verify.
	SigstoreTrustedRoot []byte
	// Identity/IdentityRegexp and Issuer/IssuerRegexp: the certificate
	// identity a keyless bundle must have (see bundle.Policy).
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
	// RequireTlog and RequireTimestamp make a transparency-log entry and
	// an RFC 3161 timestamp, verified against a log and a timestamp
	// authority of SigstoreTrustedRoot, mandatory (bundle.Policy's
	// fields of the same names). Only Sigstore bundles carry them: a
	// plain envelope then fails with bundle.ErrTransparencyLog or
	// bundle.ErrTimestamp. Both need SigstoreTrustedRoot (Check).
	RequireTlog, RequireTimestamp bool
}

// Check reports, wrapping bundle.ErrPolicy, options no attestation can
// pass: a log entry or timestamp required without a trusted root.
func (o Options) Check() error {
	return bundle.CheckPolicy(o.SigstoreTrustedRoot, bundle.Policy{RequireTlog: o.RequireTlog, RequireTimestamp: o.RequireTimestamp})
}

// Verifier verifies attestations against fixed trusted material.
type Verifier struct{ opts Options }

// NewVerifier returns a Verifier for the trusted material.
func NewVerifier(opts Options) *Verifier { return &Verifier{opts: opts} }

// Keys makes TrustedKeys named by their own keyids.
func Keys(ks ...*keys.Key) []TrustedKey {
	out := make([]TrustedKey, len(ks))
	for i, k := range ks {
		out[i] = TrustedKey{ID: k.ID(), Key: k}
	}
	return out
}

// Verified is an attestation that passed.
type Verified struct {
	Statement *statement.Statement
	// Signers are the IDs of the trusted keys that signed it.
	Signers []string
	// Key is the first trusted key that signed it (nil for a keyless
	// bundle); Identity and Issuer the certificate's, for a keyless bundle.
	Key              *keys.Key
	Identity, Issuer string
	// Subjects are the indexes of the expected digests that a subject of
	// the statement matched.
	Subjects []int
	// Tlog are the bundle's transparency-log entries that verified
	// against a log of the trusted root; Timestamps the verified times
	// (RFC 3161 timestamps, Rekor v1 integrated times). Empty for a plain
	// envelope or without a trusted root.
	Tlog       []bundle.LogEntry
	Timestamps []bundle.Timestamp
}

// Verify checks env. When subjects are given, the statement must have a
// subject matching at least one of them; on that failure alone the
// Verified value is returned beside the *Error, so that a report can still
// say what the statement was.
func (v *Verifier) Verify(ctx context.Context, env *envelope.Envelope, subjects ...link.DigestSet) (*Verified, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if env == nil {
		return nil, &Error{Stage: StageStatement, Err: errors.New("no envelope")}
	}
	out := &Verified{}
	payload := env.Payload()
	if env.Format == bundle.Format && env.Raw() != nil {
		if err := v.verifyBundle(ctx, env, out); err != nil {
			return nil, err
		}
	} else if err := v.verifySignatures(env, out); err != nil {
		return nil, err
	} else if err := v.unlogged(); err != nil {
		return nil, err
	}
	if err := env.CheckInToto(); err != nil {
		return nil, &Error{Stage: StagePayloadType, Err: err}
	}
	st, err := statement.Parse(payload)
	if err != nil {
		return nil, &Error{Stage: StageStatement, Err: err}
	}
	out.Statement = st
	if len(subjects) == 0 {
		return out, nil
	}
	for i, d := range subjects {
		if st.Matches(d) {
			out.Subjects = append(out.Subjects, i)
		}
	}
	if len(out.Subjects) == 0 {
		return out, &Error{Stage: StageSubject, Err: ErrNoSubject}
	}
	return out, nil
}

func (v *Verifier) verifySignatures(env *envelope.Envelope, out *Verified) error {
	if len(v.opts.Keys) == 0 {
		return &Error{Stage: StageSignature, Err: errors.New("no trusted keys to check the signature with")}
	}
	var errs []error
	for _, tk := range v.opts.Keys {
		if err := env.Verify(tk.Key); err != nil {
			errs = append(errs, err)
			continue
		}
		if out.Key == nil {
			out.Key = tk.Key
		}
		out.Signers = append(out.Signers, tk.ID)
	}
	if len(out.Signers) == 0 {
		ids := env.SignerIDs()
		short := make([]string, len(ids))
		for i, id := range ids {
			short[i] = keys.ShortID(id)
		}
		if len(short) == 0 {
			short = []string{"nobody"}
		}
		return &Error{Stage: StageSignature, Err: fmt.Errorf("not signed by an authorised key (signed by %s): %w", strings.Join(short, ", "), errors.Join(errs...))}
	}
	return nil
}

// unlogged is the failure of an envelope that is not a Sigstore bundle,
// and so carries no log entry or timestamp, when one is required.
func (v *Verifier) unlogged() error {
	if err := v.opts.Check(); err != nil {
		return err
	}
	switch {
	case v.opts.RequireTlog:
		return &Error{Stage: StageSignature, Err: fmt.Errorf("%w: not a Sigstore bundle, so no transparency-log entry, and one is required", bundle.ErrTransparencyLog)}
	case v.opts.RequireTimestamp:
		return &Error{Stage: StageSignature, Err: fmt.Errorf("%w: not a Sigstore bundle, so no RFC 3161 timestamp, and one is required", bundle.ErrTimestamp)}
	}
	return nil
}

// verifyBundle hands a Sigstore bundle to sigstore-go (package bundle),
// which checks its signature with the trusted keys or its certificate
// against the trusted root, and its log entries and timestamps.
func (v *Verifier) verifyBundle(ctx context.Context, env *envelope.Envelope, out *Verified) error {
	ks := make([]*keys.Key, len(v.opts.Keys))
	for i, tk := range v.opts.Keys {
		ks[i] = tk.Key
	}
	res, err := bundle.Verify(ctx, env.Raw(), v.opts.SigstoreTrustedRoot, bundle.Policy{
		Keys:           ks,
		Identity:       v.opts.Identity,
		IdentityRegexp: v.opts.IdentityRegexp,
		Issuer:         v.opts.Issuer,
		IssuerRegexp:   v.opts.IssuerRegexp,
		// The subject is checked by Verify, with every algorithm the
		// statement and the expected digests share.
		SkipArtifact:     true,
		RequireTlog:      v.opts.RequireTlog,
		RequireTimestamp: v.opts.RequireTimestamp,
	})
	if err != nil {
		if errors.Is(err, bundle.ErrPolicy) {
			return err
		}
		return &Error{Stage: StageSignature, Err: err}
	}
	out.Identity, out.Issuer = res.Identity, res.Issuer
	out.Tlog, out.Timestamps = res.Tlog, res.Timestamps
	if res.Key != nil {
		out.Key = res.Key
		for _, tk := range v.opts.Keys {
			if tk.Key.SamePublic(res.Key) {
				out.Signers = append(out.Signers, tk.ID)
			}
		}
	}
	return nil
}

// Sign encodes st and signs it into a DSSE envelope (payloadType
// application/vnd.in-toto+json), the form Verify takes back.
func Sign(ctx context.Context, st *statement.Statement, s keys.Signer) (*envelope.Envelope, error) {
	payload, err := st.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("attestation: %w", err)
	}
	env, err := envelope.New(envelope.DSSE, envelope.PayloadTypeInToto, payload)
	if err != nil {
		return nil, fmt.Errorf("attestation: %w", err)
	}
	if err := env.Sign(ctx, s); err != nil {
		return nil, fmt.Errorf("attestation: sign: %w", err)
	}
	return env, nil
}

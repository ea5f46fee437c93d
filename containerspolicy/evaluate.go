package containerspolicy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/simplesigning"
)

// Errors a requirement or signature fails with (besides simplesigning's
// ErrUnknownKey, ErrExpiredKey, ErrBadSignature, ErrCorrupt, ErrPayload
// and ErrDigestMismatch for a signature that does not verify).
var (
	// ErrRejected: a "reject" requirement applies.
	ErrRejected = errors.New("rejected by policy")
	// ErrNoSignature: a signature was required and there is none.
	ErrNoSignature = errors.New("a signature was required, but no signature exists")
	// ErrIdentityMismatch: the signature names an identity the
	// requirement's signedIdentity does not accept.
	ErrIdentityMismatch = errors.New("signed identity not accepted")
	// ErrKeys: the requirement's keys could not be loaded.
	ErrKeys = errors.New("policy keys")
	// ErrNotImplemented: a requirement containers/image does not
	// evaluate either (keyTypes other than GPGKeys), or one toto does not
	// evaluate yet (parts of sigstoreSigned). signedBaseLayer, which
	// containers/image does not evaluate, toto does (evalBaseLayer).
	ErrNotImplemented = errors.New("not implemented")
)

// Keys are the keyrings of a policy's signedBy requirements and the public
// keys of its sigstoreSigned requirements, read once so that Evaluate does
// no I/O.
type Keys struct {
	rings    map[*SignedBy]keyring
	sigstore map[*SigstoreSigned]sigstoreKeys
}

type sigstoreKeys struct {
	keys []*keys.Key
	err  error
}

type keyring struct {
	entities openpgp.EntityList
	err      error
}

// LoadKeys reads the keys of every signedBy requirement: keyPath and
// keyPaths through read (os.ReadFile when nil; relative paths are as
// given, as containers/image uses them), keyData as is. A requirement
// whose keys fail to load fails evaluation with ErrKeys; the others are
// unaffected, as in containers/image.
func (p *Policy) LoadKeys(read func(path string) ([]byte, error)) *Keys {
	if read == nil {
		read = os.ReadFile
	}
	k := &Keys{rings: map[*SignedBy]keyring{}, sigstore: map[*SigstoreSigned]sigstoreKeys{}}
	visit := func(reqs Requirements) {
		for _, r := range reqs {
			switch r := r.(type) {
			case *SignedBy:
				k.rings[r] = loadRing(r, read)
			case *SigstoreSigned:
				k.sigstore[r] = loadSigstoreKeys(r, read)
			}
		}
	}
	visit(p.Default)
	for _, scopes := range p.Transports {
		for _, reqs := range scopes {
			visit(reqs)
		}
	}
	return k
}

func loadRing(sb *SignedBy, read func(string) ([]byte, error)) keyring {
	var blobs [][]byte
	switch {
	case sb.KeyPath != "":
		b, err := read(sb.KeyPath)
		if err != nil {
			return keyring{err: fmt.Errorf("%w: %w", ErrKeys, err)}
		}
		blobs = append(blobs, b)
	case sb.KeyPaths != nil:
		for _, p := range sb.KeyPaths {
			b, err := read(p)
			if err != nil {
				return keyring{err: fmt.Errorf("%w: %w", ErrKeys, err)}
			}
			blobs = append(blobs, b)
		}
	default:
		blobs = append(blobs, sb.KeyData)
	}
	var all openpgp.EntityList
	for _, b := range blobs {
		el, err := simplesigning.ReadKeyring(b)
		if err != nil {
			return keyring{err: fmt.Errorf("%w: %w", ErrKeys, err)}
		}
		all = append(all, el...)
	}
	if len(all) == 0 {
		return keyring{err: fmt.Errorf("%w: no public keys imported", ErrKeys)}
	}
	return keyring{entities: all}
}

// loadSigstoreKeys reads a sigstoreSigned requirement's public keys (PEM,
// as cosign writes them): keyPath, keyPaths, keyData or keyDatas.
func loadSigstoreKeys(s *SigstoreSigned, read func(string) ([]byte, error)) sigstoreKeys {
	var blobs [][]byte
	switch {
	case s.KeyPath != "" || s.KeyPaths != nil:
		paths := s.KeyPaths
		if s.KeyPath != "" {
			paths = []string{s.KeyPath}
		}
		if read == nil {
			return sigstoreKeys{err: fmt.Errorf("%w: keys of sigstoreSigned %s not loaded (Policy.LoadKeys)", ErrKeys, strings.Join(paths, ", "))}
		}
		for _, p := range paths {
			b, err := read(p)
			if err != nil {
				return sigstoreKeys{err: fmt.Errorf("%w: %w", ErrKeys, err)}
			}
			blobs = append(blobs, b)
		}
	case s.KeyData != nil:
		blobs = [][]byte{s.KeyData}
	case s.KeyDatas != nil:
		blobs = s.KeyDatas
	default:
		return sigstoreKeys{}
	}
	var out []*keys.Key
	for _, b := range blobs {
		k, err := keys.Parse(b)
		if err != nil {
			return sigstoreKeys{err: fmt.Errorf("%w: sigstoreSigned public key: %w", ErrKeys, err)}
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return sigstoreKeys{err: fmt.Errorf("%w: no public keys", ErrKeys)}
	}
	return sigstoreKeys{keys: out}
}

// SigstoreSignature is one cosign signature of the image, as cosign v2
// stores it in the image's sha256-HEX.sig tag: a layer holding the
// simple-signing payload, and the layer's base64 signature annotation
// (dev.cosignproject.cosign/signature).
type SigstoreSignature struct {
	Payload   []byte `json:"-"`
	Signature string `json:"-"`
}

// Signatures are an image's signatures of both kinds.
type Signatures struct {
	// Simple are the OpenPGP simple signing signatures (the bytes of
	// each lookaside signature-N).
	Simple [][]byte
	// Sigstore are the cosign signatures, which sigstoreSigned
	// requirements read.
	Sigstore []SigstoreSignature
	// Base is the evidence signedBaseLayer requirements read (the
	// image's base image and the policy's verdict on it); nil fails them.
	Base *BaseImage
}

// Options are the knobs of Evaluate.
type Options struct {
	// Now is when keys and signatures must be valid; zero is time.Now.
	Now time.Time
}

// Result is the verdict on one image.
type Result struct {
	// Image is the image evaluated (transport:reference).
	Image string `json:"image"`
	// ManifestDigest is the digest signatures had to name.
	ManifestDigest string `json:"manifestDigest"`
	// Transport and Scope say which policy section applied: Scope is
	// the matching scope of Transport, "" for the transport default, or
	// "default" for the policy's global default.
	Transport string `json:"transport"`
	Scope     string `json:"scope"`
	// Allowed is true when every requirement is satisfied.
	Allowed bool `json:"allowed"`
	// Requirements are the applicable requirements' results, in policy
	// order.
	Requirements []RequirementResult `json:"requirements"`
}

// RequirementResult is one requirement's verdict.
type RequirementResult struct {
	// Index is the requirement's position in its list; Type its type.
	Index     int    `json:"index"`
	Type      string `json:"type"`
	Satisfied bool   `json:"satisfied"`
	// SatisfiedBy is the index of the signature that satisfied a
	// signedBy requirement, -1 otherwise.
	SatisfiedBy int `json:"satisfiedBy"`
	// Err says why the requirement is not satisfied; nil when it is.
	Err error `json:"-"`
	// Reason is Err's text, for JSON.
	Reason string `json:"reason,omitempty"`
	// Signatures are the per-signature results of a signedBy
	// requirement.
	Signatures []SignatureResult `json:"signatures,omitempty"`
}

// SignatureResult is what one requirement made of one signature.
type SignatureResult struct {
	Index    int  `json:"index"`
	Accepted bool `json:"accepted"`
	// Fingerprint is the signing key's primary fingerprint (when the
	// signature verified); DockerReference and ManifestDigest are what
	// it signed (when its payload parsed).
	Fingerprint     string `json:"fingerprint,omitempty"`
	DockerReference string `json:"dockerReference,omitempty"`
	ManifestDigest  string `json:"manifestDigest,omitempty"`
	// Err says why it was not accepted: it matches (errors.Is) one of
	// simplesigning.ErrUnknownKey (wrong key), ErrExpiredKey,
	// ErrBadSignature, ErrCorrupt, ErrPayload, ErrDigestMismatch, or
	// ErrIdentityMismatch.
	Err    error  `json:"-"`
	Reason string `json:"reason,omitempty"`
}

// Evaluate decides whether img, whose manifest digest is manifestDigest
// ("sha256:..."), is accepted by the policy given its simple signing
// signatures (the bytes of each signature-N), as containers/image's
// IsRunningImageAllowed decides. Every applicable requirement is
// evaluated (containers/image stops at the first denial), so the result
// says everything that failed. keys comes from p.LoadKeys; nil keys load
// keyData only (keyPath requirements then fail with ErrKeys).
func Evaluate(p *Policy, keys *Keys, img Image, manifestDigest string, sigs [][]byte, opts Options) *Result {
	return EvaluateSignatures(p, keys, img, manifestDigest, Signatures{Simple: sigs}, opts)
}

// EvaluateSignatures is Evaluate with cosign signatures too: signedBy
// requirements read sigs.Simple, sigstoreSigned requirements
// sigs.Sigstore.
func EvaluateSignatures(p *Policy, keys *Keys, img Image, manifestDigest string, all Signatures, opts Options) *Result {
	sigs := all.Simple
	reqs, scope := p.RequirementsFor(img)
	res := &Result{Image: img.String(), ManifestDigest: manifestDigest, Transport: img.Transport, Scope: scope, Allowed: true}
	if len(reqs) == 0 {
		res.Allowed = false
		return res
	}
	for i, r := range reqs {
		rr := RequirementResult{Index: i, Type: r.Type(), SatisfiedBy: -1}
		switch r := r.(type) {
		case InsecureAcceptAnything:
			rr.Satisfied = true
		case Reject:
			rr.Err = fmt.Errorf("%w: %s is rejected by a \"reject\" requirement (scope %q)", ErrRejected, img, scope)
		case *SignedBy:
			evalSignedBy(r, keys, img, manifestDigest, sigs, opts, &rr)
		case *SigstoreSigned:
			evalSigstore(r, keys, img, manifestDigest, all.Sigstore, &rr)
		case *SignedBaseLayer:
			evalBaseLayer(r, img, all.Base, &rr)
		default:
			rr.Err = fmt.Errorf("%w: requirement %T", ErrNotImplemented, r)
		}
		if rr.Err != nil {
			rr.Reason = rr.Err.Error()
		}
		if !rr.Satisfied {
			res.Allowed = false
		}
		res.Requirements = append(res.Requirements, rr)
	}
	return res
}

func evalSignedBy(sb *SignedBy, keys *Keys, img Image, manifestDigest string, sigs [][]byte, opts Options, rr *RequirementResult) {
	if sb.KeyType != KeyTypeGPGKeys {
		rr.Err = fmt.Errorf("%w: keyType %q (only %q is evaluated, as in containers/image)", ErrNotImplemented, sb.KeyType, KeyTypeGPGKeys)
		return
	}
	var ring keyring
	if keys != nil {
		ring = keys.rings[sb]
	}
	if ring.entities == nil && ring.err == nil {
		if sb.KeyData == nil {
			rr.Err = fmt.Errorf("%w: keys of %s not loaded (Policy.LoadKeys)", ErrKeys, describeKeys(sb))
			return
		}
		ring = loadRing(sb, nil)
	}
	if ring.err != nil {
		rr.Err = fmt.Errorf("signedBy %s: %w", describeKeys(sb), ring.err)
		return
	}
	if len(sigs) == 0 {
		rr.Err = fmt.Errorf("signedBy %s: %w", describeKeys(sb), ErrNoSignature)
		return
	}
	var errs []error
	for i, sig := range sigs {
		sr := checkSignature(sb, ring.entities, img, manifestDigest, sig, opts)
		sr.Index = i
		if sr.Err != nil {
			sr.Reason = sr.Err.Error()
			errs = append(errs, fmt.Errorf("signature %d: %w", i+1, sr.Err))
		}
		rr.Signatures = append(rr.Signatures, sr)
		if sr.Accepted && !rr.Satisfied {
			rr.Satisfied, rr.SatisfiedBy = true, i
		}
	}
	if !rr.Satisfied {
		rr.Err = fmt.Errorf("signedBy %s: none of the %d signatures was accepted: %w", describeKeys(sb), len(sigs), errors.Join(errs...))
	}
}

// evalSigstore evaluates a sigstoreSigned requirement with public keys
// (Fulcio, PKI and Rekor are not evaluated yet) over cosign signatures, in
// containers/image's order: the signature verifies with one of the keys,
// the payload parses as a cosign simple-signing payload, names the
// manifest digest, and names an identity signedIdentity accepts (cosign
// signs the repository only, so only matchRepository and exactRepository
// accept cosign's own signatures).
func evalSigstore(s *SigstoreSigned, ks *Keys, img Image, manifestDigest string, sigs []SigstoreSignature, rr *RequirementResult) {
	switch {
	case s.Fulcio != nil:
		rr.Err = fmt.Errorf("%w: sigstoreSigned with fulcio is not evaluated by toto yet", ErrNotImplemented)
		return
	case s.PKI != nil:
		rr.Err = fmt.Errorf("%w: sigstoreSigned with pki is not evaluated by toto yet", ErrNotImplemented)
		return
	case s.RekorPublicKeyPath != "" || s.RekorPublicKeyPaths != nil || s.RekorPublicKeyData != nil || s.RekorPublicKeyDatas != nil:
		rr.Err = fmt.Errorf("%w: sigstoreSigned with a Rekor public key (signed entry timestamps) is not evaluated by toto yet", ErrNotImplemented)
		return
	}
	var sk sigstoreKeys
	if ks != nil {
		sk = ks.sigstore[s]
	}
	if sk.keys == nil && sk.err == nil {
		sk = loadSigstoreKeys(s, nil)
	}
	if sk.err != nil {
		rr.Err = fmt.Errorf("sigstoreSigned: %w", sk.err)
		return
	}
	if len(sigs) == 0 {
		rr.Err = fmt.Errorf("sigstoreSigned: %w", ErrNoSignature)
		return
	}
	var errs []error
	for i, sig := range sigs {
		sr := SignatureResult{Index: i}
		sr.Err = func() error {
			raw, err := base64.StdEncoding.DecodeString(sig.Signature)
			if err != nil {
				return fmt.Errorf("%w: the signature annotation is not base64: %v", simplesigning.ErrCorrupt, err)
			}
			k, ss, err := image.VerifySimpleSigning(sig.Payload, raw, sk.keys, manifestDigest)
			if k != nil {
				sr.Fingerprint = k.ID()
			}
			if ss != nil {
				sr.DockerReference, sr.ManifestDigest = ss.Critical.Identity.DockerReference, ss.Critical.Image.DockerManifestDigest
			}
			switch {
			case err == nil:
			case errors.Is(err, keys.ErrBadSignature):
				return fmt.Errorf("%w: %w", simplesigning.ErrUnknownKey, err)
			case errors.Is(err, image.ErrOtherImage):
				return fmt.Errorf("%w: %w", simplesigning.ErrDigestMismatch, err)
			default:
				return fmt.Errorf("%w: %w", simplesigning.ErrPayload, err)
			}
			return matches(s.SignedIdentity, img, ss.Critical.Identity.DockerReference)
		}()
		if sr.Err != nil {
			sr.Reason = sr.Err.Error()
			errs = append(errs, fmt.Errorf("cosign signature %d: %w", i+1, sr.Err))
		} else {
			sr.Accepted = true
			if !rr.Satisfied {
				rr.Satisfied, rr.SatisfiedBy = true, i
			}
		}
		rr.Signatures = append(rr.Signatures, sr)
	}
	if !rr.Satisfied {
		rr.Err = fmt.Errorf("sigstoreSigned: none of the %d signatures was accepted: %w", len(sigs), errors.Join(errs...))
	}
}

// checkSignature is containers/image's verifyAndExtractSignature: the
// signature must verify with a key of the ring, its payload parse, name
// the manifest digest, and name an identity signedIdentity accepts, in
// that order.
func checkSignature(sb *SignedBy, ring openpgp.EntityList, img Image, manifestDigest string, sig []byte, opts Options) SignatureResult {
	var sr SignatureResult
	v, err := simplesigning.Verify(sig, ring, simplesigning.Options{Now: opts.Now})
	if err != nil {
		sr.Err = err
		return sr
	}
	sr.Fingerprint = v.Fingerprint
	p, err := simplesigning.ParsePayload(v.Payload)
	if err != nil {
		sr.Err = err
		return sr
	}
	sr.DockerReference, sr.ManifestDigest = p.DockerReference, p.ManifestDigest
	if err := p.CheckDigest(manifestDigest); err != nil {
		sr.Err = err
		return sr
	}
	if err := matches(sb.SignedIdentity, img, p.DockerReference); err != nil {
		sr.Err = err
		return sr
	}
	sr.Accepted = true
	return sr
}

func describeKeys(sb *SignedBy) string {
	switch {
	case sb.KeyPath != "":
		return sb.KeyPath
	case sb.KeyPaths != nil:
		return strings.Join(sb.KeyPaths, ", ")
	}
	return "keyData"
}

// Decision is the result as the shared decision type: one enforced
// requirement per policy requirement, named by its type and position, so
// that an admission controller can combine "simple-signed by these keys"
// with other verifiers' requirements.
func (r *Result) Decision() *decision.Decision {
	d := &decision.Decision{Subject: r.Image + "@" + r.ManifestDigest}
	for _, rr := range r.Requirements {
		name := fmt.Sprintf("containers-policy %s[%q] requirement %d: %s", r.Transport, r.Scope, rr.Index, rr.Type)
		if r.Scope == "default" {
			name = fmt.Sprintf("containers-policy default requirement %d: %s", rr.Index, rr.Type)
		}
		req := decision.Check(name, decision.Enforce, rr.Err)
		if rr.Satisfied && rr.SatisfiedBy >= 0 {
			s := rr.Signatures[rr.SatisfiedBy]
			req.Reason = fmt.Sprintf("signature %d by %s for %s", rr.SatisfiedBy+1, s.Fingerprint, s.DockerReference)
		}
		d.Requirements = append(d.Requirements, req)
	}
	return d
}

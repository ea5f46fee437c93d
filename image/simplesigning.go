package image

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
)

// The simple-signing payload ("containers/image signature" format), as
// cosign v2 signs it in .sig tags and as Red Hat's simple signing signs it
// with OpenPGP. This file is the one reader of that payload: the cosign
// .sig reader (cosigntags.go) uses it, and so will an OpenPGP
// simple-signing reader.

const (
	// MediaTypeSimpleSigning is the media type of a cosign v2 .sig layer:
	// the simple-signing payload, signed bare (the signature sits in the
	// layer's AnnotationCosignSignature).
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	// AnnotationCosignSignature holds a .sig layer's base64 signature over
	// the layer bytes.
	AnnotationCosignSignature = "dev.cosignproject.cosign/signature"
	// SimpleSigningTypeAtomic is critical.type of Red Hat (atomic)
	// simple signing; cosign writes SimpleSigningType.
	SimpleSigningTypeAtomic = "atomic container signature"
	// maxSimpleSigning bounds a payload read: cosign's are a few hundred
	// bytes, with optional annotations a few kilobytes.
	maxSimpleSigning = 1 << 20
)

// Errors of the simple-signing reader.
var (
	// ErrSimpleSigning: the payload does not parse as a simple-signing
	// document (wrapped with what is wrong).
	ErrSimpleSigning = errors.New("malformed simple-signing payload")
	// ErrOtherImage is matched by a *OtherImageError.
	ErrOtherImage = errors.New("signature names another image")
)

// OtherImageError is a well-formed, possibly validly signed, payload about
// another manifest digest than the image being verified (a signature
// copied from another image).
type OtherImageError struct {
	// Want is the image's digest; Got the payload's docker-manifest-digest.
	Want, Got string
}

func (e *OtherImageError) Error() string {
	return fmt.Sprintf("signature names manifest %s, not %s", e.Got, e.Want)
}

// Is makes errors.Is(err, ErrOtherImage) hold.
func (e *OtherImageError) Is(target error) bool { return target == ErrOtherImage }

// ParseSimpleSigning reads a simple-signing payload strictly: exactly the
// members critical (identity.docker-reference, image.docker-manifest-digest,
// type, all strings) and optionally optional (an object or null); no
// duplicate members, no member differing from a known one only in case,
// nothing unknown in critical. containers/image reads the payload as
// strictly; cosign is looser, so a payload cosign accepts with junk in
// critical is refused here. Errors wrap ErrSimpleSigning.
func ParseSimpleSigning(data []byte) (*SimpleSigning, error) {
	if len(data) > maxSimpleSigning {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrSimpleSigning, maxSimpleSigning)
	}
	bad := func(err error) error { return fmt.Errorf("%w: %w", ErrSimpleSigning, err) }
	top, err := jsonobj.Split(data)
	if err != nil {
		return nil, bad(err)
	}
	var critRaw, optRaw json.RawMessage
	if err := top.Take("critical", &critRaw, true); err != nil {
		return nil, bad(err)
	}
	if err := top.Take("optional", &optRaw, false); err != nil {
		return nil, bad(err)
	}
	if err := noneLeft(top, ""); err != nil {
		return nil, bad(err)
	}
	crit, err := jsonobj.Split(critRaw)
	if err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	var idRaw, imgRaw json.RawMessage
	ss := &SimpleSigning{}
	if err := crit.Take("identity", &idRaw, true); err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	if err := crit.Take("image", &imgRaw, true); err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	if err := crit.Take("type", &ss.Critical.Type, true); err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	if err := noneLeft(crit, "critical."); err != nil {
		return nil, bad(err)
	}
	for _, m := range []struct {
		what, member string
		raw          json.RawMessage
		into         *string
	}{
		{"critical.identity", "docker-reference", idRaw, &ss.Critical.Identity.DockerReference},
		{"critical.image", "docker-manifest-digest", imgRaw, &ss.Critical.Image.DockerManifestDigest},
	} {
		f, err := jsonobj.Split(m.raw)
		if err != nil {
			return nil, bad(fmt.Errorf("%s: %w", m.what, err))
		}
		if err := f.Take(m.member, m.into, true); err != nil {
			return nil, bad(fmt.Errorf("%s: %w", m.what, err))
		}
		if err := noneLeft(f, m.what+"."); err != nil {
			return nil, bad(err)
		}
	}
	if len(optRaw) > 0 && string(optRaw) != "null" {
		opt, err := jsonobj.Split(optRaw)
		if err != nil {
			return nil, bad(fmt.Errorf("optional: %w", err))
		}
		ss.Optional = make(map[string]any, len(opt))
		for k := range opt {
			var v any
			if err := opt.Take(k, &v, true); err != nil {
				return nil, bad(fmt.Errorf("optional: %w", err))
			}
			ss.Optional[k] = v
		}
	}
	return ss, nil
}

func noneLeft(f jsonobj.Fields, prefix string) error {
	for name := range f {
		return fmt.Errorf("unknown member %s%q", prefix, name)
	}
	return nil
}

// Check says whether the payload is of type typ (SimpleSigningType for
// cosign, SimpleSigningTypeAtomic for Red Hat's) and names the manifest
// digest ("sha256:HEX"). A wrong type wraps ErrSimpleSigning; another
// digest is an *OtherImageError. The docker-reference is not checked:
// the digest pins the content, and a repository may be mirrored or
// renamed (cosign does not check it either).
func (ss *SimpleSigning) Check(typ, digest string) error {
	if ss.Critical.Type != typ {
		return fmt.Errorf("%w: critical.type is %q, want %q", ErrSimpleSigning, ss.Critical.Type, typ)
	}
	if ss.Critical.Image.DockerManifestDigest != digest {
		return &OtherImageError{Want: digest, Got: ss.Critical.Image.DockerManifestDigest}
	}
	return nil
}

// VerifySimpleSigning checks a bare signature over a simple-signing payload
// (cosign v2's .sig layer bytes) with each trusted key, then parses the
// payload and checks it is a cosign signature of digest. It returns the
// first trusted key that verified the signature (an RSA key is used as
// cosign uses it, PKCS#1 v1.5 with SHA-256, whatever its toto scheme).
// The signature is checked
// before the payload is parsed, so untrusted payloads reach the parser
// only when fuzzing it directly.
//
// Errors: a signature no trusted key made wraps keys.ErrBadSignature;
// a payload that does not parse or is not a cosign signature wraps
// ErrSimpleSigning; one about another image is an *OtherImageError.
func VerifySimpleSigning(payload, sig []byte, trusted []*keys.Key, digest string) (*keys.Key, *SimpleSigning, error) {
	if len(trusted) == 0 {
		return nil, nil, fmt.Errorf("%w: no trusted keys to check the signature with", keys.ErrBadSignature)
	}
	var signer *keys.Key
	var errs []error
	for _, k := range trusted {
		// cosign signs with RSA keys in PKCS#1 v1.5 only; the view keeps
		// the key's keyids.
		err := k.ForSigstore().Verify(payload, sig)
		if err == nil {
			signer = k
			break
		}
		if !errors.Is(err, keys.ErrBadSignature) {
			errs = append(errs, fmt.Errorf("key %s: %w", keys.ShortID(k.ID()), err))
		}
	}
	if signer == nil {
		return nil, nil, fmt.Errorf("%w: not signed by a trusted key (%d tried)%s", keys.ErrBadSignature, len(trusted), joinSuffix(errs))
	}
	ss, err := ParseSimpleSigning(payload)
	if err != nil {
		return signer, nil, err
	}
	if err := ss.Check(SimpleSigningType, digest); err != nil {
		return signer, ss, err
	}
	return signer, ss, nil
}

func joinSuffix(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + errors.Join(errs...).Error()
}

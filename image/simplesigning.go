package image

import (
	"errors"
	"fmt"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/simplesigning"
)

// The simple-signing payload ("containers/image signature" format), as
// cosign v2 signs it in .sig tags and as Red Hat's simple signing signs it
// with OpenPGP. The payload itself is read by package simplesigning; this
// file checks it as a cosign .sig signature (cosigntags.go).

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

// ParseSimpleSigning reads a simple-signing payload strictly with the one
// reader of that document, simplesigning.ParseDocument (see there for what
// is refused; containers/image reads the payload as strictly, cosign is
// looser, so a payload cosign accepts with junk in critical is refused
// here). The type is checked by Check. Errors wrap ErrSimpleSigning.
func ParseSimpleSigning(data []byte) (*SimpleSigning, error) {
	if len(data) > maxSimpleSigning {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrSimpleSigning, maxSimpleSigning)
	}
	d, err := simplesigning.ParseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSimpleSigning, err)
	}
	ss := &SimpleSigning{}
	ss.Critical.Type = d.Type
	ss.Critical.Identity.DockerReference = d.DockerReference
	ss.Critical.Image.DockerManifestDigest = d.ManifestDigest
	if d.Optional != nil {
		opt := jsonobj.Fields(d.Optional)
		ss.Optional = make(map[string]any, len(opt))
		for k := range opt {
			var v any // numbers stay exact (json.Number)
			if err := opt.Take(k, &v, true); err != nil {
				return nil, fmt.Errorf("%w: optional: %w", ErrSimpleSigning, err)
			}
			ss.Optional[k] = v
		}
	}
	return ss, nil
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

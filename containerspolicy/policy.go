// Package containerspolicy reads and evaluates containers-policy.json(5),
// the signature verification policy of podman, skopeo, buildah and CRI-O
// (containers/image): which requirements apply to an image (the most
// specific scope of its transport, else the transport's "" scope, else
// "default"), and whether the image's simple signing signatures satisfy
// them.
//
// Parsing is as strict as containers/image's: unknown, duplicate or
// invalid members reject the whole file. Evaluation (Evaluate) is a pure
// function of the policy, its keys (read once by LoadKeys), the image's
// reference and manifest digest, and the signatures' bytes; it reports per
// requirement which signature satisfied it, or why each failed.
package containerspolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// ErrInvalidPolicy is matched by every parse error.
var ErrInvalidPolicy = errors.New("invalid containers-policy.json")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidPolicy, fmt.Sprintf(format, args...))
}

// Policy is a parsed policy.json.
type Policy struct {
	// Default applies when no transport scope matches.
	Default Requirements
	// Transports maps a transport name ("docker", "oci", "dir", ...) to
	// its scopes, each mapped to its requirements; the scope "" is the
	// transport's default.
	Transports map[string]map[string]Requirements
}

// Requirements must all be satisfied for an image to be accepted; never
// empty in a parsed policy.
type Requirements []Requirement

// Requirement is one of InsecureAcceptAnything, Reject, *SignedBy,
// *SigstoreSigned, *SignedBaseLayer.
type Requirement interface {
	// Type is the requirement's "type" in policy.json.
	Type() string
}

// InsecureAcceptAnything accepts any image.
type InsecureAcceptAnything struct{}

// Reject rejects every image.
type Reject struct{}

// Key types of signedBy. Only GPGKeys is evaluated; the others parse, as
// in containers/image, and fail evaluation as unimplemented.
const (
	KeyTypeGPGKeys          = "GPGKeys"
	KeyTypeSignedByGPGKeys  = "signedByGPGKeys"
	KeyTypeX509Certificates = "X509Certificates"
	KeyTypeSignedByX509CAs  = "signedByX509CAs"
)

// SignedBy requires a simple signing signature by one of the keys, for an
// identity accepted by SignedIdentity.
type SignedBy struct {
	KeyType string
	// Exactly one of KeyPath, KeyPaths and KeyData is set.
	KeyPath  string
	KeyPaths []string
	KeyData  []byte
	// SignedIdentity is MatchRepoDigestOrExact when absent from the file.
	SignedIdentity IdentityMatch
}

// SigstoreSigned requires a cosign ("sigstore") signature. It is parsed,
// so that policies using it load, but not evaluated yet.
type SigstoreSigned struct {
	KeyPath  string
	KeyPaths []string
	KeyData  []byte
	KeyDatas [][]byte
	// Fulcio and PKI are kept as written.
	Fulcio, PKI json.RawMessage
	// RekorPublicKey* are kept as written.
	RekorPublicKeyPath  string
	RekorPublicKeyPaths []string
	RekorPublicKeyData  []byte
	RekorPublicKeyDatas [][]byte
	SignedIdentity      IdentityMatch
}

// SignedBaseLayer requires the image to be built on a base image whose
// name BaseLayerIdentity accepts and which the policy accepts (see
// evalBaseLayer); containers/image parses it but never evaluates it.
type SignedBaseLayer struct {
	BaseLayerIdentity IdentityMatch
}

func (InsecureAcceptAnything) Type() string { return "insecureAcceptAnything" }
func (Reject) Type() string                 { return "reject" }
func (*SignedBy) Type() string              { return "signedBy" }
func (*SigstoreSigned) Type() string        { return "sigstoreSigned" }
func (*SignedBaseLayer) Type() string       { return "signedBaseLayer" }

// IdentityMatch is a signedIdentity: MatchExact, MatchRepoDigestOrExact,
// MatchRepository, ExactReference, ExactRepository or RemapIdentity.
type IdentityMatch interface {
	// Type is the match's "type" in policy.json.
	Type() string
}

type (
	// MatchExact: the signed identity is the image's, tag or digest
	// included.
	MatchExact struct{}
	// MatchRepoDigestOrExact: as MatchExact for an image named by tag;
	// for one named by digest, any identity in the same repository.
	MatchRepoDigestOrExact struct{}
	// MatchRepository: any identity in the image's repository.
	MatchRepository struct{}
	// ExactReference: the signed identity is DockerReference exactly.
	ExactReference struct{ DockerReference string }
	// ExactRepository: the signed identity is in DockerRepository.
	ExactRepository struct{ DockerRepository string }
	// RemapIdentity: the image's identity with Prefix replaced by
	// SignedPrefix, then MatchRepoDigestOrExact.
	RemapIdentity struct{ Prefix, SignedPrefix string }
)

func (MatchExact) Type() string             { return "matchExact" }
func (MatchRepoDigestOrExact) Type() string { return "matchRepoDigestOrExact" }
func (MatchRepository) Type() string        { return "matchRepository" }
func (ExactReference) Type() string         { return "exactReference" }
func (ExactRepository) Type() string        { return "exactRepository" }
func (RemapIdentity) Type() string          { return "remapIdentity" }

// MaxPolicySize bounds a policy file.
const MaxPolicySize = 4 << 20

// Parse reads policy.json as containers/image does.
func Parse(data []byte) (*Policy, error) {
	if len(data) > MaxPolicySize {
		return nil, invalid("larger than %d bytes", MaxPolicySize)
	}
	p := &Policy{Transports: map[string]map[string]Requirements{}}
	var gotDefault bool
	err := object(data, func(key string, raw json.RawMessage) error {
		switch key {
		case "default":
			gotDefault = true
			reqs, err := parseRequirements(raw)
			if err != nil {
				return fmt.Errorf("default: %w", err)
			}
			p.Default = reqs
			return nil
		case "transports":
			return object(raw, func(transport string, raw json.RawMessage) error {
				scopes := map[string]Requirements{}
				err := object(raw, func(scope string, raw json.RawMessage) error {
					if err := ValidateScope(transport, scope); err != nil {
						return err
					}
					reqs, err := parseRequirements(raw)
					if err != nil {
						return fmt.Errorf("transports.%s[%q]: %w", transport, scope, err)
					}
					scopes[scope] = reqs
					return nil
				})
				if err != nil {
					return err
				}
				p.Transports[transport] = scopes
				return nil
			})
		}
		return fmt.Errorf("unknown member %q", key)
	})
	if err != nil {
		return nil, wrapInvalid(err)
	}
	if !gotDefault || p.Default == nil {
		return nil, invalid("default policy is missing")
	}
	return p, nil
}

func wrapInvalid(err error) error {
	if errors.Is(err, ErrInvalidPolicy) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
}

// ValidateScope checks a scope of a transport as containers/image does:
// oci, oci-archive, dir and sif scopes are clean absolute paths other than
// "/"; docker (and unknown transports') scopes are not checked; "" is
// always valid.
func ValidateScope(transport, scope string) error {
	if scope == "" {
		return nil
	}
	switch transport {
	case "oci", "oci-archive", "dir", "sif":
		if !strings.HasPrefix(scope, "/") {
			return fmt.Errorf("invalid %s scope %q: must be an absolute path", transport, scope)
		}
		if scope == "/" {
			return fmt.Errorf(`invalid %s scope "/": use the transport default scope ""`, transport)
		}
		if c := filepath.Clean(scope); c != scope {
			return fmt.Errorf("invalid %s scope %q: not in canonical form, perhaps %q", transport, scope, c)
		}
	case "docker-archive", "tarball":
		return fmt.Errorf("invalid %s scope %q: only the default scope \"\" is supported", transport, scope)
	}
	return nil
}

func parseRequirements(raw json.RawMessage) (Requirements, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errors.New("list of verification policy requirements must not be empty")
	}
	reqs := make(Requirements, len(items))
	for i, item := range items {
		r, err := parseRequirement(item)
		if err != nil {
			return nil, fmt.Errorf("requirement %d: %w", i, err)
		}
		reqs[i] = r
	}
	return reqs, nil
}

func typeOf(raw json.RawMessage) (string, error) {
	var t struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", err
	}
	if t.Type == nil {
		return "", errors.New(`no "type"`)
	}
	return *t.Type, nil
}

func parseRequirement(raw json.RawMessage) (Requirement, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "insecureAcceptAnything":
		return InsecureAcceptAnything{}, exactFields(raw, map[string]any{"type": new(string)})
	case "reject":
		return Reject{}, exactFields(raw, map[string]any{"type": new(string)})
	case "signedBy":
		return parseSignedBy(raw)
	case "sigstoreSigned":
		return parseSigstoreSigned(raw)
	case "signedBaseLayer":
		var id json.RawMessage
		if err := exactFields(raw, map[string]any{"type": new(string), "baseLayerIdentity": &id}); err != nil {
			return nil, err
		}
		m, err := parseIdentity(id)
		if err != nil {
			return nil, fmt.Errorf("baseLayerIdentity: %w", err)
		}
		return &SignedBaseLayer{BaseLayerIdentity: m}, nil
	}
	return nil, fmt.Errorf("unknown policy requirement type %q", typ)
}

func parseSignedBy(raw json.RawMessage) (*SignedBy, error) {
	sb := &SignedBy{}
	var gotPath, gotPaths, gotData bool
	var keyType *string
	var id json.RawMessage
	err := object(raw, func(key string, v json.RawMessage) error {
		switch key {
		case "type":
			return nil
		case "keyType":
			return json.Unmarshal(v, &keyType)
		case "keyPath":
			gotPath = true
			return json.Unmarshal(v, &sb.KeyPath)
		case "keyPaths":
			gotPaths = true
			return json.Unmarshal(v, &sb.KeyPaths)
		case "keyData":
			gotData = true
			return json.Unmarshal(v, &sb.KeyData)
		case "signedIdentity":
			id = v
			return nil
		}
		return fmt.Errorf("unknown member %q", key)
	})
	if err != nil {
		return nil, err
	}
	if keyType == nil {
		return nil, errors.New(`signedBy: invalid keyType ""`)
	}
	switch *keyType {
	case KeyTypeGPGKeys, KeyTypeSignedByGPGKeys, KeyTypeX509Certificates, KeyTypeSignedByX509CAs:
		sb.KeyType = *keyType
	default:
		return nil, fmt.Errorf("signedBy: unrecognized keyType value %q", *keyType)
	}
	switch n := count(gotPath, gotPaths, gotData); {
	case n == 0:
		return nil, errors.New("signedBy: exactly one of keyPath, keyPaths and keyData must be specified, none of them present")
	case n > 1:
		return nil, errors.New("signedBy: exactly one of keyPath, keyPaths and keyData must be specified, more than one present")
	}
	// containers/image's constructor counts "set" as non-empty path,
	// non-nil list, non-nil data.
	if (gotPath && sb.KeyPath == "") || (gotPaths && sb.KeyPaths == nil) || (gotData && sb.KeyData == nil) {
		return nil, errors.New("signedBy: exactly one of keyPath, keyPaths and keyData must be specified")
	}
	if id == nil {
		sb.SignedIdentity = MatchRepoDigestOrExact{}
	} else if sb.SignedIdentity, err = parseIdentity(id); err != nil {
		return nil, fmt.Errorf("signedBy: signedIdentity: %w", err)
	}
	return sb, nil
}

func parseSigstoreSigned(raw json.RawMessage) (*SigstoreSigned, error) {
	s := &SigstoreSigned{}
	var id json.RawMessage
	var keySources, rekorSources int
	keyFields := map[string]any{
		"keyPath": &s.KeyPath, "keyPaths": &s.KeyPaths, "keyData": &s.KeyData, "keyDatas": &s.KeyDatas,
		"fulcio": &s.Fulcio, "pki": &s.PKI,
	}
	rekorFields := map[string]any{
		"rekorPublicKeyPath": &s.RekorPublicKeyPath, "rekorPublicKeyPaths": &s.RekorPublicKeyPaths,
		"rekorPublicKeyData": &s.RekorPublicKeyData, "rekorPublicKeyDatas": &s.RekorPublicKeyDatas,
	}
	err := object(raw, func(key string, v json.RawMessage) error {
		if dst, ok := keyFields[key]; ok {
			keySources++
			return json.Unmarshal(v, dst)
		}
		if dst, ok := rekorFields[key]; ok {
			rekorSources++
			return json.Unmarshal(v, dst)
		}
		switch key {
		case "type":
			return nil
		case "signedIdentity":
			id = v
			return nil
		}
		return fmt.Errorf("unknown member %q", key)
	})
	if err != nil {
		return nil, err
	}
	if keySources != 1 {
		return nil, errors.New("sigstoreSigned: exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki must be specified")
	}
	if rekorSources > 1 {
		return nil, errors.New("sigstoreSigned: at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas may be specified")
	}
	if s.Fulcio != nil && rekorSources == 0 {
		return nil, errors.New("sigstoreSigned: fulcio requires a Rekor public key")
	}
	if id == nil {
		s.SignedIdentity = MatchRepoDigestOrExact{}
	} else if s.SignedIdentity, err = parseIdentity(id); err != nil {
		return nil, fmt.Errorf("sigstoreSigned: signedIdentity: %w", err)
	}
	return s, nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

var (
	domainOnly   = regexp.MustCompile(`^` + reference.DomainRegexp.String() + `$`)
	domainPrefix = regexp.MustCompile(`^` + reference.DomainRegexp.String() + `/`)
	nameOnly     = regexp.MustCompile(`^` + reference.NameRegexp.String() + `$`)
)

// validRemapPrefix is containers/image's rule for remapIdentity's prefix
// and signedPrefix: a host[:port], or a repository namespace or repository
// with an explicit host.
func validRemapPrefix(s string) bool {
	return domainOnly.MatchString(s) || (nameOnly.MatchString(s) && domainPrefix.MatchString(s))
}

func parseIdentity(raw json.RawMessage) (IdentityMatch, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	t := new(string)
	switch typ {
	case "matchExact":
		return MatchExact{}, exactFields(raw, map[string]any{"type": t})
	case "matchRepoDigestOrExact":
		return MatchRepoDigestOrExact{}, exactFields(raw, map[string]any{"type": t})
	case "matchRepository":
		return MatchRepository{}, exactFields(raw, map[string]any{"type": t})
	case "exactReference":
		var m ExactReference
		if err := exactFields(raw, map[string]any{"type": t, "dockerReference": &m.DockerReference}); err != nil {
			return nil, err
		}
		ref, err := reference.ParseNormalizedNamed(m.DockerReference)
		if err != nil {
			return nil, fmt.Errorf("invalid format of dockerReference %q: %w", m.DockerReference, err)
		}
		if reference.IsNameOnly(ref) {
			return nil, fmt.Errorf("dockerReference %q contains neither a tag nor digest", m.DockerReference)
		}
		return m, nil
	case "exactRepository":
		var m ExactRepository
		if err := exactFields(raw, map[string]any{"type": t, "dockerRepository": &m.DockerRepository}); err != nil {
			return nil, err
		}
		if _, err := reference.ParseNormalizedNamed(m.DockerRepository); err != nil {
			return nil, fmt.Errorf("invalid format of dockerRepository %q: %w", m.DockerRepository, err)
		}
		return m, nil
	case "remapIdentity":
		var m RemapIdentity
		if err := exactFields(raw, map[string]any{"type": t, "prefix": &m.Prefix, "signedPrefix": &m.SignedPrefix}); err != nil {
			return nil, err
		}
		for _, p := range []string{m.Prefix, m.SignedPrefix} {
			if !validRemapPrefix(p) {
				return nil, fmt.Errorf("prefix %q is not valid", p)
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("unknown policy reference match type %q", typ)
}

// object walks a JSON object's members in order, refusing duplicates and
// trailing data, as containers/image's paranoid decoder does.
func object(data []byte, member func(key string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("JSON object expected, got %v", tok)
	}
	seen := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			break
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("key string expected, got %v", tok)
		}
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := member(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after JSON object")
	}
	return nil
}

// exactFields decodes an object whose members must be exactly fields
// (containers/image's ParanoidUnmarshalJSONObjectExactFields).
func exactFields(data []byte, fields map[string]any) error {
	seen := map[string]bool{}
	err := object(data, func(key string, raw json.RawMessage) error {
		ptr, ok := fields[key]
		if !ok {
			return fmt.Errorf("unknown key %q", key)
		}
		seen[key] = true
		return json.Unmarshal(raw, ptr)
	})
	if err != nil {
		return err
	}
	for k := range fields {
		if !seen[k] {
			return fmt.Errorf("key %q missing in a JSON object", k)
		}
	}
	return nil
}

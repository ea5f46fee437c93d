package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
)

// cosign v2's default storage: signatures and attestations are not
// referrers but manifests under tags derived from the image digest,
// sha256-HEX.sig (one simple-signing layer per signature) and
// sha256-HEX.att (one DSSE envelope layer per attestation). cosign save
// writes the same manifests into an OCI layout, listed in index.json with
// the annotation kind: dev.cosignproject.cosign/sigs (or atts).

const (
	// SuffixSignatures and SuffixAttestations end cosign v2's tags.
	SuffixSignatures   = ".sig"
	SuffixAttestations = ".att"
	// AnnotationCosignKind marks cosign save's index.json entries.
	AnnotationCosignKind = "kind"
	CosignKindSignatures = "dev.cosignproject.cosign/sigs"
	CosignKindAtts       = "dev.cosignproject.cosign/atts"
	CosignKindImage      = "dev.cosignproject.cosign/image"
	CosignKindImageIndex = "dev.cosignproject.cosign/imageIndex"
	// AnnotationCosignCertificate marks a keyless .sig layer.
	AnnotationCosignCertificate = "dev.sigstore.cosign/certificate"
	// annotationAttPredicateType is the predicate type annotation cosign
	// v2 puts on .att layers.
	annotationAttPredicateType = "predicateType"
	// maxCosignLayers bounds the layers read from one .sig or .att
	// manifest (cosign appends one per signature).
	maxCosignLayers = 256
)

// Storage says where a finding was read from.
const (
	// StorageReferrer: an OCI 1.1 referrer (cosign v3, cosign v2 with
	// --new-bundle-format, toto).
	StorageReferrer = "referrer"
	// StorageTag: a cosign v2 .sig or .att tag (or its cosign save entry
	// in an OCI layout).
	StorageTag = "tag"
)

// CosignTag is the tag cosign v2 stores d's signatures (suffix
// SuffixSignatures) or attestations (SuffixAttestations) under:
// "sha256-HEX.sig".
func CosignTag(d v1.Hash, suffix string) string {
	return d.Algorithm + "-" + d.Hex + suffix
}

// cosignManifest is a .sig or .att manifest found for an image.
type cosignManifest struct {
	// where names it for reports: the tag, or "index.json kind ...".
	where  string
	kind   string // KindSignature or KindAttestation
	digest v1.Hash
	raw    []byte
	err    error // the manifest could not be read
}

// errNotFound is a store's answer for a tag that does not exist.
var errNotFound = errors.New("not found")

// cosignFindings reads cosign v2's .sig and .att manifests of the image
// and judges every layer in them, as Verify judges referrers.
func cosignFindings(ctx context.Context, t *Target, opts VerifyOptions, av *attestation.Verifier) ([]Finding, error) {
	ms, err := t.store.cosignManifests(ctx, t.Descriptor.Digest)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, cm := range ms {
		base := Finding{Referrer: cm.digest.String(), Tag: cm.where, Storage: StorageTag, Kind: cm.kind}
		m, err := cm.manifest()
		if err != nil {
			f := base
			f.fail(err)
			out = append(out, f)
			continue
		}
		layers := make([]Finding, len(m.Layers))
		forEach(ctx, len(m.Layers), func(i int) {
			l := m.Layers[i]
			f := base
			f.Layer, f.ArtifactType = l.Digest.String(), string(l.MediaType)
			var err error
			if cm.kind == KindSignature {
				err = checkCosignSig(ctx, t, l, opts, &f)
			} else {
				err = checkCosignAtt(ctx, t, l, av, &f)
			}
			if err != nil {
				f.fail(err)
			} else {
				f.Verified, f.Status = true, StatusVerified
			}
			layers[i] = f
		})
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, layers...)
	}
	return out, nil
}

// manifest parses a found .sig or .att manifest; one that could not be
// read, does not parse or has too many layers is an error naming where
// it was found.
func (cm cosignManifest) manifest() (*v1.Manifest, error) {
	if cm.err != nil {
		return nil, fmt.Errorf("%s manifest: %w", cm.where, cm.err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(cm.raw, &m); err != nil {
		return nil, fmt.Errorf("%s manifest: %w", cm.where, err)
	}
	if len(m.Layers) > maxCosignLayers {
		return nil, fmt.Errorf("%s manifest has %d layers, more than %d", cm.where, len(m.Layers), maxCosignLayers)
	}
	return &m, nil
}

// checkCosignSig verifies one .sig layer: the base64 signature in its
// annotation over the layer bytes, with a trusted key; the bytes a cosign
// simple-signing payload naming this digest.
func checkCosignSig(ctx context.Context, t *Target, l v1.Descriptor, opts VerifyOptions, f *Finding) error {
	f.PredicateType = MediaTypeSimpleSigning
	if string(l.MediaType) != MediaTypeSimpleSigning {
		return fmt.Errorf("%s layer has media type %q, want %s", SuffixSignatures, l.MediaType, MediaTypeSimpleSigning)
	}
	b64, ok := l.Annotations[AnnotationCosignSignature]
	if !ok || b64 == "" {
		return fmt.Errorf("%s layer has no %s annotation", SuffixSignatures, AnnotationCosignSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("%s annotation: %w", AnnotationCosignSignature, err)
	}
	payload, err := t.store.blob(ctx, l.Digest, maxSimpleSigning)
	if err != nil {
		return fmt.Errorf("fetch %s layer: %w", SuffixSignatures, err)
	}
	k, _, err := VerifySimpleSigning(payload, sig, opts.Keys, t.Digest())
	if k != nil {
		f.KeyID = k.ID()
	}
	if err != nil && k == nil && l.Annotations[AnnotationCosignCertificate] != "" {
		return fmt.Errorf("keyless %s signature (certificate in annotation): toto verifies keyless signatures only as Sigstore bundles: %w", SuffixSignatures, err)
	}
	if err != nil {
		return err
	}
	return unloggedTag(SuffixSignatures, opts)
}

// unloggedTag is the failure of a verified cosign v2 .sig layer when a
// log entry or timestamp is required: toto checks those only in Sigstore
// bundles (a .sig layer's Rekor v1 bundle annotation is not read).
// .att layers are DSSE envelopes and fail the same way in
// attestation.Verifier.
func unloggedTag(suffix string, opts VerifyOptions) error {
	switch {
	case opts.RequireTlog:
		return fmt.Errorf("%w: cosign v2 %s layer: toto checks transparency-log entries only in Sigstore bundles, and one is required", bundle.ErrTransparencyLog, suffix)
	case opts.RequireTimestamp:
		return fmt.Errorf("%w: cosign v2 %s layer: toto checks timestamps only in Sigstore bundles, and one is required", bundle.ErrTimestamp, suffix)
	}
	return nil
}

// checkCosignAtt verifies one .att layer: a DSSE envelope holding an
// in-toto Statement about this digest, signed by a trusted key, through
// the one attestation path.
func checkCosignAtt(ctx context.Context, t *Target, l v1.Descriptor, av *attestation.Verifier, f *Finding) error {
	f.PredicateType = l.Annotations[annotationAttPredicateType]
	if string(l.MediaType) != envelope.MediaTypeDSSE {
		return fmt.Errorf("%s layer has media type %q, want %s", SuffixAttestations, l.MediaType, envelope.MediaTypeDSSE)
	}
	b, err := t.store.blob(ctx, l.Digest, maxBundleBlob)
	if err != nil {
		return fmt.Errorf("fetch %s layer: %w", SuffixAttestations, err)
	}
	env, err := envelope.ParseMediaType(string(l.MediaType), b)
	if err != nil {
		return err
	}
	va, err := verifyStatement(ctx, t, env, av, f.PredicateType, f)
	if va == nil || err != nil {
		return err
	}
	f.st = va.Statement
	return nil
}

// cosignManifests of a registry: the two tags, by their exact names. A
// missing tag is no finding; the manifest is hashed here (a tag is not
// content-addressed, so its digest is what it hashes to).
func (rs *remoteStore) cosignManifests(ctx context.Context, subject v1.Hash) ([]cosignManifest, error) {
	var out []cosignManifest
	for _, s := range []struct{ suffix, kind string }{{SuffixSignatures, KindSignature}, {SuffixAttestations, KindAttestation}} {
		tag := CosignTag(subject, s.suffix)
		raw, h, err := rs.listedTag(ctx, tag)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("read tag %s: %w", tag, err)
		}
		out = append(out, cosignManifest{where: tag, kind: s.kind, digest: h, raw: raw})
	}
	return out, nil
}

// cosignManifests of an OCI layout: entries tagged (ref.name) with
// cosign's tag names, and cosign save's entries annotated kind
// dev.cosignproject.cosign/sigs or atts. cosign save's entries name no
// image; the payloads and statements do, and are checked against this
// digest.
func (ls *layoutStore) cosignManifests(ctx context.Context, subject v1.Hash) ([]cosignManifest, error) {
	idx, err := ls.index()
	if err != nil {
		return nil, err
	}
	var out []cosignManifest
	seen := map[v1.Hash]bool{}
	for _, d := range idx {
		var where, kind string
		switch ref, ck := d.Annotations[annotationRefName], d.Annotations[AnnotationCosignKind]; {
		case ref == CosignTag(subject, SuffixSignatures):
			where, kind = ref, KindSignature
		case ref == CosignTag(subject, SuffixAttestations):
			where, kind = ref, KindAttestation
		case ck == CosignKindSignatures:
			where, kind = "index.json kind "+ck, KindSignature
		case ck == CosignKindAtts:
			where, kind = "index.json kind "+ck, KindAttestation
		default:
			continue
		}
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		// Listed but unreadable (or rewritten in place): a finding, not
		// a silent skip.
		raw, err := ls.manifest(ctx, d.Digest)
		out = append(out, cosignManifest{where: where, kind: kind, digest: d.Digest, raw: raw, err: err})
	}
	return out, nil
}

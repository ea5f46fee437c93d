package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/verifier"
)

// In-toto evidence as referrers: the signed links of the supply chain
// that built an image (and the signed layouts and links of sublayouts)
// travel with the image, each as one referrer manifest whose single layer
// is the link file exactly as toto run wrote it (Metablock, DSSE, or a
// link attestation), so that the signatures checked are over the bytes
// the functionary signed. LinkSource reads them back as the
// verifier.LinkSource that verifier.Verify takes, for an image policy's
// in-toto requirement.

const (
	// ArtifactTypeLink is the artifactType (and layer media type) of a
	// link file attached to an image.
	ArtifactTypeLink = "application/vnd.dev.toto.link.v1+json"
	// AnnotationLinkStep names the step the evidence is for. It is not
	// signed: it only files the evidence, and the verifier checks the
	// step a link records against the step it is read for.
	AnnotationLinkStep = "dev.toto.link.step"
	// AnnotationLinkSublayout is where the evidence sits in the chain:
	// empty for the root layout's links, "<step>.<keyid8>" for a
	// sublayout a functionary provided for a step (joined with "/" when
	// nested), as a links folder lays them out in subfolders.
	AnnotationLinkSublayout = "dev.toto.link.sublayout"
)

// maxLinkEvidence bounds all the link files one LinkSource reads, and
// maxLinkFiles how many: the evidence of one image is held in memory.
const (
	maxLinkEvidence = 1 << 30
	maxLinkFiles    = 4096
)

// LinkEvidence is one link file to attach to an image.
type LinkEvidence struct {
	// Step is the step it is evidence for.
	Step string
	// Sublayout is empty for the root layout's links, otherwise
	// "<step>.<keyid8>" segments joined with "/" (AnnotationLinkSublayout).
	Sublayout string
	// Name is its file name, e.g. "build.2f89b927.link".
	Name string
	// Data is the file: a signed link, link attestation, or (for a step
	// delegated to a sublayout) the signed sublayout.
	Data []byte
}

// AttachLink attaches a link file to the image as a referrer, as Attach
// does.
func AttachLink(ctx context.Context, t *Target, e LinkEvidence) (v1.Descriptor, error) {
	if e.Step == "" || e.Name == "" {
		return v1.Descriptor{}, errors.New("attach link: a step and a file name are required")
	}
	if err := checkSublayoutPath(e.Sublayout); err != nil {
		return v1.Descriptor{}, fmt.Errorf("attach link %s: %w", e.Name, err)
	}
	lh, lsize, err := v1.SHA256(bytes.NewReader(e.Data))
	if err != nil {
		return v1.Descriptor{}, err
	}
	ann := map[string]string{AnnotationLinkStep: e.Step}
	if e.Sublayout != "" {
		ann[AnnotationLinkSublayout] = e.Sublayout
	}
	raw, _, err := artifactManifest(t.Descriptor, v1.Descriptor{
		MediaType:   ArtifactTypeLink,
		Digest:      lh,
		Size:        lsize,
		Annotations: map[string]string{AnnotationTitle: e.Name},
	}, ann)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return t.Attach(ctx, Referrer{Manifest: raw, ArtifactType: ArtifactTypeLink, Blobs: [][]byte{emptyJSON, e.Data}})
}

func checkSublayoutPath(p string) error {
	if p == "" {
		return nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("sublayout path %q: empty or relative segment", p)
		}
	}
	return nil
}

// LinkSource reads the link files attached to the image (AttachLink) into
// a verifier.LinkSource. Every listed referrer of ArtifactTypeLink is
// read, its subject checked; one that cannot be read or parsed is kept
// with its Err, so that the verifier reports it under its step. The error
// result is for a listing that fails, or evidence beyond the bounds.
func LinkSource(ctx context.Context, t *Target) (*verifier.MemSource, error) {
	descs, err := t.Referrers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the referrers of %s: %w", t, err)
	}
	var links []v1.Descriptor
	for _, d := range descs {
		// The listing's artifactType filters; the manifest, read next,
		// decides. Some registries list the config media type (the
		// empty descriptor's) whatever the manifest's artifactType.
		if at := d.ArtifactType; at == ArtifactTypeLink || at == "" || at == MediaTypeEmpty {
			links = append(links, d)
		}
	}
	if len(links) > maxLinkFiles {
		return nil, fmt.Errorf("%s has %d link referrers, more than the %d read", t, len(links), maxLinkFiles)
	}
	type read struct {
		step, sub string
		file      verifier.LinkFile
		skip      bool
	}
	got := make([]read, len(links))
	var spent int64
	var mu sync.Mutex
	forEach(ctx, len(links), func(i int) {
		r := &got[i]
		r.file.Name = links[i].Digest.String()
		m, err := fetchReferrer(ctx, t, links[i])
		if err != nil {
			// Not knowing its step, the verifier cannot report it; a
			// stale or foreign entry is no evidence.
			r.skip = true
			return
		}
		if artifactTypeOf(m) != ArtifactTypeLink {
			r.skip = true
			return
		}
		r.step, r.sub = m.Annotations[AnnotationLinkStep], m.Annotations[AnnotationLinkSublayout]
		if r.step == "" || checkSublayoutPath(r.sub) != nil {
			r.skip = true
			return
		}
		if len(m.Layers) != 1 || string(m.Layers[0].MediaType) != ArtifactTypeLink {
			r.file.Err = fmt.Errorf("link referrer %s: want exactly one %s layer", links[i].Digest, ArtifactTypeLink)
			return
		}
		layer := m.Layers[0]
		if name := layer.Annotations[AnnotationTitle]; name != "" {
			r.file.Name = name
		}
		mu.Lock()
		spent += layer.Size
		over := spent > maxLinkEvidence || layer.Size > verifier.DefaultMaxLinkSize
		mu.Unlock()
		if over {
			r.file.Err = fmt.Errorf("%s: the link evidence of %s is more than toto reads", r.file.Name, t)
			return
		}
		data, err := t.Blob(ctx, layer.Digest, verifier.DefaultMaxLinkSize)
		if err != nil {
			r.file.Err = fmt.Errorf("%s: %w", r.file.Name, err)
			return
		}
		env, err := envelope.Parse(data)
		if err != nil {
			r.file.Err = fmt.Errorf("%s: %w", r.file.Name, err)
			return
		}
		r.file.Envelope = env
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root := &verifier.MemSource{}
	for _, r := range got {
		if r.skip {
			continue
		}
		src := root
		if r.sub != "" {
			for _, seg := range strings.Split(path.Clean(r.sub), "/") {
				if src.Sublayouts == nil {
					src.Sublayouts = map[string]*verifier.MemSource{}
				}
				next, ok := src.Sublayouts[seg]
				if !ok {
					next = &verifier.MemSource{}
					src.Sublayouts[seg] = next
				}
				src = next
			}
		}
		if src.Steps == nil {
			src.Steps = map[string][]verifier.LinkFile{}
		}
		src.Steps[r.step] = append(src.Steps[r.step], r.file)
	}
	return root, nil
}

// ChainAttestations returns the Sigstore bundles attached to the image
// whose manifest names one of predicateTypes (URIs), for a chain
// verification (verifier.Options.Attestations): there they must be signed
// by a functionary or owner of the layout and be about a final product
// (package verifier checks that, and the statement's predicate type; the
// annotation only selects). Bundles that cannot be read are returned as
// errors in skipped, named by referrer.
func ChainAttestations(ctx context.Context, t *Target, predicateTypes []string) (atts []verifier.Attestation, skipped []error, err error) {
	descs, err := t.Referrers(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list the referrers of %s: %w", t, err)
	}
	want := map[string]bool{}
	for _, pt := range predicateTypes {
		want[pt] = true
	}
	type read struct {
		att verifier.Attestation
		err error
		ok  bool
	}
	got := make([]read, len(descs))
	forEach(ctx, len(descs), func(i int) {
		d := descs[i]
		if at := d.ArtifactType; at != ArtifactTypeBundle && at != "" && at != MediaTypeEmpty {
			return
		}
		m, err := fetchReferrer(ctx, t, d)
		if err != nil || artifactTypeOf(m) != ArtifactTypeBundle || !want[m.Annotations[AnnotationPredicateType]] {
			return
		}
		r := &got[i]
		r.att.Source = "referrer " + d.Digest.String()
		if len(m.Layers) != 1 || string(m.Layers[0].MediaType) != ArtifactTypeBundle {
			r.err = fmt.Errorf("%s: want exactly one %s layer", r.att.Source, ArtifactTypeBundle)
			return
		}
		b, err := t.store.blob(ctx, m.Layers[0].Digest, maxBundleBlob)
		if err != nil {
			r.err = fmt.Errorf("%s: %w", r.att.Source, err)
			return
		}
		if r.att.Envelope, err = envelope.ParseMediaType(string(m.Layers[0].MediaType), b); err != nil {
			r.err = fmt.Errorf("%s: %w", r.att.Source, err)
			return
		}
		r.ok = true
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	for _, r := range got {
		switch {
		case r.ok:
			atts = append(atts, r.att)
		case r.err != nil:
			skipped = append(skipped, r.err)
		}
	}
	return atts, skipped, nil
}

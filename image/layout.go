package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/internal/jsonobj"
)

// maxManifestSize bounds a manifest or index read (the distribution spec's
// recommended limit is 4 MiB).
const maxManifestSize = 4 << 20

// annotationRefName tags a manifest in an OCI layout's index.json.
const annotationRefName = "org.opencontainers.image.ref.name"

// layoutStore is an OCI image layout directory (image-spec image-layout.md).
// Referrers are recorded the way oras and cosign do for layouts: the
// referrer manifest's blob is written and its descriptor appended, untagged,
// to index.json; a reader finds them by their subject.
type layoutStore struct {
	dir string
}

func openLayout(ctx context.Context, spec string) (*Target, error) {
	dir, sel, byDigest := spec, "", false
	if i := strings.LastIndex(spec, "@"); i >= 0 {
		dir, sel, byDigest = spec[:i], spec[i+1:], true
	} else if !isDir(spec) {
		if i := strings.LastIndex(spec, ":"); i > strings.LastIndex(spec, "/") {
			dir, sel = spec[:i], spec[i+1:]
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: %q: no layout directory", ErrReference, LayoutPrefix+spec)
	}
	ls := &layoutStore{dir: filepath.Clean(dir)}
	if _, err := os.Stat(filepath.Join(ls.dir, "oci-layout")); err != nil {
		return nil, fmt.Errorf("%w: %s is not an OCI image layout (no oci-layout file): %v", ErrReference, dir, err)
	}
	idx, err := ls.index()
	if err != nil {
		return nil, err
	}
	var desc *v1.Descriptor
	switch {
	case byDigest:
		h, err := v1.NewHash(sel)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrReference, sel, err)
		}
		desc, err = ls.describe(ctx, idx, h)
		if err != nil {
			return nil, err
		}
	case sel != "":
		for i := range idx {
			if idx[i].Annotations[annotationRefName] == sel {
				desc = &idx[i]
				break
			}
		}
		if desc == nil {
			return nil, fmt.Errorf("%w: no manifest tagged %q in %s/index.json", ErrReference, sel, dir)
		}
	default:
		var images []v1.Descriptor
		for _, d := range idx {
			if !isImageMediaType(d.MediaType) || isCosignEntry(d) {
				continue
			}
			sub, err := ls.subjectOf(ctx, d)
			if errors.Is(err, ErrDigestMismatch) {
				return nil, err // rewritten in place: not an image to pick
			}
			if err == nil && sub != nil {
				continue // a referrer, not an image
			}
			images = append(images, d)
		}
		if len(images) != 1 {
			return nil, fmt.Errorf("%w: %s/index.json lists %d images; name one as %s%s@sha256:HEX or :TAG", ErrReference, dir, len(images), LayoutPrefix, dir)
		}
		desc = &images[0]
	}
	t := &Target{
		Reference:  LayoutPrefix + ls.dir,
		Descriptor: v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size},
		store:      ls,
	}
	if !byDigest {
		t.Tag = sel
	}
	// index.json names the image by digest; a manifest blob rewritten in
	// place (new layers, same file name) must not pass for it.
	if err := t.checkSubject(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// isCosignEntry tells cosign v2's signature and attestation manifests in
// index.json (cosign save's kind annotation, or a sha256-HEX.sig/.att
// tag) from images.
func isCosignEntry(d v1.Descriptor) bool {
	switch d.Annotations[AnnotationCosignKind] {
	case CosignKindSignatures, CosignKindAtts:
		return true
	}
	ref := d.Annotations[annotationRefName]
	return strings.HasPrefix(ref, "sha256-") && (strings.HasSuffix(ref, SuffixSignatures) || strings.HasSuffix(ref, SuffixAttestations))
}

func isImageMediaType(mt types.MediaType) bool {
	switch mt {
	case types.OCIManifestSchema1, types.OCIImageIndex, types.DockerManifestSchema2, types.DockerManifestList:
		return true
	}
	return false
}

// describe finds the descriptor of h: from index.json, or from the blob
// itself for a manifest nested in an index.
func (ls *layoutStore) describe(ctx context.Context, idx []v1.Descriptor, h v1.Hash) (*v1.Descriptor, error) {
	for i := range idx {
		if idx[i].Digest == h {
			return &idx[i], nil
		}
	}
	raw, err := ls.manifest(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrReference, h, err)
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil || !isImageMediaType(probe.MediaType) {
		return nil, fmt.Errorf("%w: blob %s in %s is not an image manifest or index", ErrReference, h, ls.dir)
	}
	return &v1.Descriptor{MediaType: probe.MediaType, Digest: h, Size: int64(len(raw))}, nil
}

func (ls *layoutStore) indexPath() string { return filepath.Join(ls.dir, "index.json") }

func (ls *layoutStore) index() ([]v1.Descriptor, error) {
	raw, err := boundedio.ReadFile(ls.indexPath(), maxManifestSize)
	if err != nil {
		return nil, err
	}
	var idx struct {
		Manifests []v1.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", ls.indexPath(), err)
	}
	return idx.Manifests, nil
}

func (ls *layoutStore) blobPath(h v1.Hash) string {
	return filepath.Join(ls.dir, "blobs", h.Algorithm, h.Hex)
}

func (ls *layoutStore) blob(_ context.Context, h v1.Hash, max int64) ([]byte, error) {
	if err := hashOK(h); err != nil {
		return nil, err
	}
	b, err := boundedio.ReadFile(ls.blobPath(h), max)
	if err != nil {
		return nil, err
	}
	if err := checkDigest("OCI layout "+ls.dir, h, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (ls *layoutStore) manifest(ctx context.Context, h v1.Hash) ([]byte, error) {
	return ls.blob(ctx, h, maxManifestSize)
}

// subjectOf reads a manifest's subject, if it has one.
func (ls *layoutStore) subjectOf(ctx context.Context, d v1.Descriptor) (*v1.Manifest, error) {
	if d.MediaType != types.OCIManifestSchema1 {
		return nil, nil
	}
	raw, err := ls.manifest(ctx, d.Digest)
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m.Subject == nil {
		return nil, nil
	}
	return &m, nil
}

func (ls *layoutStore) referrers(ctx context.Context, subject v1.Hash) ([]v1.Descriptor, error) {
	idx, err := ls.index()
	if err != nil {
		return nil, err
	}
	var out []v1.Descriptor
	for _, d := range idx {
		m, err := ls.subjectOf(ctx, d)
		if err != nil {
			// A manifest listed but unreadable cannot be told apart
			// from a referrer, so it is listed for the verifier to
			// fail on: a corrupt layout must not verify.
			out = append(out, d)
			continue
		}
		if m == nil || m.Subject.Digest != subject {
			continue
		}
		out = append(out, v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: artifactTypeOf(m), Annotations: m.Annotations})
	}
	return out, nil
}

func (ls *layoutStore) writeBlob(h v1.Hash, data []byte) error {
	p := ls.blobPath(h)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(p, data, 0o644)
}

// cosignKindOf is the kind annotation cosign save gives an image
// (dev.cosignproject.cosign/image) or an image index (…/imageIndex) in
// index.json. cosign verify --local-image looks for it to find the image
// in a layout ("must verify either an image index or image" without it),
// and cosign v3 then reads the image's referrers from index.json: so toto
// marks the subject's entry when it attaches a signature or attestation.
// An entry that already has a kind annotation is left alone.
func cosignKindOf(mt types.MediaType) string {
	switch mt {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
		return CosignKindImage
	case types.OCIImageIndex, types.DockerManifestList:
		return CosignKindImageIndex
	}
	return ""
}

// withAnnotation returns the JSON object entry with annotations[k] = v,
// every other member kept.
func withAnnotation(entry json.RawMessage, k, v string) (json.RawMessage, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(entry, &members); err != nil {
		return nil, err
	}
	ann := map[string]string{}
	if a, ok := members["annotations"]; ok {
		if err := json.Unmarshal(a, &ann); err != nil {
			return nil, err
		}
	}
	ann[k] = v
	a, err := json.Marshal(ann)
	if err != nil {
		return nil, err
	}
	members["annotations"] = a
	return json.Marshal(members)
}

// lockName is the lock file beside index.json that toto writers hold
// while they rewrite index.json (see push).
const lockName = "index.json.lock"

// lockWait bounds how long push waits for another writer's lock.
var lockWait = 30 * time.Second

// lockIndex takes the exclusive lock on DIR/index.json.lock, waiting up
// to lockWait (polling with jitter, so ctx can cancel), and returns its
// release.
func (ls *layoutStore) lockIndex(ctx context.Context) (func(), error) {
	p := filepath.Join(ls.dir, lockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		busy, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		if !busy {
			return func() { unlock(f); f.Close() }, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: held by another writer for more than %s", p, lockWait)
		}
		if err := sleep(ctx, 5*time.Millisecond+rand.N(20*time.Millisecond)); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
	}
}

// push writes the blobs, then the manifest, then index.json, each
// atomically, so a crash leaves at worst unreferenced blobs. index.json is
// rewritten keeping every member and descriptor it had.
//
// index.json is read, changed and replaced (write to a temporary file,
// rename) under an exclusive lock on DIR/index.json.lock, so concurrent
// toto writers (parallel attests) serialise instead of dropping each
// other's entries; it is read again afterwards, and a missing entry is an
// *AttachError. Other tools (oras, cosign) do not take this lock.
func (ls *layoutStore) push(ctx context.Context, a *artifact) error {
	for h, data := range a.blobs {
		if err := ls.writeBlob(h, data); err != nil {
			return err
		}
	}
	if err := ls.writeBlob(a.desc.Digest, a.manifest); err != nil {
		return err
	}
	release, err := ls.lockIndex(ctx)
	if err != nil {
		return &AttachError{Where: ls.indexPath(), Referrer: a.desc.Digest, Err: err}
	}
	defer release()
	if err := ls.addToIndex(a.desc, a.subject); err != nil {
		return err
	}
	idx, err := ls.index()
	if err != nil {
		return &AttachError{Where: ls.indexPath(), Referrer: a.desc.Digest, Err: err}
	}
	if !slices.ContainsFunc(idx, func(d v1.Descriptor) bool { return d.Digest == a.desc.Digest }) {
		return &AttachError{Where: ls.indexPath(), Referrer: a.desc.Digest, Err: errors.New("not there when read back (a writer that does not take " + lockName + " replaced index.json)")}
	}
	return nil
}

// addToIndex appends desc to index.json unless listed, and marks the
// subject's entry as cosign save does (see cosignKindOf); the caller holds
// the lock. Every other member and entry is kept as it was.
func (ls *layoutStore) addToIndex(desc v1.Descriptor, subject v1.Descriptor) error {
	raw, err := boundedio.ReadFile(ls.indexPath(), maxManifestSize)
	if err != nil {
		return err
	}
	f, err := jsonobj.Split(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", ls.indexPath(), err)
	}
	var manifests []json.RawMessage
	if err := f.Take("manifests", &manifests, false); err != nil {
		return fmt.Errorf("%s: %w", ls.indexPath(), err)
	}
	listed, changed := false, false
	for i, m := range manifests {
		var d v1.Descriptor
		if json.Unmarshal(m, &d) != nil {
			continue
		}
		switch d.Digest {
		case desc.Digest:
			listed = true
		case subject.Digest:
			kind := cosignKindOf(d.MediaType)
			if _, has := d.Annotations[AnnotationCosignKind]; has || kind == "" {
				continue
			}
			marked, err := withAnnotation(m, AnnotationCosignKind, kind)
			if err != nil {
				return fmt.Errorf("%s: entry %s: %w", ls.indexPath(), d.Digest, err)
			}
			manifests[i], changed = marked, true
		}
	}
	if listed && !changed {
		return nil
	}
	if !listed {
		add, err := json.Marshal(desc)
		if err != nil {
			return err
		}
		manifests = append(manifests, add)
	}
	known := map[string]any{"manifests": manifests}
	out, err := jsonobj.Join(known, f)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	return atomicfile.Write(ls.indexPath(), pretty.Bytes(), 0o644)
}

package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// remoteStore is a repository in an OCI distribution registry, reached with
// go-containerregistry. Referrers are listed with the referrers API, or the
// referrers tag schema where the registry lacks it; ggcr does both, and
// keeps the fallback index up to date when pushing.
//
// One remote.Puller and one remote.Pusher serve every request of a
// Target, so the registry is pinged (and a token fetched) once per
// Target, not once per manifest and blob. The image manifest read by Open
// is kept (it was hashed) so Verify does not fetch it again.
type remoteStore struct {
	repo name.Repository
	opts []remote.Option

	puller *remote.Puller

	pushOnce sync.Once
	pusher   *remote.Pusher
	pushErr  error

	mu     sync.Mutex
	cached map[v1.Hash][]byte // manifests already fetched and hashed
	blobs  map[v1.Hash][]byte // blobs already fetched and hashed
	// What the registry listed, kept for the Target's life so that the
	// requirements of one policy evaluation (each an image.Verify) see
	// one snapshot and ask once. A push forgets them.
	refs map[v1.Hash][]v1.Descriptor
	tags map[string]taggedManifest
}

// taggedManifest is what a tag named when it was read (errNotFound for a
// tag the registry does not have).
type taggedManifest struct {
	raw []byte
	h   v1.Hash
	err error
}

func openRemote(ctx context.Context, ref string, opts Options) (*Target, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		// Allow the usual shorthand (implicit tag "latest").
		r, err = name.ParseReference(ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrReference, ref, err)
		}
	}
	ro := append([]remote.Option{remote.WithContext(ctx)}, opts.Remote...)
	puller, err := remote.NewPuller(ro...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrReference, ref, err)
	}
	rs := &remoteStore{repo: r.Context(), opts: ro, puller: puller, cached: map[v1.Hash][]byte{}, blobs: map[v1.Hash][]byte{},
		refs: map[v1.Hash][]v1.Descriptor{}, tags: map[string]taggedManifest{}}
	// Resolve the tag once; from here on only the digest is used. The
	// manifest is fetched and hashed here: the Docker-Content-Digest a
	// registry sends is its word, not evidence, and a registry answering
	// a tag with a signed image's digest must not get another image
	// through.
	got, err := remote.Get(r, rs.with(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("%w: resolve %s: %v", ErrReference, ref, err)
	}
	if int64(len(got.Manifest)) > maxManifestSize {
		return nil, fmt.Errorf("%w: %s: manifest larger than %d bytes", ErrReference, ref, maxManifestSize)
	}
	h, size, err := v1.SHA256(bytes.NewReader(got.Manifest))
	if err != nil {
		return nil, err
	}
	t := &Target{
		Reference:  r.Context().Name(),
		Descriptor: v1.Descriptor{MediaType: got.MediaType, Digest: h, Size: size},
		store:      rs,
	}
	rs.cache(h, got.Manifest)
	switch r := r.(type) {
	case name.Digest:
		want, err := v1.NewHash(r.DigestStr())
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrReference, ref, err)
		}
		if want != h {
			return nil, &DigestError{What: "registry " + r.Context().Name(), Want: want, Got: h}
		}
	case name.Tag:
		t.Tag = r.TagStr()
		// A header that disagrees with the content means the registry
		// (or something in between) lies about what the tag names: say
		// so rather than quietly picking one. A failed HEAD proves
		// nothing either way; the hash above is what counts.
		if hd, err := remote.Head(r, rs.with(ctx)...); err == nil && hd.Digest != h {
			return nil, &DigestError{What: fmt.Sprintf("registry %s (Docker-Content-Digest of tag %s)", r.Context().Name(), r.TagStr()), Want: hd.Digest, Got: h}
		}
	}
	return t, nil
}

// with returns the options of one read: the shared puller, and ctx.
func (rs *remoteStore) with(ctx context.Context) []remote.Option {
	return append(append([]remote.Option{}, rs.opts...), remote.WithContext(ctx), remote.Reuse(rs.puller))
}

// withPush returns the options of one write: the shared pusher, and ctx.
func (rs *remoteStore) withPush(ctx context.Context) ([]remote.Option, error) {
	rs.pushOnce.Do(func() { rs.pusher, rs.pushErr = remote.NewPusher(rs.opts...) })
	if rs.pushErr != nil {
		return nil, rs.pushErr
	}
	return append(append([]remote.Option{}, rs.opts...), remote.WithContext(ctx), remote.Reuse(rs.pusher)), nil
}

// cache keeps a manifest that was hashed to h.
func (rs *remoteStore) cache(h v1.Hash, raw []byte) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.cached[h] = raw
}

func (rs *remoteStore) referrers(ctx context.Context, subject v1.Hash) ([]v1.Descriptor, error) {
	rs.mu.Lock()
	refs, ok := rs.refs[subject]
	rs.mu.Unlock()
	if ok {
		return refs, nil
	}
	idx, err := remote.Referrers(rs.repo.Digest(subject.String()), rs.with(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
	}
	rs.mu.Lock()
	rs.refs[subject] = im.Manifests
	rs.mu.Unlock()
	return im.Manifests, nil
}

// manifest fetches a manifest by digest and checks it; one fetched and
// hashed before (the image manifest, read by Open) is not fetched again:
// its content is what the digest names.
func (rs *remoteStore) manifest(ctx context.Context, h v1.Hash) ([]byte, error) {
	rs.mu.Lock()
	raw, ok := rs.cached[h]
	rs.mu.Unlock()
	if ok {
		return raw, nil
	}
	d, err := remote.Get(rs.repo.Digest(h.String()), rs.with(ctx)...)
	if err != nil {
		return nil, err
	}
	if err := checkDigest("registry "+rs.repo.Name(), h, d.Manifest); err != nil {
		return nil, err
	}
	rs.cache(h, d.Manifest)
	return d.Manifest, nil
}

func (rs *remoteStore) blob(ctx context.Context, h v1.Hash, max int64) ([]byte, error) {
	rs.mu.Lock()
	b, ok := rs.blobs[h]
	rs.mu.Unlock()
	if ok {
		if int64(len(b)) > max {
			return nil, fmt.Errorf("blob %s larger than %d bytes", h, max)
		}
		return b, nil
	}
	l, err := remote.Layer(rs.repo.Digest(h.String()), rs.with(ctx)...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err = io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("blob %s larger than %d bytes", h, max)
	}
	if err := checkDigest("registry "+rs.repo.Name(), h, b); err != nil {
		return nil, err
	}
	rs.mu.Lock()
	rs.blobs[h] = b
	rs.mu.Unlock()
	return b, nil
}

// listedTag is tagged, read once for the Target's life (see refs).
func (rs *remoteStore) listedTag(ctx context.Context, tag string) ([]byte, v1.Hash, error) {
	rs.mu.Lock()
	tm, ok := rs.tags[tag]
	rs.mu.Unlock()
	if ok {
		return tm.raw, tm.h, tm.err
	}
	raw, h, err := rs.tagged(ctx, tag)
	if err == nil || errors.Is(err, errNotFound) {
		rs.mu.Lock()
		rs.tags[tag] = taggedManifest{raw: raw, h: h, err: err}
		rs.mu.Unlock()
	}
	return raw, h, err
}

// tagged fetches the manifest a tag names now and hashes it: a tag is not
// content-addressed, so its digest is what its content hashes to. A tag
// the registry does not have is errNotFound.
func (rs *remoteStore) tagged(ctx context.Context, tag string) ([]byte, v1.Hash, error) {
	d, err := remote.Get(rs.repo.Tag(tag), rs.with(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, v1.Hash{}, errNotFound
		}
		return nil, v1.Hash{}, err
	}
	if int64(len(d.Manifest)) > maxManifestSize {
		return nil, v1.Hash{}, fmt.Errorf("manifest larger than %d bytes", maxManifestSize)
	}
	h, _, err := v1.SHA256(bytes.NewReader(d.Manifest))
	if err != nil {
		return nil, v1.Hash{}, err
	}
	return d.Manifest, h, nil
}

// isNotFound tells content that is not there (a registry's 404, a missing
// blob file in a layout) from content that could not be read.
func isNotFound(err error) bool {
	var te *transport.Error
	return errors.Is(err, os.ErrNotExist) || errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// rawManifest lets remote.Put send exact manifest bytes.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

func (rs *remoteStore) push(ctx context.Context, a *artifact) error {
	// What was listed before is out of date once this is pushed (and,
	// for a listing read while it was pushed, after).
	forget := func() {
		rs.mu.Lock()
		clear(rs.refs)
		clear(rs.tags)
		rs.mu.Unlock()
	}
	forget()
	defer forget()
	po, err := rs.withPush(ctx)
	if err != nil {
		return err
	}
	for h, data := range a.blobs {
		mt := types.MediaType(ArtifactTypeBundle)
		if string(data) == string(emptyJSON) {
			mt = MediaTypeEmpty
		}
		if err := remote.WriteLayer(rs.repo, static.NewLayer(data, mt), po...); err != nil {
			return fmt.Errorf("push blob %s: %w", h, err)
		}
	}
	// Pushed by digest, never by tag. ggcr updates the sha256-<hex>
	// fallback index itself when the registry has no referrers API, by a
	// read-modify-write that concurrent writers can undo; ensureListed
	// checks, and repeats the update until the entry stays.
	ref := rs.repo.Digest(a.desc.Digest.String())
	if err := remote.Put(ref, rawManifest{raw: a.manifest, mt: a.desc.MediaType}, po...); err != nil {
		return fmt.Errorf("push manifest %s: %w", a.desc.Digest, err)
	}
	return rs.ensureListed(ctx, a.subject.Digest, a.desc)
}

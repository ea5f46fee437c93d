// Package tufoci carries a TUF repository of trust material as an OCI
// artifact in a registry: Push uploads the files of a published
// repository folder (trust/repository's public/) as one artifact, each
// file a layer named by its path (the org.opencontainers.image.title
// annotation, as oras push names files, so oras pull writes the same
// tree); Fetcher is go-tuf's fetcher for "oci://REGISTRY/REPO[:TAG]" URLs,
// reading those files as blobs from the registry by name. The TUF
// metadata carries all the security; the registry is only storage, as a
// web server would be.
package tufoci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

const (
	// ArtifactType is the artifact type of the manifest.
	ArtifactType = "application/vnd.toto.tuf.repository.v1"
	// FileMediaType is the media type of each file's layer.
	FileMediaType = "application/octet-stream"
	// DefaultTag is the tag used when a reference names none.
	DefaultTag = "tuf"
	// Scheme prefixes a TUF URL served from a registry.
	Scheme = "oci://"
)

// Limits on what a Fetcher reads.
const (
	maxManifestSize = 4 << 20
	maxFiles        = 10000
)

// ErrBadArtifact: a manifest that is not a TUF repository artifact, or
// whose file names are unsafe or repeated.
var ErrBadArtifact = errors.New("not a TUF repository artifact")

// Options reach the registry.
type Options struct {
	// Credential gives credentials per registry host; nil reads the
	// Docker configuration (~/.docker/config.json and its credential
	// helpers), as docker and oras do.
	Credential auth.CredentialFunc
	// HTTPClient is the underlying client; nil means one with a
	// one-minute timeout.
	HTTPClient *http.Client
}

// ParseReference reads "REGISTRY/REPO[:TAG|@DIGEST]", with or without
// the oci:// prefix; a missing tag is DefaultTag.
func ParseReference(s string) (registry.Reference, error) {
	s = strings.TrimPrefix(s, Scheme)
	ref, err := registry.ParseReference(s)
	if err != nil {
		return registry.Reference{}, fmt.Errorf("OCI reference %q: %w", s, err)
	}
	if ref.Reference == "" {
		ref.Reference = DefaultTag
	}
	return ref, nil
}

// repository opens ref's repository with plain HTTP where
// go-containerregistry would use it (localhost, 127.0.0.1, *.local: the
// same rule as every toto image command).
func repository(ref registry.Reference, opts Options) (*remote.Repository, error) {
	r, err := remote.NewRepository(ref.Registry + "/" + ref.Repository)
	if err != nil {
		return nil, err
	}
	reg, err := name.NewRegistry(ref.Registry)
	if err != nil {
		return nil, fmt.Errorf("registry %q: %w", ref.Registry, err)
	}
	r.PlainHTTP = reg.Scheme() == "http"
	cred := opts.Credential
	if cred == nil {
		store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
		if err != nil {
			return nil, fmt.Errorf("docker credentials: %w", err)
		}
		cred = credentials.Credential(store)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	r.Client = &auth.Client{Client: hc, Credential: cred, Cache: auth.NewCache()}
	return r, nil
}

// Pushed describes what Push uploaded.
type Pushed struct {
	// Reference is the tag pushed, Manifest the artifact's descriptor.
	Reference string             `json:"reference"`
	Manifest  ocispec.Descriptor `json:"manifest"`
	// Files are the paths carried; Uploaded how many blobs were new.
	Files    []string `json:"files"`
	Uploaded int      `json:"uploaded"`
}

// Push uploads every file under dir (a published repository folder) as
// one artifact and tags it ref. Blobs the registry already holds are not
// uploaded again. The tag moves in one step, so a consumer sees either
// the previous repository or this one, never a mix.
func Push(ctx context.Context, dir, ref string, opts Options) (*Pushed, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if r.ValidateReferenceAsDigest() == nil {
		return nil, fmt.Errorf("OCI reference %q: push to a tag, not a digest", ref)
	}
	repo, err := repository(r, opts)
	if err != nil {
		return nil, err
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: nothing to push (publish first)", dir)
	}
	if len(files) > maxFiles {
		return nil, fmt.Errorf("%s: %d files, more than %d", dir, len(files), maxFiles)
	}
	sort.Strings(files)
	out := &Pushed{Reference: r.String(), Files: files}
	var layers []ocispec.Descriptor
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		d := ocispec.Descriptor{MediaType: FileMediaType, Digest: digest.FromBytes(b), Size: int64(len(b)),
			Annotations: map[string]string{ocispec.AnnotationTitle: f}}
		ok, err := repo.Exists(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Registry, err)
		}
		if !ok {
			if err := repo.Push(ctx, d, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
				return nil, fmt.Errorf("push %s: %w", f, err)
			}
			out.Uploaded++
		}
		layers = append(layers, d)
	}
	m, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{Layers: layers})
	if err != nil {
		return nil, fmt.Errorf("push the manifest to %s: %w", r, err)
	}
	if err := repo.Tag(ctx, m, r.Reference); err != nil {
		return nil, fmt.Errorf("tag %s: %w", r, err)
	}
	out.Manifest = m
	return out, nil
}

// Fetcher is go-tuf's fetcher (config.UpdaterConfig.Fetcher) for URLs
// under "oci://REGISTRY/REPO[:TAG]": the metadata URL is the reference,
// targets are under its "targets/". The reference is resolved to one
// manifest the first time a file is asked for, and every later file of
// the session comes from that manifest.
type Fetcher struct {
	ctx  context.Context
	base string // the reference as given, without oci://
	ref  registry.Reference
	opts Options

	once  sync.Once
	err   error
	repo  *remote.Repository
	files map[string]ocispec.Descriptor
	// Manifest is the resolved manifest, once a file was fetched.
	Manifest ocispec.Descriptor
}

// NewFetcher returns a Fetcher for the TUF URL u ("oci://REF").
func NewFetcher(ctx context.Context, u string, opts Options) (*Fetcher, error) {
	base, ok := strings.CutPrefix(strings.TrimSuffix(u, "/"), Scheme)
	if !ok {
		return nil, fmt.Errorf("TUF URL %q: not %sREGISTRY/REPO[:TAG]", u, Scheme)
	}
	ref, err := ParseReference(base)
	if err != nil {
		return nil, err
	}
	return &Fetcher{ctx: ctx, base: base, ref: ref, opts: opts}, nil
}

// load resolves the reference and reads the manifest's file names.
func (f *Fetcher) load() error {
	f.once.Do(func() {
		f.repo, f.err = repository(f.ref, f.opts)
		if f.err != nil {
			return
		}
		desc, err := f.repo.Resolve(f.ctx, f.ref.Reference)
		if err != nil {
			f.err = fmt.Errorf("resolve %s: %w", f.ref, err)
			return
		}
		if desc.Size > maxManifestSize {
			f.err = fmt.Errorf("%w: %s: manifest of %d bytes", ErrBadArtifact, f.ref, desc.Size)
			return
		}
		raw, err := content.FetchAll(f.ctx, f.repo, desc)
		if err != nil {
			f.err = fmt.Errorf("fetch %s: %w", f.ref, err)
			return
		}
		f.files, f.err = ParseManifest(raw)
		if f.err != nil {
			f.err = fmt.Errorf("%s: %w", f.ref, f.err)
		}
		f.Manifest = desc
	})
	return f.err
}

// ParseManifest reads a TUF repository artifact's manifest: its files by
// name (each a clean relative path, once).
func ParseManifest(raw []byte) (map[string]ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadArtifact, err)
	}
	if m.MediaType != ocispec.MediaTypeImageManifest || m.ArtifactType != ArtifactType {
		return nil, fmt.Errorf("%w: media type %q, artifact type %q (want %q)", ErrBadArtifact, m.MediaType, m.ArtifactType, ArtifactType)
	}
	if len(m.Layers) > maxFiles {
		return nil, fmt.Errorf("%w: %d layers, more than %d", ErrBadArtifact, len(m.Layers), maxFiles)
	}
	files := make(map[string]ocispec.Descriptor, len(m.Layers))
	for _, l := range m.Layers {
		title := l.Annotations[ocispec.AnnotationTitle]
		if !cleanPath(title) {
			return nil, fmt.Errorf("%w: file name %q", ErrBadArtifact, title)
		}
		if _, dup := files[title]; dup {
			return nil, fmt.Errorf("%w: file %q twice", ErrBadArtifact, title)
		}
		if l.Size < 0 {
			return nil, fmt.Errorf("%w: file %q: size %d", ErrBadArtifact, title, l.Size)
		}
		files[title] = l
	}
	return files, nil
}

// cleanPath accepts a relative slash path without "." or ".." elements.
func cleanPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || path.Clean(p) != p {
		return false
	}
	for _, el := range strings.Split(p, "/") {
		if el == "." || el == ".." || el == "" {
			return false
		}
	}
	return true
}

// DownloadFile implements go-tuf's fetcher.Fetcher: u is the metadata or
// targets URL go-tuf built under the reference. A file the artifact does
// not carry is an HTTP 404 to go-tuf (which ends its walk over root
// versions there); a blob larger than maxLength is refused unread.
func (f *Fetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	rest, ok := strings.CutPrefix(u, Scheme+f.base+"/")
	if !ok {
		return nil, fmt.Errorf("URL %q is not under %s%s", u, Scheme, f.base)
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", u, err)
	}
	if err := f.load(); err != nil {
		return nil, err
	}
	d, ok := f.files[p]
	if !ok {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: u}
	}
	if d.Size > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: %d bytes, more than the expected %d", u, d.Size, maxLength)}
	}
	rc, err := f.repo.Blobs().Fetch(f.ctx, d)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", p, err)
	}
	defer rc.Close()
	// content.ReadAll checks the size and the digest the manifest
	// names; TUF then checks them against the signed metadata.
	b, err := content.ReadAll(io.LimitReader(rc, d.Size+1), d)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", p, err)
	}
	return b, nil
}

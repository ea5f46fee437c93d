package containerspolicy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
)

// ErrReference is matched by errors naming an image that policy scopes
// cannot apply to.
var ErrReference = errors.New("image reference")

// Image is an image as a transport names it, which decides the policy
// scope that applies and the identity signatures are matched against.
type Image struct {
	// Transport is "docker", "oci", "dir", ...
	Transport string
	// Docker is the fully expanded Docker reference (docker transport
	// only): a name with a tag or a digest, never both.
	Docker reference.Named
	// Path is the absolute, symlink-free directory of a layout transport
	// (oci, dir).
	Path string
}

// DockerImage names an image in a registry, normalised as containers/image
// does: "busybox" is docker.io/library/busybox:latest, a name without tag
// or digest gets ":latest", and a reference with both a tag and a digest
// is refused.
func DockerImage(ref string) (Image, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %q: %w", ErrReference, ref, err)
	}
	named = reference.TagNameOnly(named)
	_, tagged := named.(reference.NamedTagged)
	_, digested := named.(reference.Canonical)
	if tagged && digested {
		return Image{}, fmt.Errorf("%w: %q has both a tag and a digest", ErrReference, ref)
	}
	return Image{Transport: "docker", Docker: named}, nil
}

// LayoutImage names an image in a directory of a layout transport ("oci"
// or "dir"); dir is made absolute and its symlinks resolved, as the
// policy scopes of those transports are matched.
func LayoutImage(transport, dir string) (Image, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %s: %w", ErrReference, dir, err)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	return Image{Transport: transport, Path: abs}, nil
}

// String names the image as transport:reference.
func (img Image) String() string {
	if img.Docker != nil {
		return img.Transport + "://" + img.Docker.String()
	}
	return img.Transport + ":" + img.Path
}

// identity is PolicyConfigurationIdentity: the most specific scope.
func (img Image) identity() string {
	if img.Docker != nil {
		return img.Docker.String()
	}
	return img.Path
}

// namespaces are PolicyConfigurationNamespaces, most specific first: for
// docker the repository, its parent namespaces, the host[:port], then
// "*.domain" wildcards of the host without port; for layouts the parent
// directories, not "/".
func (img Image) namespaces() []string {
	var res []string
	if img.Docker != nil {
		name := img.Docker.Name()
		for {
			res = append(res, name)
			i := strings.LastIndex(name, "/")
			if i == -1 {
				break
			}
			name = name[:i]
		}
		if i := strings.Index(name, ":"); i != -1 {
			name = name[:i]
		}
		for {
			i := strings.Index(name, ".")
			if i == -1 {
				break
			}
			name = name[i+1:]
			res = append(res, "*."+name)
		}
		return res
	}
	p := img.Path
	for {
		i := strings.LastIndex(p, "/")
		if i == -1 || p == "/" {
			break
		}
		res = append(res, p)
		p = p[:i]
	}
	return res
}

// Scopes lists the scopes that name img, most specific first: its
// identity (the full reference, or the layout path), then its namespaces.
// registries.d sections are looked up the same way.
func (img Image) Scopes() []string {
	return append([]string{img.identity()}, img.namespaces()...)
}

// RequirementsFor returns the requirements that apply to img and the scope
// they came from: the transport's scope equal to the image's identity, else
// the most specific namespace scope, else the transport's "" scope, else
// the policy's default (scope "default").
func (p *Policy) RequirementsFor(img Image) (Requirements, string) {
	if scopes, ok := p.Transports[img.Transport]; ok {
		for _, scope := range img.Scopes() {
			if r, ok := scopes[scope]; ok {
				return r, scope
			}
		}
		if r, ok := scopes[""]; ok {
			return r, ""
		}
	}
	return p.Default, "default"
}

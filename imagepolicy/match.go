package imagepolicy

import (
	"strings"

	"github.com/distribution/reference"
)

// score ranks a pattern that matched: a pattern without wildcards that
// names the image's repository (any tag or digest) beats every wildcard
// pattern; among wildcards, the one with more literal characters wins.
type score struct {
	exact   bool
	literal int
}

// beats reports whether s ranks above best (have: there is a best yet).
// Equal scores keep the first, so document order breaks ties.
func (s score) beats(best score, have bool) bool {
	switch {
	case !have:
		return true
	case s.exact != best.exact:
		return s.exact
	}
	return s.literal > best.literal
}

// candidates are the names an image reference is matched under. For a
// registry reference they depend only on the image, never on how it is
// spelt: nginx, docker.io/nginx and index.docker.io/library/nginx are one
// image to the container runtime, so a rule written with one spelling
// must not be dodged by writing another. They are the fully qualified
// name (docker.io/library/nginx:1) and, for Docker Hub, each other
// spelling of it: without library/ as Portieris's policies write official
// images (docker.io/nginx:1), under index.docker.io, and the short forms
// (nginx:1, library/nginx:1).
func candidates(ref string) []string {
	if strings.HasPrefix(ref, "oci-layout:") {
		return []string{ref}
	}
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return []string{ref}
	}
	// A host name is not case-sensitive (DNS, TLS): REGISTRY.EXAMPLE/app
	// is pulled from registry.example, so it is matched as that.
	if d := reference.Domain(n); d != strings.ToLower(d) {
		if l, err := reference.ParseNormalizedNamed(strings.ToLower(d) + strings.TrimPrefix(n.String(), d)); err == nil {
			n = l
		}
	}
	full := n.String()
	out := []string{full}
	rest, ok := strings.CutPrefix(full, "docker.io/")
	if !ok {
		return out
	}
	others := []string{"index.docker.io/" + rest, rest}
	if short, ok := strings.CutPrefix(rest, "library/"); ok {
		others = append(others, "docker.io/"+short, "index.docker.io/"+short, short)
	}
	// Only true spellings of this image: docker.io/registry.example/app
	// is a Docker Hub repository, but its short form would name
	// registry.example's.
	for _, o := range others {
		if m, err := reference.ParseNormalizedNamed(o); err == nil && m.String() == full {
			out = append(out, o)
		}
	}
	return out
}

// matchAny matches pattern against each name, returning the best score.
func matchAny(pattern string, names []string) (score, bool) {
	var best score
	found := false
	for _, n := range names {
		if s, ok := match(pattern, n); ok && s.beats(best, found) {
			best, found = s, true
		}
	}
	return best, found
}

// match matches one pattern against one image name. "*" is any run of
// characters and "?" any one; a pattern also matches the name with any
// tag or digest appended (as Portieris's repository names do). When the
// pattern has a "/", its host part (before the first "/") is matched
// against the name's host only, so that "*.trusted.example/app" cannot be
// met by "evil.example/x.trusted.example/app".
func match(pattern, name string) (score, bool) {
	// Registry names are matched with their host in lower case; so is a
	// pattern's (an OCI layout's path is kept as written).
	if h, rest, ok := strings.Cut(pattern, "/"); ok && !strings.HasPrefix(pattern, "oci-layout:") {
		pattern = strings.ToLower(h) + "/" + rest
	}
	literal := len(pattern) - strings.Count(pattern, "*") - strings.Count(pattern, "?")
	if !strings.ContainsAny(pattern, "*?") {
		if name == pattern {
			return score{exact: true, literal: literal}, true
		}
		rest, ok := strings.CutPrefix(name, pattern)
		if ok && (strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, "@")) && !strings.Contains(rest, "/") {
			return score{exact: true, literal: literal}, true
		}
		return score{}, false
	}
	if !hostMatch(pattern, name) {
		return score{}, false
	}
	for _, p := range []string{pattern, pattern + ":*", pattern + "@*"} {
		if globMatch(p, name) {
			return score{literal: literal}, true
		}
	}
	return score{}, false
}

// hostMatch checks the host part of a pattern with a "/" against the
// name's.
func hostMatch(pattern, name string) bool {
	ph, _, ok := strings.Cut(pattern, "/")
	if !ok {
		return true
	}
	nh, _, ok := strings.Cut(name, "/")
	if !ok {
		return false
	}
	return globMatch(ph, nh)
}

package sbom

import (
	"net/url"
	"strings"
)

// purlEscape percent-encodes one purl segment. The purl spec leaves
// unreserved characters (RFC 3986) as they are and encodes everything else,
// so "@" in an npm scope becomes %40 and "+" in a Go version becomes %2B.
func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// purl builds "pkg:TYPE/SEG/SEG...@VERSION" from a slash-separated name.
func purl(typ, name, version string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = purlEscape(s)
	}
	p := "pkg:" + typ + "/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + purlEscape(version)
	}
	return p
}

// golangPURL is the purl of a Go module (purl type "golang").
func golangPURL(module, version string) string { return purl("golang", module, version) }

// npmPURL is the purl of an npm package; a scope such as "@types" is the
// purl namespace.
func npmPURL(name, version string) string { return purl("npm", name, version) }

// purlUnescape decodes percent-encoding so that purls written by different
// tools (one encodes "@" as %40, another does not) compare equal.
func purlUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

package sbom

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// npmLock is the part of package-lock.json (lockfileVersion 2 and 3) that
// an SBOM needs. Version 2 also carries the version 1 "dependencies" tree
// for old npm releases; the "packages" map is the complete, flat
// description and the only one read here.
type npmLock struct {
	Name            string                    `json:"name"`
	Version         string                    `json:"version"`
	LockfileVersion *int                      `json:"lockfileVersion"`
	Packages        map[string]npmLockPackage `json:"packages"`
}

type npmLockPackage struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Resolved    string          `json:"resolved"`
	Integrity   string          `json:"integrity"`
	License     json.RawMessage `json:"license"`
	Dev         bool            `json:"dev"`
	Optional    bool            `json:"optional"`
	DevOptional bool            `json:"devOptional"`
	Peer        bool            `json:"peer"`
	Link        bool            `json:"link"`
	InBundle    bool            `json:"inBundle"`
}

// FromNPMLock reads an npm package-lock.json (lockfileVersion 2 or 3). The
// project itself becomes Root; every installed package becomes a library
// component with its purl, the tarball hash from "integrity", the resolved
// URL as download location and the license npm copied from the package's
// package.json. The same name@version installed at several places in the
// node_modules tree is listed once.
func FromNPMLock(ctx context.Context, path string, opts ...Option) (*Inventory, error) {
	o := buildOptions(opts)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	inv, err := ParseNPMLock(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("sbom: %s: %w", path, err)
	}
	if o.name == "" && inv.Name == "" {
		inv.Name = path
	}
	return inv, ctx.Err()
}

// ParseNPMLock is FromNPMLock on bytes already read.
func ParseNPMLock(data []byte, opts ...Option) (*Inventory, error) {
	o := buildOptions(opts)
	var lock npmLock
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&lock); err != nil {
		return nil, fmt.Errorf("invalid package-lock.json: %w", err)
	}
	if lock.LockfileVersion == nil {
		return nil, fmt.Errorf("field \"lockfileVersion\" missing: not a package-lock.json")
	}
	switch v := *lock.LockfileVersion; v {
	case 2, 3:
	case 1:
		return nil, fmt.Errorf("lockfileVersion 1 is not supported: regenerate the lockfile with npm 7 or later")
	default:
		return nil, fmt.Errorf("field \"lockfileVersion\": unsupported version %d (want 2 or 3)", v)
	}
	if lock.Packages == nil {
		return nil, fmt.Errorf("field \"packages\" missing")
	}

	rootPkg := lock.Packages[""]
	rootName := firstNonEmpty(rootPkg.Name, lock.Name)
	rootVersion := firstNonEmpty(rootPkg.Version, lock.Version)
	if hasControl(rootName) || hasControl(rootVersion) || hasControl(string(rootPkg.License)) {
		return nil, fmt.Errorf("field \"packages\": root entry: control character in name, version or license")
	}
	inv := &Inventory{Name: o.name}
	if rootName != "" {
		inv.Root = &Component{
			Type:    TypeApplication,
			Name:    rootName,
			Version: rootVersion,
			PURL:    npmPURL(rootName, rootVersion),
			License: npmLicense(rootPkg.License),
		}
		if inv.Name == "" {
			inv.Name = rootName
		}
	}
	// Sorted keys make de-duplication (first entry wins) deterministic.
	keys := make([]string, 0, len(lock.Packages))
	for k := range lock.Packages {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		p := lock.Packages[key]
		if key == "" || p.Link {
			// A link entry points at a workspace folder, which has its
			// own entry keyed by that folder.
			continue
		}
		if o.noDev && p.Dev {
			continue
		}
		name := npmPackageName(key, p.Name)
		if name == "" {
			return nil, fmt.Errorf("field \"packages\": entry %q: cannot tell the package name", key)
		}
		// npm names and versions are URL-safe; control characters can
		// only be an attempt to forge lines in a text SBOM.
		if hasControl(name) || hasControl(p.Version) || hasControl(p.Resolved) || hasControl(string(p.License)) {
			return nil, fmt.Errorf("field \"packages\": entry %q: control character in name, version, resolved or license", key)
		}
		c := Component{
			Type:       TypeLibrary,
			Name:       name,
			Version:    p.Version,
			PURL:       npmPURL(name, p.Version),
			License:    npmLicense(p.License),
			Properties: map[string]string{},
		}
		if strings.HasPrefix(p.Resolved, "https://") || strings.HasPrefix(p.Resolved, "http://") {
			c.DownloadLocation = p.Resolved
		}
		h, err := integrityHashes(p.Integrity)
		if err != nil {
			return nil, fmt.Errorf("field \"packages\": entry %q: field \"integrity\": %w", key, err)
		}
		c.Hashes = h
		switch {
		case p.Dev:
			c.Properties["npm:dev"] = "true"
		case p.DevOptional:
			c.Properties["npm:devOptional"] = "true"
		}
		if p.Optional {
			c.Properties["npm:optional"] = "true"
		}
		if p.Peer {
			c.Properties["npm:peer"] = "true"
		}
		if p.InBundle {
			c.Properties["npm:inBundle"] = "true"
		}
		if !strings.Contains(key, "node_modules/") {
			c.Properties["npm:workspace"] = key
		}
		inv.Components = append(inv.Components, c)
	}
	inv.Normalize()
	return inv, nil
}

// npmPackageName is the real package name of a "packages" entry: its "name"
// field when set (aliases and workspaces), otherwise the path after the last
// "node_modules/" ("node_modules/a/node_modules/@s/b" is "@s/b").
func npmPackageName(key, name string) string {
	if name != "" {
		return name
	}
	if i := strings.LastIndex(key, "node_modules/"); i >= 0 {
		return key[i+len("node_modules/"):]
	}
	return ""
}

// npmLicense reads the "license" field, which is normally an SPDX
// expression string but in old packages an object {"type": "MIT"} or a list
// of such objects.
func npmLicense(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	type typed struct {
		Type string `json:"type"`
	}
	var one typed
	if json.Unmarshal(raw, &one) == nil && one.Type != "" {
		return strings.TrimSpace(one.Type)
	}
	var list []typed
	if json.Unmarshal(raw, &list) == nil {
		var ids []string
		for _, l := range list {
			if t := strings.TrimSpace(l.Type); t != "" {
				ids = append(ids, t)
			}
		}
		if len(ids) == 1 {
			return ids[0]
		}
		if len(ids) > 1 {
			return "(" + strings.Join(ids, " OR ") + ")"
		}
	}
	return ""
}

// integrityHashes decodes a Subresource Integrity string ("sha512-BASE64",
// several separated by spaces) into hex digests. Algorithms without a
// Component.Hashes name (such as sha384) are skipped.
func integrityHashes(sri string) (map[string]string, error) {
	var out map[string]string
	for _, tok := range strings.Fields(sri) {
		alg, b64, ok := strings.Cut(tok, "-")
		if !ok {
			return nil, fmt.Errorf("%q is not ALG-BASE64", tok)
		}
		if i := strings.IndexByte(b64, '?'); i >= 0 { // SRI options
			b64 = b64[:i]
		}
		var name string
		var size int
		switch alg {
		case "sha1":
			name, size = SHA1, 20
		case "sha256":
			name, size = SHA256, 32
		case "sha512":
			name, size = SHA512, 64
		default:
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("%s digest: %w", alg, err)
		}
		if len(raw) != size {
			return nil, fmt.Errorf("%s digest has %d bytes, want %d", alg, len(raw), size)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = hex.EncodeToString(raw)
	}
	return out, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

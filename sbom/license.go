package sbom

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
	"golang.org/x/mod/module"
)

// maxLicenseFile bounds how much of a license file is read; license texts
// are a few KiB, and a huge file named LICENSE is not worth classifying.
const maxLicenseFile = 1 << 20

// ClassifyLicense names the SPDX licenses whose distinctive wording appears
// in text: MIT, Apache-2.0, BSD-2-Clause, BSD-3-Clause, ISC and MPL-2.0.
// It returns them sorted, or nil when none is recognised; callers then say
// NOASSERTION rather than guess.
func ClassifyLicense(text []byte) []string {
	t := normalizeLicenseText(text)
	var ids []string
	has := func(phrases ...string) bool {
		for _, p := range phrases {
			if !strings.Contains(t, p) {
				return false
			}
		}
		return true
	}
	if has("permission is hereby granted free of charge to any person obtaining a copy",
		"the above copyright notice and this permission notice shall be included in all copies or substantial portions of the software") {
		ids = append(ids, "MIT")
	}
	if has("distribute this software for any purpose with or without fee is hereby granted",
		"the above copyright notice and this permission notice appear in all copies") {
		ids = append(ids, "ISC")
	}
	if has("redistribution and use in source and binary forms with or without modification are permitted provided that the following conditions are met",
		"redistributions of source code must retain the above copyright notice") &&
		!has("all advertising materials mentioning features or use of this software") {
		// Clause 3 of BSD-3-Clause forbids using the names of the holder or
		// contributors to endorse derived products; BSD-2-Clause lacks it.
		if has("to endorse or promote products derived from this software") {
			ids = append(ids, "BSD-3-Clause")
		} else {
			ids = append(ids, "BSD-2-Clause")
		}
	}
	if has("apache license version 2 0") &&
		(has("terms and conditions for use reproduction and distribution") ||
			has("licensed under the apache license version 2 0")) {
		ids = append(ids, "Apache-2.0")
	}
	if has("mozilla public license version 2 0") || has("mozilla public license v 2 0") {
		ids = append(ids, "MPL-2.0")
	}
	slices.Sort(ids)
	return ids
}

// normalizeLicenseText lowercases, turns every run of non-alphanumerics into
// one space, and so makes phrase matching immune to line wrapping,
// punctuation and "and/or" spellings.
func normalizeLicenseText(text []byte) string {
	var b strings.Builder
	b.Grow(len(text))
	space := true
	for _, r := range strings.ToLower(string(text)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return b.String()
}

// isLicenseFileName reports whether a file at a module root is a license
// file: LICENSE, LICENCE, COPYING, with any suffix (LICENSE.md,
// LICENSE-APACHE, COPYING.txt ...).
func isLicenseFileName(name string) bool {
	u := strings.ToUpper(name)
	return strings.HasPrefix(u, "LICENSE") || strings.HasPrefix(u, "LICENCE") || strings.HasPrefix(u, "COPYING")
}

// DetectDirLicense classifies the license files at the top of dir and
// returns an SPDX expression: one id, several joined with AND (when a
// module ships several licenses we cannot tell a choice from a
// conjunction, and AND is the reading that never understates obligations),
// or "" when nothing is recognised or dir does not exist.
func DetectDirLicense(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	seen := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() || !isLicenseFileName(e.Name()) {
			continue
		}
		data, err := readBounded(filepath.Join(dir, e.Name()), maxLicenseFile)
		if err != nil {
			continue
		}
		for _, id := range ClassifyLicense(data) {
			seen[id] = true
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return strings.Join(ids, " AND ")
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// moduleCacheDir is where the go command extracts module path@version:
// GOMODCACHE/escaped-path@escaped-version, where escaping replaces each
// upper-case letter with '!' and its lower-case form so that paths stay
// distinct on case-insensitive file systems.
func moduleCacheDir(modCache, path, version string) (string, bool) {
	if modCache == "" || version == "" {
		return "", false
	}
	ep, err := module.EscapePath(path)
	if err != nil {
		return "", false
	}
	ev, err := module.EscapeVersion(version)
	if err != nil {
		return "", false
	}
	return filepath.Join(modCache, filepath.FromSlash(ep)+"@"+ev), true
}

// goModuleLicense detects the license of module path@version from the
// module cache; "" if unknown.
func goModuleLicense(modCache, path, version string) string {
	dir, ok := moduleCacheDir(modCache, path, version)
	if !ok {
		return ""
	}
	return DetectDirLicense(dir)
}

// licenseIDs returns the license identifiers named in an SPDX expression
// (or the whole string when it is not one), without operators and
// parentheses; "WITH exception" is kept attached to its license. It never
// fails, so that policy checks work on whatever a document says.
func licenseIDs(expr string) []string {
	expr = strings.TrimSpace(expr)
	if expr == "" || strings.EqualFold(expr, NoAssertion) || strings.EqualFold(expr, "NONE") {
		return nil
	}
	fields := strings.Fields(parenSpacer.Replace(expr))
	var ids []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch strings.ToUpper(f) {
		case "(", ")", "AND", "OR":
			continue
		case "WITH":
			if len(ids) > 0 && i+1 < len(fields) {
				ids[len(ids)-1] += " WITH " + fields[i+1]
				i++
			}
			continue
		}
		ids = append(ids, f)
	}
	return ids
}

// isSPDXExpression reports whether s is a valid SPDX license expression
// made only of SPDX License List identifiers (and LicenseRef-s).
func isSPDXExpression(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	ok, _ := spdxexp.ValidateLicenses([]string{s})
	return ok
}

// canonicalLicenseID returns the SPDX list's spelling of a single license
// identifier ("mit" -> "MIT"), and false if id is not one.
func canonicalLicenseID(id string) (string, bool) {
	if ok, canon := spdxexp.ActiveLicense(id); ok {
		return canon, true
	}
	return "", false
}

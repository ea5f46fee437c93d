package sbom

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassifyLicenseOnRealTexts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "licenses", "*.txt"))
	if err != nil || len(files) < 8 {
		t.Fatalf("license fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		want := strings.TrimSuffix(filepath.Base(f), ".txt")
		if strings.HasPrefix(want, "unknown-") {
			want = ""
		}
		t.Run(want, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(ClassifyLicense(data), " AND ")
			if got != want {
				t.Errorf("%s: got %q, want %q", f, got, want)
			}
		})
	}
}

func TestClassifyLicenseDistinguishesNearMisses(t *testing.T) {
	bsd := "Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:\n" +
		"1. Redistributions of source code must retain the above copyright notice, this list of conditions and the following disclaimer.\n"
	for _, tc := range []struct{ name, text, want string }{
		{"bsd-4-clause is not guessed", bsd + "3. All advertising materials mentioning features or use of this software must display...", ""},
		{"bsd-2 wrapped and reflowed", strings.ReplaceAll(bsd, " ", "\n   "), "BSD-2-Clause"},
		{"bsd-3", bsd + "3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products derived from this software without specific prior written permission.", "BSD-3-Clause"},
		{"apache notice only", "Licensed under the Apache License, Version 2.0 (the \"License\");", "Apache-2.0"},
		{"apache 1.1 is not 2.0", "The Apache Software License, Version 1.1", ""},
		{"mpl header", "This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.", "MPL-2.0"},
		{"isc old wording", "Permission to use, copy, modify, and distribute this software for any purpose with or without fee is hereby granted, provided that the above copyright notice and this permission notice appear in all copies.", "ISC"},
		{"empty", "", ""},
	} {
		if got := strings.Join(ClassifyLicense([]byte(tc.text)), " AND "); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDetectDirLicenseReadsEveryLicenseFile(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join("testdata", "licenses", "MIT.txt"), filepath.Join(dir, "LICENSE-MIT"))
	copyFile(t, filepath.Join("testdata", "licenses", "Apache-2.0.txt"), filepath.Join(dir, "LICENSE-APACHE"))
	copyFile(t, filepath.Join("testdata", "licenses", "BSD-3-Clause.txt"), filepath.Join(dir, "NOT-A-LICENSE.txt"))
	if got := DetectDirLicense(dir); got != "Apache-2.0 AND MIT" {
		t.Errorf("got %q, want %q", got, "Apache-2.0 AND MIT")
	}
	if got := DetectDirLicense(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("missing dir: got %q", got)
	}
}

func TestModuleCacheDirEscapesCapitals(t *testing.T) {
	got, ok := moduleCacheDir("/cache", "github.com/BurntSushi/toml", "v1.3.2")
	want := filepath.FromSlash("/cache/github.com/!burnt!sushi/toml@v1.3.2")
	if !ok || got != want {
		t.Errorf("got %q %v, want %q", got, ok, want)
	}
	if _, ok := moduleCacheDir("/cache", "example.com/m", ""); ok {
		t.Error("a module without version has no cache directory")
	}
}

func TestLicenseExpressionDenial(t *testing.T) {
	p := Policy{DenyLicenses: []string{"GPL-3.0-only", "AGPL-*"}}
	for _, tc := range []struct {
		expr string
		want string
	}{
		{"MIT", ""},
		{"GPL-3.0-only", "GPL-3.0-only"},
		{"gpl-3.0-only", "gpl-3.0-only"},
		{"MIT OR GPL-3.0-only", ""},              // consumer may choose MIT
		{"MIT AND GPL-3.0-only", "GPL-3.0-only"}, // both apply
		{"(MIT OR Apache-2.0) AND AGPL-3.0-or-later", "AGPL-3.0-or-later"},
		{"GPL-3.0-only OR AGPL-3.0-only", "GPL-3.0-only,AGPL-3.0-only"},
		{"GPL-3.0-only WITH GCC-exception-3.1", "GPL-3.0-only WITH GCC-exception-3.1"},
		{"SEE LICENSE IN GPL-3.0-only.txt", ""},       // free text: whole words only
		{"Custom GPL-3.0-only terms", "GPL-3.0-only"}, // free text mentioning a denied id
		{"", ""},
	} {
		got := strings.Join(p.deniedLicenses(tc.expr), ",")
		if got != tc.want {
			t.Errorf("%q: denied %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

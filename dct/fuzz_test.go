package dct

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseMetadata: any bytes parse as a role's metadata or fail with
// ErrTrustData, without panicking. Seeds: every file of notary's
// compatibility fixtures under each role name.
func FuzzParseMetadata(f *testing.F) {
	roles := []string{"root", "targets", "snapshot", "timestamp", "targets/releases"}
	if fx, err := fixturesDir(); err == nil {
		filepath.Walk(fx, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && filepath.Ext(p) == ".json" {
				if b, err := os.ReadFile(p); err == nil {
					for i := range roles {
						f.Add(uint8(i), b)
					}
				}
			}
			return nil
		})
	}
	f.Add(uint8(0), []byte(`{"signed":{"_type":"Root"},"signatures":[]}`))
	f.Add(uint8(1), []byte(`{"signed":{"_type":"Targets","delegations":{"keys":{},"roles":[{"name":"targets/x","paths":["a"],"threshold":1,"keyids":["k"]}]}},"signatures":[]}`))
	f.Fuzz(func(t *testing.T, r uint8, raw []byte) {
		role := roles[int(r)%len(roles)]
		m, err := ParseMetadata(role, raw)
		if err != nil {
			if !errors.Is(err, ErrTrustData) {
				t.Fatalf("error without ErrTrustData: %v", err)
			}
			return
		}
		if m.Role != role || (m.Root == nil && m.Targets == nil && m.Snapshot == nil && m.Timestamp == nil) {
			t.Fatalf("parsed %q to %+v", role, m)
		}
		if m.Targets != nil {
			for name := range m.Targets.Signed.Targets {
				for _, d := range m.Targets.Signed.Delegations.Roles {
					_ = d.CheckPaths(name)
				}
			}
		}
	})
}

// FuzzBearerChallenge: whatever WWW-Authenticate header a notary server
// sends, the challenge parser does not panic, and a challenge it accepts
// has a realm and came from a Bearer header.
func FuzzBearerChallenge(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="https://auth.docker.io/token",service="notary.docker.io",scope="repository:docker.io/library/alpine:pull"`,
		`Bearer realm=https://a/t, service=s`, `Basic realm="x"`, `Bearer realm="unterminated`, `bearer realm="",,,=`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		p, ok := bearerChallenge(h)
		if !ok {
			return
		}
		if p["realm"] == "" {
			t.Fatalf("%q: accepted without a realm: %v", h, p)
		}
		if scheme, _, _ := strings.Cut(strings.TrimSpace(h), " "); !strings.EqualFold(scheme, "bearer") {
			t.Fatalf("%q: accepted a %q challenge", h, scheme)
		}
		if isBasicChallenge(h) {
			t.Fatalf("%q: both Bearer and Basic", h)
		}
	})
}

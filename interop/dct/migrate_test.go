//go:build interop

package dctinterop

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/dct"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/oracle"
)

// TestMigrate: toto image migrate-dct verifies every DCT-signed tag and
// re-signs the verified ones with a Sigstore bundle, which toto image
// verify --key and cosign v3 verify read; a tag whose registry digest
// differs is listed and not re-signed (exit 1); --dry-run signs nothing.
func TestMigrate(t *testing.T) {
	toto := oracle.Toto(t)
	e := newEnv(t)
	d1, s1 := e.push("v1")
	e.sign("v1", d1, s1)
	e.delegate("targets/releases")
	dr, sr := e.push("rel")
	e.sign("rel", dr, sr, "targets/releases")
	e.push("v2")
	e.sign("v2", d1, s1) // the registry's v2 is another image
	e.push("unsigned")

	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		cmd := exec.Command(toto, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run("key", "generate", "-t", "ecdsa", "-o", "release"); code != 0 {
		t.Fatalf("key generate: %s", out)
	}
	trustDir := filepath.Join(dir, "trust")
	migrate := []string{"image", "migrate-dct", "--dct-server", e.server, "--dct-trust-dir", trustDir}

	out, code := run(append(migrate, "--dry-run", "--json", e.repo)...)
	var ms []struct {
		Tag    string
		Signed bool
		Error  string
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &ms); err != nil || code != 1 {
		t.Fatalf("dry run: exit %d, %v\n%s", code, err, out)
	}
	if len(ms) != 3 || ms[0].Tag != "rel" || ms[1].Tag != "v1" || ms[2].Tag != "v2" || ms[0].Signed || ms[1].Signed || !strings.Contains(ms[2].Error, "registry digest differs") {
		t.Fatalf("dry run: %+v", ms)
	}
	if out, code := run("image", "verify", "--key", "release.pub", e.repo+":v1"); code != 1 {
		t.Fatalf("after the dry run v1 verifies with the new key: exit %d\n%s", code, out)
	}

	out, code = run(append(migrate, "--key", "release", e.repo)...)
	if code != 1 || !strings.Contains(out, "re-signed v1 → "+e.repo+"@"+d1) || !strings.Contains(out, "re-signed rel → "+e.repo+"@"+dr+" (DCT targets/releases)") || !strings.Contains(out, "FAILED v2") {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	for _, ref := range []string{e.repo + "@" + d1, e.repo + "@" + dr} {
		if out, code := run("image", "verify", "--key", "release.pub", ref); code != 0 {
			t.Fatalf("toto image verify %s: exit %d\n%s", ref, code, out)
		}
		oracle.MustRun(t, dir, nil, oracle.Tool(t, oracle.CosignV3), "verify", "--key", "release.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", "--allow-http-registry", ref)
	}
	// v2's registry image was never re-signed.
	if out, code := run("image", "verify", "--key", "release.pub", e.repo+":v2"); code != 1 {
		t.Fatalf("v2 verifies after migration: exit %d\n%s", code, out)
	}
}

// TestMigrateLibrary: dct.Migrate hands the signer the image opened at
// the signed digest, and only for tags that verify.
func TestMigrateLibrary(t *testing.T) {
	e := newEnv(t)
	d1, s1 := e.push("v1")
	e.sign("v1", d1, s1)
	e.push("v2")
	e.sign("v2", d1, s1)
	var signed []string
	ms, err := dct.Migrate(ctx, e.repo, dct.Options{Server: e.server, TrustDir: t.TempDir()}, func(_ context.Context, tg *image.Target, res *dct.Result) error {
		signed = append(signed, res.Tag+"="+tg.Digest())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || !ms[0].Signed || ms[1].Signed || !errors.Is(ms[1].Err, dct.ErrDigestMismatch) {
		t.Fatalf("migrations %+v", ms)
	}
	if strings.Join(signed, ",") != "v1="+d1 {
		t.Fatalf("signed %v", signed)
	}
	empty := newEnv(t)
	if _, err := dct.Migrate(ctx, empty.repo, dct.Options{Server: empty.server, TrustDir: t.TempDir()}, nil); err != nil {
		t.Fatalf("repository with no tags: %v", err)
	}
	if _, err := dct.Migrate(ctx, e.host+"/never/published", dct.Options{Server: e.server, TrustDir: t.TempDir()}, nil); !errors.Is(err, dct.ErrNotSigned) {
		t.Fatalf("repository without trust data: %v", err)
	}
}

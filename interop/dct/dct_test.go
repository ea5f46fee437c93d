//go:build interop

package dctinterop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/dct"
	"github.com/toto-dev/toto/internal/oracle"
)

var ctx = context.Background()

// env is one notary-server, one registry and one repository whose trust
// data the notary CLI publishes from its own trust directory.
type env struct {
	t              *testing.T
	server, host   string
	repo, gun      string
	signerDir, dir string // the notary CLI's trust directory; a scratch folder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, server: oracle.NotaryServer(t), host: oracle.Registry(t), dir: t.TempDir()}
	e.repo = e.host + "/team/app"
	e.gun = e.repo // a registry on 127.0.0.1:PORT: the GUN is the repository
	e.signerDir = filepath.Join(e.dir, "signer-trust")
	e.notary("init", e.gun)
	e.notary("publish", e.gun)
	return e
}

// notary runs the real notary CLI against the server, with the
// passphrases in its environment.
func (e *env) notary(args ...string) oracle.Result {
	e.t.Helper()
	bin := oracle.Tool(e.t, "notary")
	return oracle.MustRun(e.t, e.dir, oracle.NotaryPassphrases, bin, append([]string{"-s", e.server, "-d", e.signerDir}, args...)...)
}

// push writes a random image under tag and returns its manifest digest
// and size.
func (e *env) push(tag string) (string, int64) {
	e.t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	ref, err := name.NewTag(e.repo + ":" + tag)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		e.t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	d, _ := img.Digest()
	return d.String(), int64(len(raw))
}

// sign adds tag → digest to the trust data (in roles, or targets) and
// publishes it.
func (e *env) sign(tag, digest string, size int64, roles ...string) {
	e.t.Helper()
	args := []string{"addhash", e.gun, tag, fmt.Sprint(size), "--sha256", strings.TrimPrefix(digest, "sha256:")}
	for _, r := range roles {
		args = append(args, "--roles", r)
	}
	e.notary(args...)
	e.notary("publish", e.gun)
}

// delegate creates a key and certificate for role, adds the delegation
// with paths (none: all paths) and imports the key for signing.
func (e *env) delegate(role string, paths ...string) {
	e.t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: role},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		e.t.Fatal(err)
	}
	base := filepath.Join(e.dir, strings.ReplaceAll(role, "/", "_"))
	kder, _ := x509.MarshalECPrivateKey(k)
	write(e.t, base+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(e.t, base+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	args := []string{"delegation", "add", e.gun, role, base + ".crt"}
	if len(paths) == 0 {
		args = append(args, "--all-paths")
	} else {
		args = append(args, "--paths", strings.Join(paths, ","))
	}
	e.notary(args...)
	e.notary("key", "import", base+".key", "--role", role, "--gun", e.gun)
	e.notary("publish", e.gun)
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// verify runs toto's verification with a fresh (or the given) trust
// directory.
func (e *env) verify(tag string, opts dct.Options) (*dct.Result, error) {
	e.t.Helper()
	if opts.Server == "" && opts.TrustDir == "" {
		opts.Server = e.server
	}
	if opts.TrustDir == "" {
		opts.TrustDir = e.t.TempDir()
	}
	return dct.Verify(ctx, e.repo+":"+tag, opts)
}

// rootCert is the PEM certificate of the repository's root key, from the
// trust data the notary CLI published.
func (e *env) rootCert() []byte {
	e.t.Helper()
	md, err := dct.ReadMetadataDir(dct.MetadataDir(e.signerDir, e.gun))
	if err != nil {
		e.t.Fatal(err)
	}
	root := md["root"].Root.Signed
	return root.Keys[root.Roles["root"].KeyIDs[0]].Public()
}

// TestNotaryServer: trust data published by the notary CLI to
// notary-server, tags pushed to distribution 2.8, verified by toto.
func TestNotaryServer(t *testing.T) {
	e := newEnv(t)
	good, goodSize := e.push("v1")
	e.sign("v1", good, goodSize)
	// v2 is signed as v1's image, but the registry's v2 is another.
	e.push("v2")
	e.sign("v2", good, goodSize)
	// v3 is pushed and never signed; v4 is signed, then removed.
	e.push("v3")
	d4, s4 := e.push("v4")
	e.sign("v4", d4, s4)
	// rel is signed by targets/releases only.
	e.delegate("targets/releases")
	dr, sr := e.push("rel")
	e.sign("rel", dr, sr, "targets/releases")

	shared := t.TempDir() // a trust directory kept across runs (TOFU)
	if _, err := e.verify("v4", dct.Options{TrustDir: shared, Server: e.server}); err != nil {
		t.Fatalf("v4 before removal: %v", err)
	}
	e.notary("remove", e.gun, "v4")
	e.notary("publish", e.gun)

	tests := []struct {
		name     string
		tag      string
		opts     dct.Options
		want     error
		role     string
		contains string
	}{
		{"signed tag", "v1", dct.Options{}, nil, dct.TargetsRole, ""},
		{"signed by releases", "rel", dct.Options{}, nil, dct.ReleasesRole, ""},
		{"required signer present", "rel", dct.Options{Signers: []string{"releases"}}, nil, dct.ReleasesRole, ""},
		{"registry digest differs", "v2", dct.Options{}, dct.ErrDigestMismatch, "", "resolves to"},
		{"unsigned tag", "v3", dct.Options{}, dct.ErrNotSigned, "", "v3"},
		{"removed target", "v4", dct.Options{TrustDir: shared, Server: e.server}, dct.ErrNotSigned, "", "v4"},
		{"removed target, fresh trust dir", "v4", dct.Options{}, dct.ErrNotSigned, "", "v4"},
		{"required signer absent", "v1", dct.Options{Signers: []string{"alice"}}, dct.ErrSigner, "", "targets/alice did not sign"},
		{"pinned root", "v1", dct.Options{RootCert: e.rootCert()}, nil, dct.TargetsRole, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.verify(tc.tag, tc.opts)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if res.Role != tc.role || res.Digest != res.RegistryDigest || len(res.Signatures) == 0 {
					t.Fatalf("result %+v", res)
				}
				if d := dct.Decision(e.repo+":"+tc.tag, res, err); !d.Allowed() {
					t.Fatal("decision does not allow a verified tag")
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("err = %v, want %v with %q", err, tc.want, tc.contains)
			}
			t.Log(err)
			if d := dct.Decision(e.repo+":"+tc.tag, res, err); d.Allowed() {
				t.Fatal("decision allows a failed tag")
			}
		})
	}

	t.Run("signer roles reported", func(t *testing.T) {
		e.sign("rel", dr, sr) // targets signs it too
		res, err := e.verify("rel", dct.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var roles []string
		for _, s := range res.Signatures {
			roles = append(roles, s.Role)
			if s.Digest != dr || len(s.KeyIDs) == 0 {
				t.Errorf("signature %+v", s)
			}
		}
		if strings.Join(roles, ",") != "targets,targets/releases" || res.Role != dct.ReleasesRole {
			t.Fatalf("roles %v, digest from %s", roles, res.Role)
		}
	})

	t.Run("offline from the notary CLI's trust directory", func(t *testing.T) {
		// The notary CLI's own cache, as docker keeps ~/.docker/trust.
		e.notary("list", e.gun)
		res, err := e.verify("v1", dct.Options{TrustDir: e.signerDir})
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != good {
			t.Fatalf("offline digest %s, want %s", res.Digest, good)
		}
	})

	t.Run("pinned root of another repository", func(t *testing.T) {
		other := newEnv(t)
		_, err := e.verify("v1", dct.Options{RootCert: other.rootCert()})
		if !errors.Is(err, dct.ErrTrustData) {
			t.Fatalf("err = %v, want ErrTrustData", err)
		}
		t.Log(err)
	})
}

// TestDelegationOutsidePaths: a delegation that lists a tag after its
// delegated paths were narrowed does not vouch for it, and the error
// says so.
func TestDelegationOutsidePaths(t *testing.T) {
	e := newEnv(t)
	e.delegate("targets/bob")
	d, s := e.push("bobtag")
	e.sign("bobtag", d, s, "targets/bob")
	if _, err := e.verify("bobtag", dct.Options{Signers: []string{"bob"}}); err != nil {
		t.Fatalf("before narrowing: %v", err)
	}
	e.notary("delegation", "remove", e.gun, "targets/bob", "--all-paths", "--yes")
	e.notary("delegation", "add", e.gun, "targets/bob", "--paths", "other/")
	e.notary("publish", e.gun)
	_, err := e.verify("bobtag", dct.Options{Signers: []string{"bob"}})
	if !errors.Is(err, dct.ErrOutsidePaths) || !strings.Contains(err.Error(), "targets/bob") {
		t.Fatalf("err = %v, want ErrOutsidePaths naming targets/bob", err)
	}
	t.Log(err)
}

// TestCLI: toto image verify in DCT mode against the same servers: exit
// 0 with the signed digest, 1 for a tag whose registry digest differs, and
// --json with the decision.
func TestCLI(t *testing.T) {
	toto := oracle.Toto(t)
	e := newEnv(t)
	good, size := e.push("v1")
	e.sign("v1", good, size)
	e.push("v2")
	e.sign("v2", good, size)
	trustDir := t.TempDir()
	run := func(args ...string) (string, int) {
		cmd := exec.Command(toto, append([]string{"image", "verify", "--dct-server", e.server, "--dct-trust-dir", trustDir}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run(e.repo + ":v1"); code != 0 || !strings.Contains(out, "verified: "+e.repo+":v1 → "+e.repo+"@"+good) {
		t.Fatalf("v1: exit %d\n%s", code, out)
	}
	if out, code := run(e.repo + ":v2"); code != 1 || !strings.Contains(out, "registry digest differs") {
		t.Fatalf("v2: exit %d\n%s", code, out)
	} else {
		t.Logf("v2:\n%s", out)
	}
	out, code := run("--json", "--dct-signer", "alice", e.repo+":v1")
	if code != 1 {
		t.Fatalf("alice: exit %d\n%s", code, out)
	}
	var rep struct {
		Verified bool
		Decision struct {
			Requirements []struct{ Name, Outcome string }
		}
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Verified || len(rep.Decision.Requirements) != 2 || rep.Decision.Requirements[0].Outcome != "satisfied" || rep.Decision.Requirements[1].Outcome != "violated" {
		t.Fatalf("report %+v", rep)
	}
}

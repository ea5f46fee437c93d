//go:build interop

package cosign

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
)

// TestMain removes the toto that oracle.Toto built for the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	oracle.RemoveToto()
	os.Exit(code)
}

// cosignVersions are the real cosign binaries the tests run.
var cosignVersions = []string{oracle.CosignV2, oracle.CosignV3}

// env is one test's registry, work folder, cosign key pair (cosign.key,
// cosign.pub) and a second, untrusted pair (other.key, other.pub).
type env struct {
	t    *testing.T
	host string
	dir  string
}

const cosignPassword = "interop"

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, host: oracle.Registry(t), dir: t.TempDir()}
	cosign := oracle.Tool(t, oracle.CosignV2)
	for _, prefix := range []string{"cosign", "other"} {
		oracle.MustRun(t, e.dir, []string{"COSIGN_PASSWORD=" + cosignPassword}, cosign, "generate-key-pair", "--output-key-prefix", prefix)
	}
	return e
}

func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

// write puts data in the work folder and returns its path.
func (e *env) write(name string, data string) string {
	e.t.Helper()
	p := e.path(name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// push appends a random layer to an empty image, tags it repo:tag and
// returns REPO@sha256:HEX.
func (e *env) push(repo string) string {
	e.t.Helper()
	b := make([]byte, 64)
	rand.Read(b)
	layer := e.write("layer-"+base64.RawURLEncoding.EncodeToString(b[:6]), string(b))
	ref := e.host + "/" + repo + ":latest"
	crane := oracle.Tool(e.t, "crane")
	oracle.MustRun(e.t, e.dir, nil, crane, "append", "--insecure", "--new_layer", layer, "-t", ref)
	d := strings.TrimSpace(oracle.MustRun(e.t, e.dir, nil, crane, "digest", "--insecure", ref).Stdout)
	return e.host + "/" + repo + "@" + d
}

// digestOf returns the sha256:HEX of an image reference by digest.
func digestOf(ref string) string { return ref[strings.LastIndex(ref, "@")+1:] }

// registryFlags are the flags every cosign command needs for a local,
// plain-HTTP registry without a transparency log.
func registryFlags(version string) []string {
	return []string{"--allow-insecure-registry", "--allow-http-registry"}
}

// signFlags are the flags for cosign sign and attest without a
// transparency log: cosign v3 only accepts --tlog-upload=false without a
// signing config.
func signFlags(version string) []string {
	f := append(registryFlags(version), "--tlog-upload=false", "-y")
	if version == oracle.CosignV3 {
		f = append(f, "--use-signing-config=false")
	}
	return f
}

// cosign runs a cosign version with the key password set, failing the
// test when it fails.
func (e *env) cosign(version string, args ...string) oracle.Result {
	e.t.Helper()
	return oracle.MustRun(e.t, e.dir, []string{"COSIGN_PASSWORD=" + cosignPassword}, oracle.Tool(e.t, version), args...)
}

// sign is cosign sign --key KEY (cosign.key or other.key) with extra flags.
func (e *env) sign(version, key, ref string, extra ...string) {
	e.t.Helper()
	args := append([]string{"sign", "--key", key}, signFlags(version)...)
	args = append(args, extra...)
	e.cosign(version, append(args, ref)...)
}

// attest is cosign attest --type TYPE --predicate FILE.
func (e *env) attest(version, key, ref, typ, predicate string, extra ...string) {
	e.t.Helper()
	args := append([]string{"attest", "--key", key, "--type", typ, "--predicate", predicate}, signFlags(version)...)
	args = append(args, extra...)
	e.cosign(version, append(args, ref)...)
}

// totoResult is a toto run: output and exit code.
type totoResult struct {
	Stdout, Stderr string
	Code           int
}

// toto runs the toto binary in the work folder.
func (e *env) toto(args ...string) totoResult {
	e.t.Helper()
	return runToto(e.t, e.dir, nil, args...)
}

// runToto runs toto (oracle.Toto) in dir with extra environment; an exit
// code is a result, failing to run it fails the test.
func runToto(t *testing.T, dir string, env []string, args ...string) totoResult {
	t.Helper()
	r := oracle.Run(t, dir, env, oracle.Toto(t), args...)
	code := 0
	if r.Err != nil {
		var ee *exec.ExitError
		if !errors.As(r.Err, &ee) {
			t.Fatalf("toto %v: %v", args, r.Err)
		}
		code = ee.ExitCode()
	}
	return totoResult{Stdout: r.Stdout, Stderr: r.Stderr, Code: code}
}

// wantCode fails the test unless toto exited with code.
func (e *env) wantCode(r totoResult, code int, args ...string) {
	e.t.Helper()
	if r.Code != code {
		e.t.Fatalf("toto %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, code, r.Stdout, r.Stderr)
	}
}

// verify runs toto image verify --json with args and decodes the report;
// it fails the test unless the exit code is code.
func (e *env) verify(code int, args ...string) report {
	e.t.Helper()
	args = append([]string{"image", "verify", "--json"}, args...)
	r := e.toto(args...)
	e.wantCode(r, code, args...)
	var rep report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		e.t.Fatalf("toto %s: report: %v\n%s", strings.Join(args, " "), err, r.Stdout)
	}
	return rep
}

// report is toto image verify --json, as a user's script reads it.
type report struct {
	Digest                string
	Signatures            int `json:"verifiedSignatures"`
	Attestations          int `json:"verifiedAttestations"`
	Failures, Ignored     int
	MissingPredicateTypes []string `json:"missingPredicateTypes"`
	SBOM                  *struct {
		Violations []struct{ Rule, Message string }
	} `json:"sbom"`
	Referrers []finding `json:"referrers"`
}

type finding struct {
	Referrer, Storage, Tag, Layer, ArtifactType, Kind, PredicateType, KeyID, Status, Error, Reason string
	Verified                                                                                       bool
}

func (r report) String() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// find returns the findings matching pred.
func (r report) find(pred func(f finding) bool) []finding {
	var out []finding
	for _, f := range r.Referrers {
		if pred(f) {
			out = append(out, f)
		}
	}
	return out
}

// crane runs crane against the plain-HTTP registry.
func (e *env) crane(args ...string) string {
	e.t.Helper()
	return oracle.MustRun(e.t, e.dir, nil, oracle.Tool(e.t, "crane"), append(args[:1:1], append([]string{"--insecure"}, args[1:]...)...)...).Stdout
}

// repoOf returns HOST/REPO of REPO@DIGEST.
func repoOf(ref string) string { return ref[:strings.LastIndex(ref, "@")] }

// statementOf reads the in-toto Statement of a finding as cosign wrote
// it: from a bundle referrer, or a .att layer.
func (e *env) statementOf(ref string, f finding) map[string]any {
	e.t.Helper()
	repo := repoOf(ref)
	var payloadB64 string
	if f.Storage == "tag" {
		var dsse struct{ Payload string }
		if err := json.Unmarshal([]byte(e.crane("blob", repo+"@"+f.Layer)), &dsse); err != nil {
			e.t.Fatal(err)
		}
		payloadB64 = dsse.Payload
	} else {
		var m struct{ Layers []struct{ Digest string } }
		if err := json.Unmarshal([]byte(e.crane("manifest", repo+"@"+f.Referrer)), &m); err != nil || len(m.Layers) != 1 {
			e.t.Fatalf("referrer manifest: %v", err)
		}
		var b struct{ DSSEEnvelope struct{ Payload string } }
		if err := json.Unmarshal([]byte(e.crane("blob", repo+"@"+m.Layers[0].Digest)), &b); err != nil {
			e.t.Fatal(err)
		}
		payloadB64 = b.DSSEEnvelope.Payload
	}
	raw, err := base64.StdEncoding.DecodeString(payloadB64)
	if err != nil {
		e.t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// totoKey writes a toto ECDSA P-256 key pair as PEM (name.key, name.pub).
func (e *env) totoKey(name string) {
	e.t.Helper()
	k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	priv, err := k.MarshalPEM(true)
	if err != nil {
		e.t.Fatal(err)
	}
	pub, err := k.MarshalPEM(false)
	if err != nil {
		e.t.Fatal(err)
	}
	e.write(name+".key", string(priv))
	e.write(name+".pub", string(pub))
}

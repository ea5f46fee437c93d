//go:build interop

package dctinterop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/toto-dev/toto/admission/admissiontest"

	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/internal/oracle"
)

// TestAdmissionDCT runs `toto admission serve` with Portieris's
// pinned-signer1 ImagePolicy over trust data the real notary CLI
// published to notary-server: a pod whose image targets/signer1 signed is
// admitted and pinned to the signed digest; an unsigned image is denied
// naming the ImagePolicy and why.
func TestAdmissionDCT(t *testing.T) {
	e := newEnv(t)
	e.delegate("targets/signer1")
	d1, s1 := e.push("signed")
	e.sign("signed", d1, s1, "targets/signer1")
	e.push("unsigned")
	secrets := filepath.Join(e.dir, "secrets")
	policies := filepath.Join(e.dir, "policies")
	for _, d := range []string{secrets, policies} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.signerSecret(secrets, "signer1pubkey", "signer1")
	raw, err := os.ReadFile(corpus.Path(t, "portieris", "test", "e2e", "testdata", "imagepolicy", "pinned-signer1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(raw), "de.icr.io/testing-authn/nginx", e.repo)
	doc = strings.ReplaceAll(doc, "https://notary.de.icr.io", e.server)
	write(t, filepath.Join(policies, "pinned-signer1.yaml"), []byte(doc))

	st := admissiontest.NewTLS(t, e.dir)
	certFile, keyFile := st.CertFile, st.KeyFile
	addr := fmt.Sprintf("127.0.0.1:%d", oracle.FreePort(t))
	cmd := exec.Command(oracle.Toto(t), "admission", "serve", "--policy", policies, "--secrets", secrets,
		"--addr", addr, "--tls-cert", certFile, "--tls-key", keyFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("toto admission serve: %v\n%s", err, stderr.String())
		}
	})
	client := st.Client()
	oracle.WaitHTTP(t, client, "toto admission serve", "https://"+addr+"/readyz", nil, stderr.String)
	review := func(image string) (allowed bool, patch, msg string) {
		out, body := admissiontest.Send(t, client, "https://"+addr+"/mutate", admissiontest.PodReview("u", "default", image))
		if out.UID != "u" {
			t.Fatalf("response %s: uid %q", body, out.UID)
		}
		return out.Allowed, string(out.Patch), out.Status.Message
	}
	if ok, patch, msg := review(e.repo + ":signed"); !ok || !strings.Contains(patch, `"path":"/spec/containers/0/image","value":"`+e.repo+"@"+d1+`"`) {
		t.Errorf("signed: allowed %v, patch %s: %s", ok, patch, msg)
	}
	if ok, _, msg := review(e.repo + ":unsigned"); ok || !strings.Contains(msg, "ImagePolicy default/pinned-signer1") || !strings.Contains(msg, e.repo+":unsigned") || !strings.Contains(msg, "tag not signed") {
		t.Errorf("unsigned: allowed %v: %s", ok, msg)
	} else {
		t.Log(msg)
	}
}

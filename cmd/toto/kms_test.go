package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/keys/kms/vaulttest"
)

// A --key hashivault://NAME signs in (a fake) Vault's transit engine: the
// link and the attestation verify with the key's public half, which never
// left Vault's side.
func TestKMSKeyFromVault(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v := vaulttest.Start(t, map[string]crypto.Signer{"builder": ec})
	dir, _ := runDir(t)
	der, _ := x509.MarshalPKIXPublicKey(ec.Public())
	if err := os.WriteFile(filepath.Join(dir, "builder.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	// The child toto inherits VAULT_ADDR and VAULT_TOKEN from the test.
	mustToto(t, dir, "run", "-n", "build", "-k", "hashivault://builder", "-m", "src", "-p", "src", "--attest", "-q", "--", "true")
	links, _ := filepath.Glob(filepath.Join(dir, "build.*.link"))
	if len(links) != 1 {
		t.Fatalf("links %v", links)
	}
	mustToto(t, dir, "verify-attestation", "-k", "builder.pub", "--subject", "src/a.c", links[0])
	reqs, _ := v.Requests()
	signs := 0
	for _, r := range reqs {
		if r == "PUT /v1/transit/sign/builder/sha2-256" {
			signs++
		}
	}
	// One signature that proves the key can sign before the step runs,
	// one for the link.
	if signs != 2 {
		t.Errorf("sign requests %d: %q", signs, reqs)
	}
	r := runToto(t, dir, "run", "-n", "build", "-k", "hashivault://nosuchkey", "--", "true")
	if r.Code != 2 || !strings.Contains(r.Stderr, "hashivault://nosuchkey") {
		t.Errorf("missing Vault key: exit %d: %s", r.Code, r.Stderr)
	}
}

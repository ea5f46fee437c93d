// Package vaulttest is a fake HashiCorp Vault transit secrets engine for
// tests of KMS signing (package kms): there is no Vault server to test
// against here. It serves what sigstore's Vault client uses — GET
// /v1/transit/keys/NAME, PUT (or POST) /v1/transit/sign/NAME[/HASH] — in
// the shapes of Vault's documented transit API
// (https://developer.hashicorp.com/vault/api-docs/secret/transit), over
// keys it holds, checking the token, and records the requests.
package vaulttest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Server is a running fake Vault.
type Server struct {
	Token string
	Keys  map[string]crypto.Signer

	mu       sync.Mutex
	requests []string
	bodies   []map[string]any
}

// Start serves keys on 127.0.0.1 (a free port) until the test ends and
// points VAULT_ADDR and VAULT_TOKEN at it for the test.
func Start(t testing.TB, keys map[string]crypto.Signer) *Server {
	t.Helper()
	v := &Server{Token: "s.test-token", Keys: keys}
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	if s, ok := t.(interface{ Setenv(k, v string) }); ok {
		s.Setenv("VAULT_ADDR", srv.URL)
		s.Setenv("VAULT_TOKEN", v.Token)
		s.Setenv("TRANSIT_SECRET_ENGINE_PATH", "")
	}
	return v
}

// Requests returns the requests so far ("PUT /v1/transit/sign/k/sha2-256")
// and the JSON bodies of the sign requests, and forgets them.
func (v *Server) Requests() ([]string, []map[string]any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r, b := v.requests, v.bodies
	v.requests, v.bodies = nil, nil
	return r, b
}

// ServeHTTP answers one transit request.
func (v *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	v.requests = append(v.requests, r.Method+" "+r.URL.Path)
	v.mu.Unlock()
	if r.Header.Get("X-Vault-Token") != v.Token {
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
		return
	}
	reply := func(data map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"data": data})
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/transit/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "keys":
		k, ok := v.Keys[parts[1]]
		if !ok {
			http.Error(w, `{"errors":[]}`, http.StatusNotFound)
			return
		}
		entry := map[string]any{}
		switch pub := k.Public().(type) {
		case ed25519.PublicKey:
			entry["name"] = "ed25519"
			entry["public_key"] = base64.StdEncoding.EncodeToString(pub)
		default:
			der, _ := x509.MarshalPKIXPublicKey(pub)
			entry["name"] = "P-256"
			entry["public_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}
		reply(map[string]any{"keys": map[string]any{"1": entry}, "latest_version": 1})
	case (r.Method == http.MethodPut || r.Method == http.MethodPost) && len(parts) >= 2 && parts[0] == "sign":
		k, ok := v.Keys[parts[1]]
		if !ok {
			http.Error(w, `{"errors":[]}`, http.StatusNotFound)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		v.mu.Lock()
		v.bodies = append(v.bodies, body)
		v.mu.Unlock()
		input, err := base64.StdEncoding.DecodeString(body["input"].(string))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var sig []byte
		switch len(parts) {
		case 2: // no hash: ed25519 over the message
			sig, err = k.Sign(rand.Reader, input, crypto.Hash(0))
		case 3:
			if parts[2] != "sha2-256" || body["prehashed"] != true {
				http.Error(w, "want sha2-256 prehashed", http.StatusBadRequest)
				return
			}
			sig, err = k.Sign(rand.Reader, input, crypto.SHA256)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		reply(map[string]any{"signature": "vault:v1:" + base64.StdEncoding.EncodeToString(sig), "key_version": 1})
	default:
		http.Error(w, `{"errors":["unsupported path"]}`, http.StatusNotFound)
	}
}

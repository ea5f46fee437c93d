package imagepolicy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/toto-dev/toto/simplesigning"
)

// sigRegistry is a registry with the signature API extension of
// containers/image's docs/signature-protocols.md: its /v2/ answer says
// X-Registry-Supports-Signatures: 1, and /extensions/v2/REPO/signatures/
// DIGEST lists (GET) and adds (PUT, one object) signatures.
type sigRegistry struct {
	next http.Handler
	mu   sync.Mutex
	sigs map[string][]json.RawMessage // "REPO@DIGEST"
}

func (r *sigRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/v2/" || req.URL.Path == "/v2" {
		w.Header().Set("X-Registry-Supports-Signatures", "1")
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/extensions/v2/")
	if !ok {
		r.next.ServeHTTP(w, req)
		return
	}
	repo, digest, ok := strings.Cut(rest, "/signatures/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	key := repo + "@" + digest
	r.mu.Lock()
	defer r.mu.Unlock()
	switch req.Method {
	case http.MethodGet:
		list := r.sigs[key]
		if list == nil {
			list = []json.RawMessage{}
		}
		json.NewEncoder(w).Encode(map[string]any{"signatures": list})
	case http.MethodPut:
		b, err := io.ReadAll(req.Body)
		if err != nil || !json.Valid(b) {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		r.sigs[key] = append(r.sigs[key], b)
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

// A Portieris policy without storeURL reads the signatures from the
// registry's signature extension, as containers/image does for registries
// that have it (IBM Cloud Container Registry, OpenShift's): entries of
// another type or version are not signatures.
func TestSetSignatureExtension(t *testing.T) {
	reg := &sigRegistry{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), sigs: map[string][]json.RawMessage{}}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	e := newSimpleEnv(t)
	e.host = strings.TrimPrefix(srv.URL, "http://")
	write(t, filepath.Join(e.policies, "p.yaml"), fmt.Sprintf(`apiVersion: portieris.cloud.ibm.com/v1
kind: ClusterImagePolicy
metadata: {name: ext}
spec:
  repositories:
    - name: "%s/team/*"
      policy:
        simple:
          requirements: [{type: signedBy, keySecret: simple1pubkey}]
`, e.host))
	d := e.push(t, "team/app:1")
	s := e.set(t)
	ref := e.host + "/team/app:1"
	res, err := s.Evaluate(context.Background(), "default", ref)
	if err != nil || res.Decision.Allowed() || !strings.Contains(res.Err().Error(), "0 signatures read from the signature extension of "+e.host) {
		t.Fatalf("no signature yet: %v %v", err, res.Err())
	}
	payload, _ := (&simplesigning.Payload{DockerReference: ref, ManifestDigest: d.String()}).MarshalJSON()
	sig, err := simplesigning.Sign(payload, e.keys["simple1pubkey"], simplesigning.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put := func(version int, typ string) {
		body, _ := json.Marshal(map[string]any{"version": version, "type": typ, "name": d.String() + "@0123456789abcdef0123456789abcdef", "content": sig})
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/extensions/v2/team/app/signatures/"+d.String(), strings.NewReader(string(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("put: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	put(1, "atomic")
	put(2, "other")
	if res, err := s.Evaluate(context.Background(), "default", ref); err != nil || res.Decision.Allowed() {
		t.Fatalf("entries that are not signatures: %v %v", err, res.Err())
	}
	put(2, "atomic")
	res, err = s.Evaluate(context.Background(), "default", ref)
	if err != nil || res.Err() != nil || res.Digest != d.String() {
		t.Fatalf("signature in the extension: %v %v", err, res.Err())
	}
}

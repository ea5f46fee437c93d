package lookaside

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The registry signature API extension (OpenShift's registry, IBM Cloud
// Container Registry): a registry whose /v2/ answer carries
// HeaderSupportsSignatures: 1 serves an image's simple signing signatures
// at /extensions/v2/REPOSITORY/signatures/DIGEST, as containers/image's
// docs/signature-protocols.md describes. containers/image then reads and
// writes signatures there instead of a lookaside.
const HeaderSupportsSignatures = "X-Registry-Supports-Signatures"

// extensionSignature is one entry of the extension's list; only version 2
// entries of type "atomic" are signatures. The version is "version" in the
// protocol's description and "schemaVersion" in what containers/image
// (skopeo) writes: either counts.
type extensionSignature struct {
	Version       int    `json:"version"`
	SchemaVersion int    `json:"schemaVersion"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	Content       []byte `json:"content"`
}

// ExtensionURL is where a registry with the signature extension serves
// the signatures of repository@manifestDigest; registry is
// scheme://host[:port].
func ExtensionURL(registry *url.URL, repository, manifestDigest string) (*url.URL, error) {
	if !digestRE.MatchString(manifestDigest) {
		return nil, fmt.Errorf("%w: %q", ErrDigest, manifestDigest)
	}
	if repository == "" || strings.Contains(repository, "..") {
		return nil, fmt.Errorf("%w: repository %q", ErrConfig, repository)
	}
	u := *registry
	u.Path = "/extensions/v2/" + repository + "/signatures/" + manifestDigest
	u.RawPath = ""
	return &u, nil
}

// ReadExtension returns the signatures a registry's signature extension
// lists for repository@manifestDigest (registry: scheme://host[:port]),
// in order; none when it answers 404. client carries the registry's
// authentication (http.DefaultClient when nil). Other statuses, more than
// MaxSignatures signatures or one larger than MaxSignatureSize are errors.
func ReadExtension(ctx context.Context, client *http.Client, registry *url.URL, repository, manifestDigest string) ([][]byte, error) {
	u, err := ExtensionURL(registry, repository, manifestDigest)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading signatures from %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, &HTTPError{URL: u.Redacted(), StatusCode: resp.StatusCode, Status: resp.Status}
	}
	// base64 makes each signature 4/3 larger in the list.
	const max = MaxSignatures * (MaxSignatureSize/3*4 + 1024)
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading signatures from %s: %w", u.Redacted(), err)
	}
	if len(body) > max {
		return nil, fmt.Errorf("%w: %s lists more than %d bytes", ErrTooLarge, u.Redacted(), max)
	}
	out, err := parseExtensionList(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	return out, nil
}

// parseExtensionList reads the extension's answer: the signatures of its
// version 2 "atomic" entries, in order, bounded as lookaside reads are.
func parseExtensionList(body []byte) ([][]byte, error) {
	var list struct {
		Signatures []extensionSignature `json:"signatures"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("reading signatures: %w", err)
	}
	if len(list.Signatures) > MaxSignatures {
		return nil, fmt.Errorf("%w: %d signatures listed, more than %d", ErrTooMany, len(list.Signatures), MaxSignatures)
	}
	var out [][]byte
	for _, s := range list.Signatures {
		if (s.Version != 2 && s.SchemaVersion != 2) || s.Type != "atomic" {
			continue
		}
		if len(s.Content) > MaxSignatureSize {
			return nil, fmt.Errorf("%w: signature %q is more than %d bytes", ErrTooLarge, s.Name, MaxSignatureSize)
		}
		out = append(out, s.Content)
	}
	return out, nil
}

// SupportsExtension asks a registry (scheme://host[:port]) whether it
// serves signatures through the extension: its /v2/ answer (200 or 401,
// as containers/image reads it) carries HeaderSupportsSignatures: 1.
func SupportsExtension(ctx context.Context, client *http.Client, registry *url.URL) (bool, error) {
	u := *registry
	u.Path, u.RawPath = "/v2/", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("ping %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return false, nil
	}
	return resp.Header.Get(HeaderSupportsSignatures) == "1", nil
}

// Package timestamp asks an RFC 3161 timestamp authority (TSA) to sign the
// time at which a signature existed, and describes a TSA for a Sigstore
// trusted_root.json.
//
// The request is the one Sigstore clients send (sigstore-go's pkg/sign):
// the SHA-256 of the signature bytes, no nonce requirement beyond the
// library's, encoded by github.com/digitorus/timestamp. The answer, a DER
// TimeStampResp, goes unchanged into a bundle's
// verificationMaterial.timestampVerificationData; verifiers check it
// offline against the TSA certificate chain in the trusted root.
package timestamp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	dtimestamp "github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/toto-dev/toto/internal/endpoint"
	"github.com/toto-dev/toto/keys"
)

// ErrAuthority wraps every failure to obtain a timestamp (the TSA is
// unreachable, refuses, or answers something that does not parse or does
// not cover the signature).
var ErrAuthority = errors.New("timestamp authority")

// ErrConfig: the TSA URL is unusable; a usage error.
var ErrConfig = errors.New("timestamp authority configuration")

// maxResponse bounds a TSA answer (a response holds a chain of a few
// certificates).
const maxResponse = 1 << 20

// Options configure a TSA client.
type Options struct {
	// URL is the TSA's full RFC 3161 endpoint, for example
	// https://timestamp.sigstore.dev/api/v1/timestamp.
	URL string
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// HTTPClient is used instead of a default client (its Timeout is
	// then the caller's).
	HTTPClient *http.Client
}

// Authority is an RFC 3161 timestamp authority.
type Authority interface {
	// Timestamp returns a signed timestamp response (DER) over the
	// SHA-256 of signature.
	Timestamp(ctx context.Context, signature []byte) ([]byte, error)
	// URL names the TSA in messages.
	URL() string
}

// Client is an Authority reached over HTTP.
type Client struct {
	url  string
	http *http.Client
}

// New checks opts and returns a client. Nothing is contacted yet.
func New(opts Options) (*Client, error) {
	if err := checkURL(opts.URL); err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		t := opts.Timeout
		if t <= 0 {
			t = 30 * time.Second
		}
		hc = &http.Client{Timeout: t}
	}
	return &Client{url: opts.URL, http: hc}, nil
}

// URL is the TSA endpoint.
func (c *Client) URL() string { return c.url }

// Timestamp asks the TSA to timestamp the SHA-256 of signature, checks
// that the answer is a granted timestamp over exactly that digest, and
// returns the response bytes as a bundle carries them.
func (c *Client) Timestamp(ctx context.Context, signature []byte) ([]byte, error) {
	sum := sha256.Sum256(signature)
	req := &dtimestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:]}
	body, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthority, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthority, err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("User-Agent", "toto")
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrAuthority, c.url, err)
	}
	defer resp.Body.Close()
	out, err := readResponse(resp.Body, c.url)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("%w %s: HTTP %d: %s", ErrAuthority, c.url, resp.StatusCode, bytes.TrimSpace(out))
	}
	ts, err := dtimestamp.ParseResponse(out)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrAuthority, c.url, err)
	}
	if !bytes.Equal(ts.HashedMessage, sum[:]) {
		return nil, fmt.Errorf("%w %s: the timestamp covers another digest than the signature's", ErrAuthority, c.url)
	}
	return out, nil
}

// readResponse reads an authority's answer from url, at most maxResponse
// bytes: a longer one is an error, not cut short (a certificate chain cut
// short would lose its root and still parse).
func readResponse(body io.Reader, url string) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrAuthority, url, err)
	}
	if len(out) > maxResponse {
		return nil, fmt.Errorf("%w %s: response larger than %d bytes", ErrAuthority, url, maxResponse)
	}
	return out, nil
}

func checkURL(raw string) error {
	if err := endpoint.Check(raw); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// FetchCertChain reads the certificate chain a Sigstore timestamp
// authority publishes at certChainURL (for sigstore's timestamp-server,
// BASE/api/v1/timestamp/certchain): PEM certificates, leaf first. Use it
// to write a trusted root once, not when verifying.
func FetchCertChain(ctx context.Context, hc *http.Client, certChainURL string) ([]*x509.Certificate, error) {
	if err := checkURL(certChainURL); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certChainURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthority, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrAuthority, certChainURL, err)
	}
	defer resp.Body.Close()
	data, err := readResponse(resp.Body, certChainURL)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w %s: HTTP %d", ErrAuthority, certChainURL, resp.StatusCode)
	}
	return ParseCertChain(data)
}

// ParseCertChain parses PEM certificates, leaf first.
func ParseCertChain(data []byte) ([]*x509.Certificate, error) {
	out, _, err := keys.CertificatesFromPEM(data, true)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate chain: %w", ErrConfig, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: certificate chain: no PEM certificate", ErrConfig)
	}
	return out, nil
}

// TrustedAuthority describes a TSA for a trusted root (see
// root.NewTrustedRoot) from its chain, leaf first and root last: the leaf
// signs timestamps, the root anchors them. uri names it.
func TrustedAuthority(uri string, chain []*x509.Certificate) (*root.SigstoreTimestampingAuthority, error) {
	if len(chain) < 2 {
		return nil, fmt.Errorf("%w: a TSA chain needs at least a leaf and a root, got %d certificate(s)", ErrConfig, len(chain))
	}
	return &root.SigstoreTimestampingAuthority{
		Leaf:                chain[0],
		Intermediates:       chain[1 : len(chain)-1],
		Root:                chain[len(chain)-1],
		ValidityPeriodStart: chain[0].NotBefore,
		URI:                 uri,
	}, nil
}

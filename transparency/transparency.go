// Package transparency records signatures in a Rekor v2 transparency log
// (https://github.com/sigstore/rekor-tiles) and describes such a log for a
// Sigstore trusted_root.json.
//
// A Rekor v2 log answers an append with the entry, its inclusion proof and
// a checkpoint: a C2SP signed note over the tree head, whose origin is the
// log's host name. Package bundle embeds that entry in the bundle it
// creates; verifying it later needs no network: the inclusion proof, the
// checkpoint and the log's key in the trusted root suffice.
//
// The protocol client is rekor-tiles' own (pkg/client/write); the request
// is built as sigstore-go's signer builds it. (sigstore-go's pkg/sign itself
// is not used: it would add the Rekor v1 and Fulcio clients, about 50
// packages and four modules, to what every user of package bundle
// downloads.)
package transparency

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor-tiles/v2/pkg/client"
	"github.com/sigstore/rekor-tiles/v2/pkg/client/write"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/toto-dev/toto/internal/endpoint"
)

// ErrLog wraps every failure to record a signature in a log (the log is
// unreachable, refuses the entry, or answers something unusable).
var ErrLog = errors.New("transparency log")

// ErrConfig: the log's URL or key is unusable; a usage error.
var ErrConfig = errors.New("transparency log configuration")

// Entry is one signature to record.
type Entry struct {
	// Signed is the exact signed bytes (for a DSSE envelope, its PAE).
	// The log records their digest under the hash of the signing
	// algorithm (SHA-256 for ECDSA P-256 and RSA).
	Signed []byte
	// Signature is the signature over Signed.
	Signature []byte
	// PublicKey is the signer's key, for a keyed signature; Certificate
	// the signer's certificate instead. Exactly one is set.
	PublicKey   crypto.PublicKey
	Certificate *x509.Certificate
}

// Log is a transparency log that records a signature and proves it: the
// entry it returns carries an inclusion proof and a signed checkpoint.
type Log interface {
	Append(ctx context.Context, e Entry) (*protorekor.TransparencyLogEntry, error)
	// URL names the log in messages.
	URL() string
}

// Options configure a Rekor v2 client.
type Options struct {
	// URL is the log's base URL (for example
	// https://log2025-1.rekor.sigstore.dev); entries are appended at
	// URL/api/v2/log/entries. Its host name is the checkpoint origin.
	URL string
	// Timeout bounds one append (default 30s).
	Timeout time.Duration
}

// Rekor appends signatures to a Rekor v2 log with rekor-tiles' own
// client. It implements Log.
type Rekor struct {
	url    string
	client write.Client
}

// NewRekor checks opts and returns a client. Nothing is contacted yet.
func NewRekor(opts Options) (*Rekor, error) {
	if err := checkURL(opts.URL); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c, err := write.NewWriter(opts.URL, client.WithTimeout(timeout), client.WithUserAgent("toto"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Rekor{url: opts.URL, client: c}, nil
}

// URL is the log's base URL.
func (r *Rekor) URL() string { return r.url }

// Append records e as a hashedrekord v0.0.2 entry, the one kind Rekor v2
// accepts (for a DSSE envelope too: the digest is the PAE's, as
// sigstore-go's signer and verifier have it), and returns the entry with
// its inclusion proof and checkpoint.
//
// Rekor v2 checks the signature over the digest, so the algorithm must
// hash first: ECDSA and RSA PKCS#1 v1.5 qualify; an Ed25519 key is
// registered as Ed25519ph, so a pure Ed25519 signature (in-toto's scheme)
// is refused by the log, as is RSA-PSS.
func (r *Rekor) Append(ctx context.Context, e Entry) (*protorekor.TransparencyLogEntry, error) {
	req, err := hashedRekord(e)
	if err != nil {
		return nil, err
	}
	tle, err := r.client.Add(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrLog, r.url, err)
	}
	if tle.GetInclusionProof().GetCheckpoint().GetEnvelope() == "" {
		return nil, fmt.Errorf("%w %s: the entry came back without an inclusion proof and checkpoint", ErrLog, r.url)
	}
	return tle, nil
}

// hashedRekord builds the Rekor v2 request for e, as sigstore-go's signer
// does (pkg/sign, Rekor v2).
func hashedRekord(e Entry) (*rekorpb.HashedRekordRequestV002, error) {
	if len(e.Signature) == 0 {
		return nil, fmt.Errorf("%w: no signature", ErrLog)
	}
	pub := e.PublicKey
	v := &rekorpb.Verifier{}
	switch {
	case e.Certificate != nil && pub == nil:
		pub = e.Certificate.PublicKey
		v.Verifier = &rekorpb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: e.Certificate.Raw}}
	case e.Certificate == nil && pub != nil:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLog, err)
		}
		v.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: der}}
	default:
		return nil, fmt.Errorf("%w: give exactly one of a public key and a certificate", ErrLog)
	}
	alg, err := signature.GetDefaultAlgorithmDetails(pub, options.WithED25519ph())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLog, err)
	}
	h := alg.GetHashType()
	if h == crypto.Hash(0) {
		return nil, fmt.Errorf("%w: %v signatures are not pre-hashed; Rekor v2 records only digests", ErrLog, alg.GetSignatureAlgorithm())
	}
	v.KeyDetails = alg.GetSignatureAlgorithm()
	d := h.New()
	d.Write(e.Signed)
	return &rekorpb.HashedRekordRequestV002{
		Digest:    d.Sum(nil),
		Signature: &rekorpb.Signature{Content: e.Signature, Verifier: v},
	}, nil
}

func checkURL(raw string) error {
	if err := endpoint.Check(raw); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// Origin is the checkpoint origin of a Rekor v2 log at baseURL: its host
// name, without port, as verifiers derive it from the trusted root's
// baseUrl (a log must be started with this name, rekor-server
// --hostname).
func Origin(baseURL string) (string, error) {
	if err := checkURL(baseURL); err != nil {
		return "", err
	}
	u, _ := url.Parse(baseURL)
	return u.Hostname(), nil
}

// LogID is the identity of a Rekor v2 log in a trusted root (logId.keyId)
// and in its entries: the C2SP signed-note key hash, for an Ed25519 key
// SHA-256(origin || "\n" || 0x01 || the raw public key). (ECDSA log keys
// use the SHA-256 of their DER instead, as rekor-tiles does.)
func LogID(origin string, pub crypto.PublicKey) ([]byte, error) {
	_, id, err := note.KeyHash(origin, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return id, nil
}

// TrustedLog describes the Rekor v2 log at baseURL, signing checkpoints
// with pub since validFrom, as a trusted root lists it (see
// root.NewTrustedRoot): base URL, log id, SHA-256 Merkle tree.
func TrustedLog(baseURL string, pub crypto.PublicKey, validFrom time.Time) (*root.TransparencyLog, error) {
	origin, err := Origin(baseURL)
	if err != nil {
		return nil, err
	}
	id, err := LogID(origin, pub)
	if err != nil {
		return nil, err
	}
	return &root.TransparencyLog{
		BaseURL:             baseURL,
		ID:                  id,
		ValidityPeriodStart: validFrom,
		HashFunc:            crypto.SHA256,
		PublicKey:           pub,
		SignatureHashFunc:   crypto.SHA256,
	}, nil
}

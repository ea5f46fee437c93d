package notation

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/tspclient-go"

	"github.com/toto-dev/toto/image"
)

// SignOptions tune Sign.
type SignOptions struct {
	// Envelope is JWS (the default) or COSE.
	Envelope Envelope
	// Expiry, when positive, makes the signature expire that long after
	// signing (whole seconds, as notation requires).
	Expiry time.Duration
	// TSAURL, when set, has an RFC 3161 timestamp authority countersign
	// the signature (notation sign --timestamp-url). The TSA's response
	// must carry its certificate chain.
	TSAURL string
	// TSARoots are the TSA root certificates the timestamp must chain to
	// (notation sign --timestamp-root-cert); required with TSAURL.
	TSARoots []*x509.Certificate
	// HTTPClient reaches the TSA; nil means one with a 30 s timeout.
	HTTPClient *http.Client
	// UserMetadata is added to the signed payload's target descriptor
	// annotations (notation sign --user-metadata); keys must not start
	// with io.cncf.notary.
	UserMetadata map[string]string
	// SigningAgent is written into the signature; empty means "toto".
	SigningAgent string
}

// Signed describes a signature Sign attached.
type Signed struct {
	// Manifest is the signature manifest's descriptor, as listed.
	Manifest v1.Descriptor
	// Subject is the signed image's manifest.
	Subject v1.Descriptor
	// MediaType is the envelope's.
	MediaType string
	// Thumbprints of the signing chain, leaf first.
	Thumbprints []string
	// Timestamped is true when a TSA countersigned it.
	Timestamped bool
}

// Sign signs the image's manifest descriptor with key (an *rsa.PrivateKey
// or *ecdsa.PrivateKey, or an ed25519 key notation refuses) and its
// certificate chain (leaf first) with notation-go's generic signer, and
// attaches the signature to the image (see the package doc). The chain is
// checked first with CheckChain, so a chain notation would refuse fails
// here with a *CertificateError rather than at verification. A signature
// written but not recorded where readers list referrers is an
// *image.AttachError.
func Sign(ctx context.Context, t *image.Target, key crypto.PrivateKey, chain []*x509.Certificate, opts SignOptions) (*Signed, error) {
	mt, err := opts.Envelope.MediaType()
	if err != nil {
		return nil, err
	}
	if opts.Expiry < 0 || opts.Expiry%time.Second != 0 {
		return nil, fmt.Errorf("%w: expiry %s: must be a positive whole number of seconds", ErrUsage, opts.Expiry)
	}
	var pub crypto.PublicKey
	if s, ok := key.(crypto.Signer); ok {
		pub = s.Public()
	} else {
		return nil, fmt.Errorf("%w: the key is not a private key", ErrUsage)
	}
	if err := CheckChain(pub, chain, time.Now()); err != nil {
		return nil, err
	}
	s, err := signer.NewGenericSigner(key, chain)
	if err != nil {
		return nil, &CertificateError{Err: err}
	}
	agent := opts.SigningAgent
	if agent == "" {
		agent = "toto"
	}
	so := notationgo.SignOptions{
		SignerSignOptions: notationgo.SignerSignOptions{
			SignatureMediaType: mt,
			ExpiryDuration:     opts.Expiry,
			SigningAgent:       agent,
		},
		ArtifactReference: t.Digest(),
		UserMetadata:      opts.UserMetadata,
	}
	if opts.TSAURL != "" {
		if len(opts.TSARoots) == 0 {
			return nil, fmt.Errorf("%w: a TSA URL needs the TSA's root certificate (TSARoots, --tsa-root-cert) to check the timestamp against", ErrUsage)
		}
		hc := opts.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 30 * time.Second}
		}
		ts, err := tspclient.NewHTTPTimestamper(hc, opts.TSAURL)
		if err != nil {
			return nil, fmt.Errorf("%w: TSA URL %q: %v", ErrUsage, opts.TSAURL, err)
		}
		pool := x509.NewCertPool()
		for _, c := range opts.TSARoots {
			pool.AddCert(c)
		}
		// No TSARevocationValidator: signing does not reach OCSP or
		// CRL servers; the TSA chain's revocation is checked when
		// verifying (online if asked).
		so.Timestamper, so.TSARootCAs = ts, pool
	} else if len(opts.TSARoots) > 0 {
		return nil, fmt.Errorf("%w: TSA root certificates without a TSA URL", ErrUsage)
	}
	repo := &repository{t: t}
	if _, err := notationgo.Sign(ctx, s, repo, so); err != nil {
		if repo.pushErr != nil {
			return nil, fmt.Errorf("notation sign %s: %w", t, repo.pushErr)
		}
		var ce *CertificateError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("notation sign %s: %w", t, err)
	}
	return &Signed{
		Manifest:    repo.attached,
		Subject:     t.Descriptor,
		MediaType:   mt,
		Thumbprints: Thumbprints(chain),
		Timestamped: opts.TSAURL != "",
	}, nil
}

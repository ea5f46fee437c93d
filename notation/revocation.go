package notation

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/result"
)

// Revocation says how certificate revocation is checked.
type Revocation string

// The revocation modes.
const (
	// RevocationOffline (the default) reaches no server: a chain whose
	// certificates name no OCSP server and no CRL distribution point is
	// not revocable, which is what an online check concludes too; the
	// revocation of a certificate that names one is not checked — the
	// check is reported as skipped offline, naming the certificates and
	// their endpoints (SignatureResult.Offline), and does not fail the
	// signature. This holds for the signing chain (the revocation check)
	// and the TSA's chain (part of the authentic timestamp check).
	RevocationOffline Revocation = "offline"
	// RevocationOnline checks with notation-go's OCSP and CRL clients.
	RevocationOnline Revocation = "online"
)

// ErrOffline is the reason a certificate's revocation was not checked.
var ErrOffline = errors.New("revocation not checked offline")

// offlineValidator is a notation-core-go revocation.Validator that makes
// no network request. A certificate naming OCSP or CRL endpoints is
// answered as not revocable (so notation-go goes on) and recorded, so
// the report says its revocation was not checked.
type offlineValidator struct {
	mu      sync.Mutex
	skipped []string
}

var _ revocation.Validator = (*offlineValidator)(nil)

func (v *offlineValidator) ValidateContext(_ context.Context, opts revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	out := make([]*result.CertRevocationResult, len(opts.CertChain))
	for i, c := range opts.CertChain {
		var endpoints []string
		endpoints = append(endpoints, c.OCSPServer...)
		endpoints = append(endpoints, c.CRLDistributionPoints...)
		selfSigned := i == len(opts.CertChain)-1 && bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
		if len(endpoints) == 0 || selfSigned {
			out[i] = &result.CertRevocationResult{
				Result:        result.ResultNonRevokable,
				ServerResults: []*result.ServerResult{{Result: result.ResultNonRevokable}},
			}
			continue
		}
		v.skip(c, endpoints)
		out[i] = &result.CertRevocationResult{
			Result: result.ResultNonRevokable,
			ServerResults: []*result.ServerResult{{
				Result: result.ResultNonRevokable,
				Server: strings.Join(endpoints, ", "),
				Error:  ErrOffline,
			}},
		}
	}
	return out, nil
}

func (v *offlineValidator) skip(c *x509.Certificate, endpoints []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.skipped = append(v.skipped, fmt.Sprintf("%s (%s)", c.Subject, strings.Join(endpoints, ", ")))
}

// take returns and forgets what was skipped.
func (v *offlineValidator) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.skipped
	v.skipped = nil
	return s
}

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
	// not revocable, which is what an online check concludes too; a
	// certificate that names one is reported as not checked, and the
	// trust policy's revocation action decides what that means
	// (enforce: the signature fails; log: it passes and says so).
	RevocationOffline Revocation = "offline"
	// RevocationOnline checks with notation-go's OCSP and CRL clients.
	RevocationOnline Revocation = "online"
)

// ErrOffline is the reason a certificate's revocation was not checked.
var ErrOffline = errors.New("revocation not checked offline")

// offlineValidator is a notation-core-go revocation.Validator that makes
// no network request. It records which certificates it could not check.
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
			Result: result.ResultUnknown,
			ServerResults: []*result.ServerResult{{
				Result: result.ResultUnknown,
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

package keys

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// CertificatesFromPEM parses the PEM CERTIFICATE blocks of data, in
// order. Text before and between blocks is ignored, as pem.Decode does;
// rest is what follows the last block, for callers that refuse trailing
// bytes. A block of another type is skipped when skipOther is set, else
// refused. A certificate that does not parse is returned as x509's error,
// unwrapped, so each caller wraps it in its own error. No block at all is
// not an error here: callers differ in what comes next (an error naming
// their input, or a DER fallback).
//
// sigstore's cryptoutils.UnmarshalCertificatesFromPEM does not serve:
// it parses every block as a certificate whatever its type, and refuses
// text after the last block.
func CertificatesFromPEM(data []byte, skipOther bool) (certs []*x509.Certificate, rest []byte, err error) {
	rest = data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return certs, rest, nil
		}
		if b.Type != "CERTIFICATE" {
			if skipOther {
				continue
			}
			return nil, nil, fmt.Errorf("PEM block %q is not a CERTIFICATE", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, err
		}
		certs = append(certs, c)
	}
}

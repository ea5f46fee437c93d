package notation

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	corex509 "github.com/notaryproject/notation-core-go/x509"

	totokeys "github.com/toto-dev/toto/keys"
)

// KeyType names a signing key algorithm the Notary Project signing scheme
// allows (RSA 2048/3072/4096 with PS256/384/512, ECDSA P-256/384/521 with
// ES256/384/512).
type KeyType string

// The key types GenerateCertificates makes.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	ECDSAP521 KeyType = "ecdsa-p521"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
	RSA4096   KeyType = "rsa-4096"
)

// CertificateOptions tune GenerateCertificates.
type CertificateOptions struct {
	// Subject is the leaf's subject; empty means CN=toto signer. The
	// trust policy's trustedIdentities name it as "x509.subject: C=..,
	// ST=.., O=.., CN=.." — notation requires C, ST and O in a pinned
	// subject, so give them when the identity is to be pinned.
	Subject pkix.Name
	// CASubject is the CA's; empty means CN=toto notation CA, O=<the
	// leaf's O>.
	CASubject pkix.Name
	// KeyType of both keys; empty means ECDSAP256.
	KeyType KeyType
	// NotBefore is when both start; zero means now minus one minute.
	NotBefore time.Time
	// Validity of the leaf; zero means one year. The CA is valid five
	// times as long.
	Validity time.Duration
	// OCSPServer and CRLDistributionPoints go into the leaf (for tests of
	// revocation checking).
	OCSPServer, CRLDistributionPoints []string
	// LeafKeyUsage and LeafExtKeyUsage replace the leaf's usages when
	// set (for tests of chains notation refuses).
	LeafKeyUsage    x509.KeyUsage
	LeafExtKeyUsage []x509.ExtKeyUsage
}

// Certificates is a CA and a leaf signing certificate it issued, with
// their keys: what notation needs to sign (leaf key + chain leaf,CA) and
// to verify (the CA in a trust store of type ca).
type Certificates struct {
	CA    *x509.Certificate
	CAKey crypto.Signer
	Leaf  *x509.Certificate
	Key   crypto.Signer
}

// GenerateCertificates makes a self-signed CA (basicConstraints CA,
// pathLen 0, keyCertSign) and a leaf it issues that notation accepts for
// signing: digitalSignature key usage, codeSigning extended key usage,
// not a CA. It is for setting up a test or a small private PKI; a
// production chain usually comes from an existing CA (Sign takes any key
// and chain that pass CheckChain).
func GenerateCertificates(opts CertificateOptions) (*Certificates, error) {
	kt := opts.KeyType
	if kt == "" {
		kt = ECDSAP256
	}
	caKey, err := newKey(kt)
	if err != nil {
		return nil, err
	}
	key, err := newKey(kt)
	if err != nil {
		return nil, err
	}
	nb := opts.NotBefore
	if nb.IsZero() {
		nb = time.Now().Add(-time.Minute)
	}
	validity := opts.Validity
	if validity <= 0 {
		validity = 365 * 24 * time.Hour
	}
	subject := opts.Subject
	if subject.String() == "" {
		subject = pkix.Name{CommonName: "toto signer"}
	}
	caSubject := opts.CASubject
	if caSubject.String() == "" {
		caSubject = pkix.Name{CommonName: "toto notation CA", Organization: subject.Organization}
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               caSubject,
		NotBefore:             nb,
		NotAfter:              nb.Add(5 * validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               subject,
		NotBefore:             nb,
		NotAfter:              nb.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		OCSPServer:            opts.OCSPServer,
		CRLDistributionPoints: opts.CRLDistributionPoints,
	}
	if opts.LeafKeyUsage != 0 {
		leafTmpl.KeyUsage = opts.LeafKeyUsage
	}
	if opts.LeafExtKeyUsage != nil {
		leafTmpl.ExtKeyUsage = opts.LeafExtKeyUsage
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("create signing certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	return &Certificates{CA: ca, CAKey: caKey, Leaf: leaf, Key: key}, nil
}

func newKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ECDSAP521:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("%w: unknown key type %q (want ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072 or rsa-4096)", ErrUsage, string(kt))
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Add(n, big.NewInt(1))
}

// Chain is the signing chain, leaf first.
func (c *Certificates) Chain() []*x509.Certificate { return []*x509.Certificate{c.Leaf, c.CA} }

// ChainPEM is the signing chain as notation's --cert-chain takes it:
// PEM, leaf first, then the CA.
func (c *Certificates) ChainPEM() []byte { return CertificatesPEM(c.Chain()...) }

// CAPEM is the CA certificate, to put in a trust store of type ca.
func (c *Certificates) CAPEM() []byte { return CertificatesPEM(c.CA) }

// KeyPEM is the leaf's private key, unencrypted PKCS#8 PEM.
func (c *Certificates) KeyPEM() ([]byte, error) { return PrivateKeyPEM(c.Key) }

// CertificatesPEM encodes certificates as PEM, in order.
func CertificatesPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// PrivateKeyPEM encodes a private key as unencrypted PKCS#8 PEM.
func PrivateKeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseCertificates reads PEM or DER certificates (as notation's trust
// store and --cert-chain do).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	rest := bytes.TrimSpace(data)
	if len(rest) == 0 {
		return nil, &CertificateError{Err: errors.New("no certificate")}
	}
	if !bytes.HasPrefix(rest, []byte("-----BEGIN")) {
		cs, err := x509.ParseCertificates(rest)
		if err != nil {
			return nil, &CertificateError{Err: err}
		}
		return cs, nil
	}
	certs, rest, err := totokeys.CertificatesFromPEM(rest, false)
	if err != nil {
		return nil, &CertificateError{Err: err}
	}
	// Unlike a PEM bundle elsewhere, notation refuses anything after the
	// last certificate, and a PEM file without any.
	if len(certs) == 0 || len(bytes.TrimSpace(rest)) > 0 {
		return nil, &CertificateError{Err: errors.New("malformed PEM")}
	}
	return certs, nil
}

// CheckChain checks, before signing, what notation will check when
// verifying: the chain is ordered leaf first and each certificate is
// issued by the next, the last is self-signed (a root) or issued by a
// CA notation's trust store will hold, the leaf has the digitalSignature
// key usage and the codeSigning extended key usage and is not a CA, every
// certificate is valid at the given time, and key is the leaf's.
// (notation-core-go's ValidateCodeSigningCertChain.)
func CheckChain(key crypto.PublicKey, chain []*x509.Certificate, at time.Time) error {
	if len(chain) == 0 {
		return &CertificateError{Err: errors.New("empty certificate chain (notation signs with X.509 chains only, not bare keys)")}
	}
	if at.IsZero() {
		at = time.Now()
	}
	if err := corex509.ValidateCodeSigningCertChain(chain, &at); err != nil {
		return &CertificateError{Err: err}
	}
	if key != nil {
		pk, ok := key.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pk.Equal(chain[0].PublicKey) {
			return &CertificateError{Err: fmt.Errorf("the key is not the signing certificate's (%s)", chain[0].Subject)}
		}
	}
	return nil
}

// Thumbprints are the SHA-256 thumbprints of the chain, hex, as in the
// io.cncf.notary.x509chain.thumbprint#S256 annotation.
func Thumbprints(chain []*x509.Certificate) []string {
	out := make([]string, len(chain))
	for i, c := range chain {
		s := sha256.Sum256(c.Raw)
		out[i] = hex.EncodeToString(s[:])
	}
	return out
}

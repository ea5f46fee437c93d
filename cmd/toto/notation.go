package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corex509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/notation"
)

// toto notation: Notary Project signatures (docs/notation.md). Once
// cmd/toto/image.go is free, sign folds into `toto image sign --format
// notation` and verify into `toto image verify --notation-policy`, both
// calling the same notation.Sign / notation.Verify as here.
func newNotationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notation",
		Short: "Sign and verify images with Notary Project (notation) signatures",
		Long: `Sign container images as notation does (JWS or COSE envelopes, X.509
certificate chains, optional RFC 3161 timestamps) and verify them under a
notation trust policy (trustpolicy.json) and trust store, with
notation-go as the library.

Images are REGISTRY/REPO:TAG, REGISTRY/REPO@sha256:HEX or oci-layout:DIR
(see 'toto image'). Exit codes: 0 verified, 1 verification failed,
2 usage or input error.`,
	}
	cmd.AddCommand(newNotationSignCmd(), newNotationVerifyCmd(), newNotationCertCmd())
	return cmd
}

// notationSignFlags are the flags of a notation signature: toto notation
// sign, and toto image sign --format notation (which shares --key and
// --tsa-url with the other formats).
type notationSignFlags struct {
	keyPath, chainPath, envelope, tsaURL string
	tsaRoots, metadata                   []string
	expiry                               time.Duration
}

// notationSignFlagNames are the flags only --format notation takes.
var notationSignFlagNames = []string{"cert-chain", "envelope", "tsa-root-cert", "expiry", "user-metadata"}

// register adds the notation-only flags (not --key and --tsa-url, which
// the caller owns).
func (f *notationSignFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.chainPath, "cert-chain", "", "notation: certificate chain, PEM, leaf first")
	fl.StringVar(&f.envelope, "envelope", "jws", "notation: signature envelope, jws or cose")
	fl.StringArrayVar(&f.tsaRoots, "tsa-root-cert", nil, "notation: the TSA's root certificate (PEM or DER; repeatable; required with --tsa-url)")
	fl.DurationVar(&f.expiry, "expiry", 0, "notation: make the signature expire this long after signing (e.g. 720h)")
	fl.StringArrayVar(&f.metadata, "user-metadata", nil, "notation: KEY=VALUE added to the signed payload (repeatable)")
}

// signer loads the key, chain and options the flags name, and returns
// what signs one image with them (toto image sign --format notation, and
// migrate-dct --format notation for every tag).
func (f *notationSignFlags) signer() (func(context.Context, *image.Target) (*notation.Signed, error), error) {
	if f.keyPath == "" || f.chainPath == "" {
		return nil, errors.New("--key and --cert-chain are required")
	}
	k, err := loadPrivate(f.keyPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := k.MarshalPEM(true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.keyPath, err)
	}
	priv, err := corex509.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.keyPath, err)
	}
	chain, err := readCerts(f.chainPath)
	if err != nil {
		return nil, err
	}
	opts := notation.SignOptions{Envelope: notation.Envelope(f.envelope), Expiry: f.expiry, TSAURL: f.tsaURL}
	for _, p := range f.tsaRoots {
		cs, err := readCerts(p)
		if err != nil {
			return nil, err
		}
		opts.TSARoots = append(opts.TSARoots, cs...)
	}
	if opts.UserMetadata, err = parseMetadata(f.metadata); err != nil {
		return nil, err
	}
	return func(ctx context.Context, t *image.Target) (*notation.Signed, error) {
		return notation.Sign(ctx, t, priv, chain, opts)
	}, nil
}

// notationSign signs IMAGE with a notation signature and attaches it.
func notationSign(cmd *cobra.Command, ref string, f *notationSignFlags, asJSON bool) error {
	sign, err := f.signer()
	if err != nil {
		return err
	}
	t, err := openImage(cmd, ref)
	if err != nil {
		return err
	}
	warnTag(cmd, t)
	s, err := sign(cmd.Context(), t)
	if err != nil {
		if errors.Is(err, image.ErrNotAttached) {
			return failed(err) // written, not listed: exit 1 as toto image sign
		}
		return err
	}
	if asJSON {
		return writeJSON(cmd, map[string]any{
			"image": t.String(), "signature": s.Manifest.Digest.String(), "mediaType": s.MediaType,
			"thumbprints": s.Thumbprints, "timestamped": s.Timestamped,
		})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signed %s\nsignature %s (%s)\n", t, s.Manifest.Digest, s.MediaType)
	return nil
}

func newNotationSignCmd() *cobra.Command {
	var f notationSignFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sign --key KEY --cert-chain CHAIN IMAGE",
		Short: "Sign an image's manifest digest and attach the signature as notation does",
		Long: `Sign an image's manifest digest with a private key and its certificate
chain (PEM, leaf first) and attach the signature manifest (artifact type
application/vnd.cncf.notary.signature) as a referrer: the registry's
referrers API or its sha256-HEX index, or the OCI layout's index.json.
The same as toto image sign --format notation.

--key may be a plain PEM private key or an encrypted one (the password is
read from TOTO_PASSWORD, then COSIGN_PASSWORD, then asked for). The chain
must be usable by notation: the leaf with the digitalSignature key usage
and the codeSigning extended key usage, each certificate issued by the
next.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return notationSign(cmd, args[0], &f, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.keyPath, "key", "", "private key (PEM; encrypted keys ask for their password)")
	fl.StringVar(&f.tsaURL, "tsa-url", "", "RFC 3161 timestamp authority URL")
	f.register(cmd)
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// notationVerifyFlags are the flags of notation verification: toto
// notation verify, and toto image verify --notation-policy.
type notationVerifyFlags struct {
	policyPath, storeDir, scope, revocation string
	metadata                                []string
}

// notationVerifyFlagNames are the flags only --notation-policy takes (in
// toto image verify).
var notationVerifyFlagNames = []string{"trust-store", "scope", "revocation", "user-metadata"}

func (f *notationVerifyFlags) register(cmd *cobra.Command, prefix string) {
	fl := cmd.Flags()
	fl.StringVar(&f.storeDir, "trust-store", "", prefix+"notation trust store folder")
	fl.StringVar(&f.scope, "scope", "", prefix+"registry scope to pick the policy statement by (default: the image's repository, or local/NAME)")
	fl.StringVar(&f.revocation, "revocation", "offline", prefix+"revocation checking: offline or online")
	fl.StringArrayVar(&f.metadata, "user-metadata", nil, prefix+"KEY=VALUE that must be in the signed payload (repeatable)")
}

// notationVerify verifies IMAGE's notation signatures under the policy.
func notationVerify(cmd *cobra.Command, ref string, f *notationVerifyFlags, asJSON bool) error {
	if f.policyPath == "" || f.storeDir == "" {
		return errors.New("a notation trust policy and --trust-store are required")
	}
	p, err := notation.LoadPolicy(f.policyPath)
	if err != nil {
		return err
	}
	s, err := notation.OpenTrustStore(f.storeDir)
	if err != nil {
		return err
	}
	opts := notation.VerifyOptions{Policy: p, TrustStore: s, Scope: f.scope, Revocation: notation.Revocation(f.revocation)}
	if opts.UserMetadata, err = parseMetadata(f.metadata); err != nil {
		return err
	}
	t, err := openImage(cmd, ref)
	if err != nil {
		return err
	}
	r, err := notation.Verify(cmd.Context(), t, opts)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(cmd, r); err != nil {
			return err
		}
	} else {
		printNotationReport(cmd, r)
	}
	if err := r.Err(); err != nil {
		if asJSON {
			return failed(errors.New(""))
		}
		return failed(err)
	}
	return nil
}

func newNotationVerifyCmd() *cobra.Command {
	var f notationVerifyFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify --policy trustpolicy.json --trust-store DIR IMAGE",
		Short: "Verify an image's Notary Project signatures under a notation trust policy",
		Long: `Verify every Notary Project signature of an image with notation-go under a
trust policy and trust store, reporting each check (integrity,
authenticity, authentic timestamp, expiry, revocation) with the action the
policy's level gives it (enforce, log, skip). The image passes when one
signature verifies, or when the applicable policy statement's level is skip.
The same as toto image verify --notation-policy.

The policy statement is picked by the image's repository
(registry.example/app), or local/NAME for oci-layout:DIR (NAME: the
folder's base name, lower-cased); --scope overrides it.

--trust-store is the folder holding x509/{ca,signingAuthority,tsa}/NAME,
or a notation configuration folder holding truststore/.

Revocation is checked offline by default: a chain naming no OCSP server or
CRL is not revocable; for a certificate that names one, the revocation
check is reported as skipped offline, naming the certificate and its
endpoints, and does not fail the signature. --revocation online checks with
OCSP and CRLs (an unreachable responder then fails an enforced check).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return notationVerify(cmd, args[0], &f, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.policyPath, "policy", "", "notation trust policy (trustpolicy.json)")
	fl.StringVar(&f.policyPath, "notation-policy", "", "alias of --policy")
	f.register(cmd, "")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printNotationReport(cmd *cobra.Command, r *notation.Report) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s\n  trust policy statement %q, level %s, revocation %s\n", r.Image, r.Statement, r.Level, r.Revocation)
	if r.Skip() {
		fmt.Fprintln(w, "  level skip: signatures are not verified; allowed")
		return
	}
	if len(r.Signatures) == 0 {
		fmt.Fprintln(w, "  no Notary Project signature found")
	}
	for _, s := range r.Signatures {
		status := "FAILED"
		if s.Verified {
			status = "verified"
		}
		fmt.Fprintf(w, "  signature %s (%s): %s\n", s.Manifest, s.MediaType, status)
		if s.Signer != "" {
			fmt.Fprintf(w, "    signer %s (%s", s.Signer, s.SigningScheme)
			if s.Timestamped {
				fmt.Fprint(w, ", timestamped")
			}
			fmt.Fprintln(w, ")")
		}
		for _, c := range s.Checks {
			line := fmt.Sprintf("    %-19s %-7s %s", c.Type, c.Action, c.Outcome)
			if c.Reason != "" {
				line += ": " + c.Reason
			}
			fmt.Fprintln(w, line)
		}
		for _, o := range s.Offline {
			fmt.Fprintf(w, "    not checked offline: %s\n", o)
		}
		if !s.Verified && s.Reason != "" {
			fmt.Fprintf(w, "    reason: %s\n", s.Reason)
		}
	}
}

func newNotationCertCmd() *cobra.Command {
	var (
		out, subject, keyType string
		validity              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "generate-cert --out DIR --subject 'C=US,ST=WA,O=Example,CN=signer'",
		Short: "Create a CA and a notation signing certificate (for tests and small private PKIs)",
		Long: `Create a self-signed CA and a leaf signing certificate it issues, usable by
notation: DIR/ca.crt (put it in a trust store of type ca), DIR/signer.key
(PKCS#8 PEM, unencrypted) and DIR/signer.crt (the chain, leaf first, for
--cert-chain). notation pins a signer by subject only when the subject has
C, ST and O.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			return writeX509(cmd, filepath.Join(out, "signer.key"), filepath.Join(out, "signer.crt"), filepath.Join(out, "ca.crt"), subject, keyType, validity)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "folder to write ca.crt, signer.key and signer.crt into")
	f.StringVar(&subject, "subject", "C=US,ST=WA,O=toto,CN=toto signer", "the signing certificate's subject")
	f.StringVar(&keyType, "key-type", string(notation.ECDSAP256), "ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072 or rsa-4096")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "how long the signing certificate is valid")
	return cmd
}

// generateX509 is `toto key generate --type x509 -o NAME [--uid SUBJECT]`:
// NAME.key, NAME.crt (the chain) and NAME.ca.crt. A subject without "="
// is a common name, with C=US, ST=WA, O=toto added so notation can pin it.
func generateX509(cmd *cobra.Command, name, subject string) error {
	if !strings.Contains(subject, "=") {
		subject = "C=US,ST=WA,O=toto,CN=" + subject
	}
	return writeX509(cmd, name+".key", name+".crt", name+".ca.crt", subject, string(notation.ECDSAP256), 365*24*time.Hour)
}

// writeX509 makes a CA and a notation signing certificate and writes the
// key (PKCS#8, 0600), the chain (leaf, CA) and the CA certificate.
func writeX509(cmd *cobra.Command, keyPath, chainPath, caPath, subject, keyType string, validity time.Duration) error {
	name, err := parseDN(subject)
	if err != nil {
		return err
	}
	if err := refuseOverwrite(caPath, keyPath, chainPath); err != nil {
		return err
	}
	c, err := notation.GenerateCertificates(notation.CertificateOptions{Subject: name, KeyType: notation.KeyType(keyType), Validity: validity})
	if err != nil {
		return err
	}
	keyPEM, err := c.KeyPEM()
	if err != nil {
		return err
	}
	for _, w := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{caPath, c.CAPEM(), 0o644}, {keyPath, keyPEM, 0o600}, {chainPath, c.ChainPEM(), 0o644}} {
		if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(w.path, w.data, w.mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s, %s, %s\ntrusted identity: x509.subject: %s\n", caPath, keyPath, chainPath, c.Leaf.Subject)
	return nil
}

// parseDN reads "C=US,ST=WA,O=Org,OU=Unit,L=City,CN=name".
func parseDN(s string) (pkix.Name, error) {
	var n pkix.Name
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || v == "" {
			return n, fmt.Errorf("--subject: %q is not ATTR=VALUE", part)
		}
		switch strings.ToUpper(k) {
		case "C":
			n.Country = append(n.Country, v)
		case "ST", "S":
			n.Province = append(n.Province, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "CN":
			n.CommonName = v
		default:
			return n, fmt.Errorf("--subject: unknown attribute %q (C, ST, L, O, OU, CN)", k)
		}
	}
	return n, nil
}

func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	cs, err := notation.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

func parseMetadata(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--user-metadata %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

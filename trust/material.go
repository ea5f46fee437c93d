package trust

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Target naming conventions for trust material other verifiers read
// (docs/trust.md).
const (
	// TargetNotationDir holds notation configurations, one set per NAME:
	// "toto/notation/NAME/trustpolicy.json" (optional) and the trust
	// store certificates "toto/notation/NAME/truststore/x509/TYPE/STORE/FILE"
	// (TYPE ca, signingAuthority or tsa), laid out as notation's own
	// configuration folder is (~/.config/notation).
	TargetNotationDir = "toto/notation/"
	// TargetKeyringsDir holds the key files a containers-policy.json
	// names by keyPath, "toto/keyrings/NAME": OpenPGP public keyrings
	// (binary or armored) for signedBy, PEM public keys for
	// sigstoreSigned.
	TargetKeyringsDir = "toto/keyrings/"
	// TargetDCTDir holds Docker Content Trust root certificates, one
	// "toto/dct/GUN/root.pem" per repository (GUN as notary names it,
	// e.g. docker.io/acme/app): the pin toto image verify --dct-server
	// uses instead of trusting the first root it sees.
	TargetDCTDir = "toto/dct/"
)

// DCTRootTarget is the target of gun's DCT root certificate.
func DCTRootTarget(gun string) string { return TargetDCTDir + gun + "/root.pem" }

// NotationTypes are the trust store types notation reads.
var NotationTypes = []string{"ca", "signingAuthority", "tsa"}

// NotationConfig is one notation configuration delivered as targets.
type NotationConfig struct {
	// TrustPolicy is trustpolicy.json as read; nil when the set has none.
	TrustPolicy []byte
	// Certificates are the trust store's files by their path in the
	// trust store: "x509/TYPE/STORE/FILE".
	Certificates map[string][]byte
}

// SplitNotationTarget splits a target name under TargetNotationDir into
// the set's NAME and the path inside it ("trustpolicy.json", or
// "truststore/x509/TYPE/STORE/FILE"), checking the path is one notation
// reads; ok is false for names outside TargetNotationDir.
func SplitNotationTarget(target string) (set, rel string, ok bool, err error) {
	rest, found := strings.CutPrefix(target, TargetNotationDir)
	if !found {
		return "", "", false, nil
	}
	set, rel, _ = strings.Cut(rest, "/")
	if err := checkElem(set); err != nil {
		return "", "", true, fmt.Errorf("%w: %s: set name: %w", ErrBadTarget, target, err)
	}
	if rel == "trustpolicy.json" {
		return set, rel, true, nil
	}
	parts := strings.Split(rel, "/")
	if len(parts) != 5 || parts[0] != "truststore" || parts[1] != "x509" {
		return "", "", true, fmt.Errorf("%w: %s: want %sNAME/trustpolicy.json or %sNAME/truststore/x509/TYPE/STORE/FILE", ErrBadTarget, target, TargetNotationDir, TargetNotationDir)
	}
	known := false
	for _, ty := range NotationTypes {
		known = known || parts[2] == ty
	}
	if !known {
		return "", "", true, fmt.Errorf("%w: %s: trust store type %q: want one of %s", ErrBadTarget, target, parts[2], strings.Join(NotationTypes, ", "))
	}
	for _, el := range parts[3:] {
		if err := checkElem(el); err != nil {
			return "", "", true, fmt.Errorf("%w: %s: %w", ErrBadTarget, target, err)
		}
	}
	return set, rel, true, nil
}

// checkElem accepts one path element a folder can hold safely.
func checkElem(el string) error {
	if el == "" || el == "." || el == ".." || strings.ContainsAny(el, `/\`) || strings.HasPrefix(el, ".") {
		return fmt.Errorf("%q is not a plain file or folder name", el)
	}
	return nil
}

// WriteDir writes the configuration into dir as a notation configuration
// folder (dir/trustpolicy.json, dir/truststore/x509/...), the layout
// notation-go's trust store reads, so that verification goes through
// notation-go's own reader. dir must not hold a trust store already.
func (c *NotationConfig) WriteDir(dir string) error {
	if c.TrustPolicy != nil {
		if err := writeNew(filepath.Join(dir, "trustpolicy.json"), c.TrustPolicy); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(c.Certificates))
	for n := range c.Certificates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, _, _, err := SplitNotationTarget(TargetNotationDir + "x/truststore/" + n); err != nil || path.Clean(n) != n {
			return fmt.Errorf("%w: trust store file %q", ErrBadTarget, n)
		}
		p := filepath.Join(dir, "truststore", filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeNew(p, c.Certificates[n]); err != nil {
			return err
		}
	}
	return nil
}

func writeNew(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// KeyringTarget is the target a containers-policy.json keyPath is read
// from when the keys come from TUF: TargetKeyringsDir + the file's base
// name, so a policy written for /etc/pki/containers/release.gpg reads
// toto/keyrings/release.gpg.
func KeyringTarget(keyPath string) string {
	return TargetKeyringsDir + path.Base(filepath.ToSlash(keyPath))
}

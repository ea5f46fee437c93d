package repository

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/simplesigning"
	"github.com/toto-dev/toto/trust"
)

// maxMaterialFile bounds one file AddNotationDir stages.
const maxMaterialFile = 1 << 20

// checkKeyring holds a toto/keyrings/ target to what a
// containers-policy.json keyPath names: an OpenPGP keyring of public keys
// (signedBy), or a PEM public key (sigstoreSigned, as cosign writes it).
func checkKeyring(name string, data []byte) error {
	base := strings.TrimPrefix(name, trust.TargetKeyringsDir)
	if base == "" || strings.Contains(base, "/") {
		return fmt.Errorf("%w: %s: want %sNAME, one file name", ErrContent, name, trust.TargetKeyringsDir)
	}
	if b, _ := pem.Decode(data); b != nil {
		k, err := keys.Parse(data)
		if err != nil {
			return fmt.Errorf("%w: %s: not a public key: %w", ErrContent, name, err)
		}
		if k.IsPrivate() {
			return fmt.Errorf("%w: %s is a private key: publish its public half", ErrContent, name)
		}
		return nil
	}
	el, err := simplesigning.ReadKeyring(data)
	if err != nil {
		return fmt.Errorf("%w: %s: not an OpenPGP keyring nor a PEM public key: %w", ErrContent, name, err)
	}
	if len(el) == 0 {
		return fmt.Errorf("%w: %s: no keys in the keyring", ErrContent, name)
	}
	for _, e := range el {
		if e.PrivateKey != nil {
			return fmt.Errorf("%w: %s holds the private key %s: publish the public keys (gpg --export)", ErrContent, name, simplesigning.Fingerprint(e))
		}
	}
	return nil
}

// checkNotation holds a toto/notation/ target to what notation reads at
// its place: a trust policy notation-go accepts, or certificates.
func checkNotation(name string, data []byte) error {
	_, rel, _, err := trust.SplitNotationTarget(name)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrContent, err)
	}
	if rel == "trustpolicy.json" {
		if _, err := notation.ParsePolicy(data); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrContent, name, err)
		}
		return nil
	}
	if _, err := parseCertificates(data); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrContent, name, err)
	}
	return nil
}

// checkDCTRoot holds a toto/dct/ target to GUN/root.pem holding one PEM
// certificate, as dct.Options.RootCert takes it.
func checkDCTRoot(name string, data []byte) error {
	gun, ok := strings.CutSuffix(strings.TrimPrefix(name, trust.TargetDCTDir), "/root.pem")
	if !ok || gun == "" {
		return fmt.Errorf("%w: %s: want %sGUN/root.pem", ErrContent, name, trust.TargetDCTDir)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return fmt.Errorf("%w: %s: not a PEM certificate (the repository's root certificate, as notary key list shows it)", ErrContent, name)
	}
	if _, err := parseCertificates(data); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrContent, name, err)
	}
	return nil
}

// parseCertificates reads PEM CERTIFICATE blocks, or DER, as notation's
// trust store files are.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	out, _, err := keys.CertificatesFromPEM(data, false)
	if err != nil {
		return nil, err
	}
	if out != nil {
		return out, nil
	}
	cs, err := x509.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("neither PEM certificates nor DER: %w", err)
	}
	if len(cs) == 0 {
		return nil, errors.New("no certificates")
	}
	return cs, nil
}

// AddNotationDir stages a notation configuration folder as the targets of
// set name: dir is a notation configuration folder (trustpolicy.json and
// truststore/x509/...) or a trust store alone (x509/...), and every
// certificate file of x509/TYPE/STORE/ and the trust policy become
// targets under toto/notation/NAME/ (see trust.TargetNotationDir). Targets
// of the set that the folder no longer holds are removed, so the staged
// set is exactly the folder: a CA taken out of the trust store is taken
// out of the repository. It returns the staged target names.
func (r *Repository) AddNotationDir(name, dir string) ([]string, error) {
	return r.AddNotationDirTo(metadata.TARGETS, name, dir)
}

// AddNotationDirTo is AddNotationDir into role: "targets", or a delegated
// role whose paths cover every file of the set (TUF patterns match one
// path element each: e.g. toto/notation/SET/trustpolicy.json and
// toto/notation/SET/truststore/x509/*/*/*).
func (r *Repository) AddNotationDirTo(role, name, dir string) ([]string, error) {
	prefix := trust.TargetNotationDir + name + "/"
	if _, _, _, err := trust.SplitNotationTarget(prefix + "trustpolicy.json"); err != nil {
		return nil, err
	}
	store := filepath.Join(dir, "truststore")
	policy := filepath.Join(dir, "trustpolicy.json")
	if st, err := os.Stat(filepath.Join(dir, "x509")); err == nil && st.IsDir() {
		store, policy = dir, ""
	} else if st, err := os.Stat(filepath.Join(store, "x509")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s holds neither x509/ (a trust store) nor truststore/x509/ (a notation configuration folder)", dir)
	}
	files := map[string][]byte{}
	if policy != "" {
		if b, err := readBoundedFile(policy); err == nil {
			files[prefix+"trustpolicy.json"] = b
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	err := filepath.WalkDir(filepath.Join(store, "x509"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(store, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		depth := strings.Count(rel, "/")
		switch {
		case d.IsDir() && depth < 3:
			return nil
		case d.IsDir():
			return fmt.Errorf("%s: a folder inside a trust store (notation reads the files of x509/TYPE/STORE/ only)", p)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", p)
		case depth != 3:
			return fmt.Errorf("%s: a file outside x509/TYPE/STORE/", p)
		}
		b, err := readBoundedFile(p)
		if err != nil {
			return err
		}
		files[prefix+"truststore/"+path.Clean(rel)] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no trust policy and no certificates", dir)
	}
	// Check everything before staging anything.
	for _, n := range names {
		if err := checkName(n); err != nil {
			return nil, err
		}
		if err := r.checkDelegatedPath(role, n); err != nil {
			return nil, err
		}
		if err := checkContent(n, files[n]); err != nil {
			return nil, err
		}
	}
	if role != metadata.TARGETS {
		if err := r.checkDelegated(role); err != nil {
			return nil, err
		}
	}
	t, err := readTargets(r.staged(role + ".json"))
	if err != nil {
		return nil, err
	}
	for old := range t.Signed.Targets {
		if strings.HasPrefix(old, prefix) && files[old] == nil {
			if err := r.RemoveTargetFrom(role, old); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range names {
		if err := r.AddTargetTo(role, n, files[n], nil); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func readBoundedFile(p string) ([]byte, error) {
	b, err := boundedio.ReadFile(p, maxMaterialFile)
	if errors.Is(err, boundedio.ErrTooLarge) {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, maxMaterialFile)
	}
	return b, err
}

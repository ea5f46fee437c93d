package notation

import (
	"context"
	"crypto/x509"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/verifier/truststore"
)

// TrustStore is a notation trust store folder: x509/ca/NAME,
// x509/signingAuthority/NAME and x509/tsa/NAME, each holding PEM or DER
// certificates (.pem, .crt, .cer). Dir may be the trust store itself (the
// folder holding x509/) or a notation configuration folder (holding
// truststore/x509/), as ~/.config/notation is. Certificates are read by
// notation-go's trust store when a policy statement names them.
type TrustStore struct {
	// Dir is the folder holding x509/.
	Dir   string
	store truststore.X509TrustStore
}

// OpenTrustStore opens a trust store folder.
func OpenTrustStore(d string) (*TrustStore, error) {
	root := filepath.Clean(d)
	switch {
	case isDir(filepath.Join(root, "x509")):
	case isDir(filepath.Join(root, "truststore", "x509")):
		root = filepath.Join(root, "truststore")
	default:
		return nil, fmt.Errorf("%w: %s holds neither x509/ nor truststore/x509/", ErrTrustStore, d)
	}
	return &TrustStore{Dir: root, store: truststore.NewX509TrustStore(storeFS{FS: os.DirFS(root), root: root})}, nil
}

// GetCertificates implements notation-go's truststore.X509TrustStore.
func (s *TrustStore) GetCertificates(ctx context.Context, typ truststore.Type, name string) ([]*x509.Certificate, error) {
	return s.store.GetCertificates(ctx, typ, name)
}

// storeFS maps notation-go's paths (truststore/x509/TYPE/NAME) into Dir.
type storeFS struct {
	fs.FS
	root string
}

func (s storeFS) SysPath(items ...string) (string, error) {
	p := path.Join(items...)
	rest, ok := strings.CutPrefix(p, dir.TrustStoreDir+"/")
	if !ok {
		return "", fmt.Errorf("%w: unexpected path %q", ErrTrustStore, p)
	}
	return filepath.Join(s.root, filepath.FromSlash(rest)), nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

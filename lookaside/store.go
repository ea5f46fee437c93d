package lookaside

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Limits, as containers/image's.
const (
	// MaxSignatureSize bounds one signature read (iolimits'
	// MaxSignatureBodySize).
	MaxSignatureSize = 4 << 20
	// MaxSignatures bounds how many signatures are read from one base
	// (maxLookasideSignatures): a server that never answers 404 is
	// broken or hostile.
	MaxSignatures = 128
)

// Errors callers branch on.
var (
	// ErrUnsupportedScheme: a base URL that is neither file nor http(s).
	ErrUnsupportedScheme = errors.New("unsupported lookaside URL scheme")
	// ErrTooLarge: a signature larger than MaxSignatureSize.
	ErrTooLarge = errors.New("signature too large")
	// ErrTooMany: more than MaxSignatures signatures.
	ErrTooMany = errors.New("too many signatures")
	// ErrDigest: a manifest digest that cannot name a signature path.
	ErrDigest = errors.New("invalid manifest digest")
)

// HTTPError is a lookaside server's answer other than 200 and 404.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("reading signature from %s: %s", e.URL, e.Status)
}

var digestRE = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$`)

// SignatureURL is the URL of signature n (from 1) of manifestDigest
// ("sha256:<hex>") under a repository base (RepositoryBase):
// <base>@sha256=<hex>/signature-<n>.
func SignatureURL(repoBase *url.URL, manifestDigest string, n int) (*url.URL, error) {
	if !digestRE.MatchString(manifestDigest) {
		return nil, fmt.Errorf("%w: %q", ErrDigest, manifestDigest)
	}
	if n < 1 {
		return nil, fmt.Errorf("signature index %d: numbering starts at 1", n)
	}
	algo, hex, _ := strings.Cut(manifestDigest, ":")
	u := *repoBase
	u.Path = fmt.Sprintf("%s@%s=%s/signature-%d", u.Path, algo, hex, n)
	u.RawPath = ""
	return &u, nil
}

// ReadOptions are the knobs of Read.
type ReadOptions struct {
	// Client fetches http(s) URLs; http.DefaultClient when nil.
	Client *http.Client
}

// Read returns the signatures of manifestDigest under repoBase, in order,
// as containers/image reads them: signature-1, signature-2, ... until the
// first missing one (no file, or HTTP 404). Another HTTP status, a body
// over MaxSignatureSize, or more than MaxSignatures signatures is an
// error, never a shorter list.
func Read(ctx context.Context, repoBase *url.URL, manifestDigest string, opts ReadOptions) ([][]byte, error) {
	switch repoBase.Scheme {
	case "file", "http", "https":
	default:
		return nil, fmt.Errorf("%w: %q in %s", ErrUnsupportedScheme, repoBase.Scheme, repoBase.Redacted())
	}
	var sigs [][]byte
	for n := 1; ; n++ {
		if n > MaxSignatures {
			return nil, fmt.Errorf("%w: %s serves more than %d signatures", ErrTooMany, repoBase.Redacted(), MaxSignatures)
		}
		u, err := SignatureURL(repoBase, manifestDigest, n)
		if err != nil {
			return nil, err
		}
		sig, more, err := readOne(ctx, u, opts)
		if err != nil {
			return nil, err
		}
		if !more {
			return sigs, nil
		}
		sigs = append(sigs, sig)
	}
}

func readOne(ctx context.Context, u *url.URL, opts ReadOptions) ([]byte, bool, error) {
	if u.Scheme == "file" {
		f, err := os.Open(u.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading signature: %w", err)
		}
		defer f.Close()
		b, err := readBounded(f, u)
		return b, err == nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, err
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("reading signature from %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, false, nil
	default:
		return nil, false, &HTTPError{URL: u.Redacted(), StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if resp.ContentLength > MaxSignatureSize {
		return nil, false, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrTooLarge, u.Redacted(), resp.ContentLength, MaxSignatureSize)
	}
	b, err := readBounded(resp.Body, u)
	return b, err == nil, err
}

func readBounded(r io.Reader, u *url.URL) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSignatureSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading signature from %s: %w", u.Redacted(), err)
	}
	if len(b) > MaxSignatureSize {
		return nil, fmt.Errorf("%w: %s is more than %d bytes", ErrTooLarge, u.Redacted(), MaxSignatureSize)
	}
	return b, nil
}

// WriteNext stores sig as the next free signature-N of manifestDigest
// under a file:// repoBase and returns N and the file's path. The file is
// written under a temporary name, synced, then hard-linked into place,
// which fails if the name is taken, so concurrent writers each get their
// own N and a reader never sees a partial signature.
func WriteNext(repoBase *url.URL, manifestDigest string, sig []byte) (int, string, error) {
	if repoBase.Scheme != "file" {
		return 0, "", fmt.Errorf("%w: writing needs a file:// lookaside (or lookaside-staging), not %s", ErrUnsupportedScheme, repoBase.Redacted())
	}
	if len(sig) > MaxSignatureSize {
		return 0, "", fmt.Errorf("%w: %d bytes", ErrTooLarge, len(sig))
	}
	first, err := SignatureURL(repoBase, manifestDigest, 1)
	if err != nil {
		return 0, "", err
	}
	dir := filepath.Dir(filepath.FromSlash(first.Path))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, "", fmt.Errorf("lookaside: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signature-*.tmp")
	if err != nil {
		return 0, "", fmt.Errorf("lookaside: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(sig); err != nil {
		tmp.Close()
		return 0, "", fmt.Errorf("lookaside: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return 0, "", fmt.Errorf("lookaside: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, "", fmt.Errorf("lookaside: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return 0, "", fmt.Errorf("lookaside: %w", err)
	}
	for n := 1; n <= MaxSignatures; n++ {
		p := filepath.Join(dir, fmt.Sprintf("signature-%d", n))
		err := os.Link(tmp.Name(), p)
		if err == nil {
			syncDir(dir)
			return n, p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return 0, "", fmt.Errorf("lookaside: %w", err)
		}
	}
	return 0, "", fmt.Errorf("%w: %s already holds %d signatures", ErrTooMany, dir, MaxSignatures)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

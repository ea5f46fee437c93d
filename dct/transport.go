package dct

import (
	"fmt"
	"io"
	"net/http"
)

// limitTransport bounds every response body from the notary server by
// MaxMetadataSize (notary's own bound is 100 MiB for root and
// delegations), so an oversized document is refused while it is read.
type limitTransport struct{ rt http.RoundTripper }

func (l limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if resp.ContentLength > MaxMetadataSize {
		resp.Body.Close()
		return nil, fmt.Errorf("notary server response %s: %d bytes, more than %d", req.URL.Path, resp.ContentLength, MaxMetadataSize)
	}
	resp.Body = &limitBody{rc: resp.Body, left: MaxMetadataSize, path: req.URL.Path}
	return resp, nil
}

type limitBody struct {
	rc   io.ReadCloser
	left int64
	path string
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("notary server response %s: more than %d bytes", b.path, MaxMetadataSize)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("notary server response %s: more than %d bytes", b.path, MaxMetadataSize)
	}
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }

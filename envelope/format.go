package envelope

import (
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/toto-dev/toto/internal/jsonobj"
)

// Format is one envelope format: how a document lays out a payload and its
// signatures, and which bytes those signatures cover. Metablock and DSSE
// are built in; other packages add theirs with Register (package bundle
// adds Sigstore bundles), so that Parse, Sign, Verify and every verifier
// in toto handle a new format without a switch statement anywhere.
type Format interface {
	// String is the format's short name, used in reports and flags:
	// "metablock", "dsse", "sigstore-bundle".
	String() string
	// MediaTypes are the media types of documents in this format (without
	// parameters); ParseMediaType picks the format by them. A format
	// without a registered media type returns none.
	MediaTypes() []string
	// Match reports whether the document is in this format. It looks, it
	// does not validate: Decode does.
	Match(d *Document) bool
	// Decode reads the document. Errors name the member at fault.
	Decode(d *Document) (*Envelope, error)
	// Encode writes the envelope back, keeping every member it was read
	// with.
	Encode(e *Envelope) ([]byte, error)
	// SignedBytes returns the exact bytes each signature covers.
	SignedBytes(e *Envelope) ([]byte, error)
	// CanSign returns nil when a signature may be added to e, or why not
	// (a Sigstore bundle holds exactly one).
	CanSign(e *Envelope) error
}

// Document is a document being parsed: its bytes and, when it is a JSON
// object, its top-level members. The members are split once and shared by
// every format that looks at the document; Decode may consume them.
type Document struct {
	Data []byte
	// Members is nil unless Data is a JSON object.
	Members map[string]json.RawMessage
	// jsonErr is why Data is not a JSON object, for the error Parse
	// returns when no format claims the document.
	jsonErr error
}

// Has reports whether the document is a JSON object with member name.
func (d *Document) Has(name string) bool {
	_, ok := d.Members[name]
	return ok
}

// registry holds the formats, replaced whole by Register (at init time)
// and read without locking or copying by every Parse: each link of a chain
// is parsed, so the read side is the hot one.
var registry struct {
	mu      sync.Mutex
	formats atomic.Pointer[[]Format]
}

// Register adds a format. Formats are tried in the order registered; a
// format's Match must not claim documents an earlier one claims. Register
// is meant to be called from an init function.
func Register(f Format) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	have := formats()
	for _, h := range have {
		if h.String() == f.String() {
			panic("envelope: format " + f.String() + " registered twice")
		}
	}
	next := append(append([]Format(nil), have...), f)
	registry.formats.Store(&next)
}

func formats() []Format {
	if p := registry.formats.Load(); p != nil {
		return *p
	}
	return nil
}

// Formats returns the registered formats in the order they are tried.
func Formats() []Format { return append([]Format(nil), formats()...) }

func newDocument(data []byte) *Document {
	// The members share data's memory: a Metablock's "signed" member,
	// nearly all of a large link, becomes the payload without a copy.
	f, err := jsonobj.SplitShared(data)
	return &Document{Data: data, Members: f, jsonErr: err}
}

// Parse decodes a signed document in any registered format: a Metablock,
// a DSSE envelope, and whatever other packages registered (a Sigstore
// bundle once package bundle is linked in). Errors name the member at
// fault. Unknown members are kept and written back by MarshalJSON.
//
// The envelope may share memory with data (its payload, say): do not
// change data afterwards.
func Parse(data []byte) (*Envelope, error) {
	d := newDocument(data)
	for _, f := range formats() {
		if f.Match(d) {
			return f.Decode(d)
		}
	}
	if d.jsonErr != nil {
		// Not a JSON object, and no binary format claims it.
		return nil, d.jsonErr
	}
	return nil, fmt.Errorf("%w: want a \"signed\" member (Metablock) or a \"payload\" member (DSSE)", ErrNotAnEnvelope)
}

// ParseMediaType decodes data as the format registered for mediaType (an
// OCI layer's media type, say); parameters such as ";version=0.1" are
// ignored. It fails for a media type no format registered. Like Parse, it
// may share memory with data.
func ParseMediaType(mediaType string, data []byte) (*Envelope, error) {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		mt = strings.TrimSpace(strings.SplitN(mediaType, ";", 2)[0])
	}
	for _, f := range formats() {
		for _, have := range f.MediaTypes() {
			if strings.EqualFold(have, mt) {
				d := newDocument(data)
				if !f.Match(d) && d.jsonErr != nil {
					return nil, d.jsonErr
				}
				return f.Decode(d)
			}
		}
	}
	return nil, fmt.Errorf("%w: no envelope format for media type %q", ErrNotAnEnvelope, mediaType)
}

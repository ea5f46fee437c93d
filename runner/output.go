package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// LinkFormat is how a link is wrapped and signed.
type LinkFormat int

const (
	// Metablock is the classic in-toto envelope, {"signed": link,
	// "signatures": [...]}, which every in-toto implementation reads.
	Metablock LinkFormat = iota
	// DSSE carries the link as the payload of a DSSE envelope.
	DSSE
	// Attestation carries an in-toto Statement v1 with the link predicate
	// v0.3 in a DSSE envelope: products become the subjects, materials a
	// list of resource descriptors.
	Attestation
)

// String returns "metablock", "dsse" or "attestation".
func (f LinkFormat) String() string {
	switch f {
	case Metablock:
		return "metablock"
	case DSSE:
		return "dsse"
	case Attestation:
		return "attestation"
	}
	return fmt.Sprintf("LinkFormat(%d)", int(f))
}

// ErrNoSubject is returned when a link without products is to become an
// attestation: a Statement must be about at least one subject.
var ErrNoSubject = errors.New("an attestation needs at least one product to be its subject")

// Sign wraps l in the envelope format f calls for and signs it with k.
func Sign(ctx context.Context, l *link.Link, k *keys.Key, f LinkFormat) (*envelope.Envelope, error) {
	env, err := Envelope(l, f)
	if err != nil {
		return nil, err
	}
	if err := env.Sign(ctx, k); err != nil {
		return nil, fmt.Errorf("sign link %q: %w", l.Name, err)
	}
	return env, nil
}

// Envelope wraps l, unsigned, in the envelope format f calls for.
func Envelope(l *link.Link, f LinkFormat) (*envelope.Envelope, error) {
	var payload []byte
	var err error
	ef := envelope.DSSE
	switch f {
	case Metablock:
		ef = envelope.Metablock
		payload, err = l.MarshalJSON()
	case DSSE:
		payload, err = l.MarshalJSON()
	case Attestation:
		var s *statement.Statement
		if s, err = Statement(l); err == nil {
			payload, err = s.MarshalJSON()
		}
	default:
		return nil, fmt.Errorf("unknown link format %d", f)
	}
	if err != nil {
		return nil, fmt.Errorf("encode link %q: %w", l.Name, err)
	}
	return envelope.New(ef, envelope.PayloadTypeInToto, payload)
}

// Statement converts l to an in-toto Statement v1 with the link predicate
// v0.3 (see statement.FromLink).
func Statement(l *link.Link) (*statement.Statement, error) {
	s, err := statement.FromLink(l)
	if errors.Is(err, statement.ErrNoProducts) {
		return nil, ErrNoSubject
	}
	return s, err
}

// Write signs l with k in format f and writes it atomically to
// dir/link.FileName(l.Name, k.ID()), returning the path. Nothing is written
// if anything fails.
func Write(ctx context.Context, dir string, l *link.Link, k *keys.Key, f LinkFormat) (string, error) {
	env, err := Sign(ctx, l, k, f)
	if err != nil {
		return "", err
	}
	return writeEnvelope(filepath.Join(dir, link.FileName(l.Name, k.ID())), env)
}

func writeEnvelope(path string, env *envelope.Envelope) (string, error) {
	b, err := env.Encode()
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, b, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// Package statement builds and reads in-toto Statements: the attestation
// layer that binds a typed predicate (a link, an SBOM, provenance) to the
// artifacts it is about, by digest. toto writes Statement v1 and reads v1
// and v0.1 (what cosign attest still writes; the two differ only in the
// _type URI). Structural rules are checked with the in-toto attestation
// library (github.com/in-toto/attestation).
package statement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/link"
)

// Type is the _type of an in-toto Statement v1, the version toto writes.
const Type = "https://in-toto.io/Statement/v1"

// TypeV01 is the _type of an in-toto Statement v0.1, which cosign attest
// (v2 and v3) still writes. Its subject, predicateType and predicate have
// the same shape as v1's.
const TypeV01 = "https://in-toto.io/Statement/v0.1"

// IsType reports whether typ is the _type of a Statement version toto
// reads.
func IsType(typ string) bool { return typ == Type || typ == TypeV01 }

// Subject is an artifact the statement is about.
type Subject struct {
	Name   string         `json:"name,omitempty"`
	Digest link.DigestSet `json:"digest"`
}

// Statement is an in-toto Statement v1. The predicate is kept as raw JSON so
// that it round-trips exactly; decode it with the predicate's own parser.
type Statement struct {
	// Type is the _type read (Type or TypeV01); "" means Type.
	Type          string
	Subject       []Subject
	PredicateType string
	Predicate     json.RawMessage
}

// New builds a statement about subjects with the given predicate, which is
// encoded to JSON.
func New(predicateType string, predicate any, subjects ...Subject) (*Statement, error) {
	raw, err := json.Marshal(predicate)
	if err != nil {
		return nil, fmt.Errorf("statement: encode predicate: %w", err)
	}
	s := &Statement{Subject: subjects, PredicateType: predicateType, Predicate: raw}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// NewRaw builds a statement about subjects whose predicate is an already
// encoded JSON object, kept byte for byte (image and file attestations,
// where the predicate comes from a file).
func NewRaw(predicateType string, predicate json.RawMessage, subjects ...Subject) (*Statement, error) {
	if predicateType == "" {
		return nil, errors.New("statement: empty predicate type")
	}
	p := bytes.TrimSpace(predicate)
	if len(p) == 0 || p[0] != '{' || !json.Valid(p) {
		return nil, errors.New("statement: the predicate must be a JSON object")
	}
	s := &Statement{Subject: subjects, PredicateType: predicateType, Predicate: p}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// SubjectsFrom turns recorded artifacts into statement subjects, sorted by
// name for stable output.
func SubjectsFrom(a link.Artifacts) []Subject {
	out := make([]Subject, 0, len(a))
	for _, p := range a.Paths() {
		out = append(out, Subject{Name: p, Digest: a[p]})
	}
	return out
}

// MarshalJSON encodes the statement.
func (s *Statement) MarshalJSON() ([]byte, error) {
	pred := s.Predicate
	if pred == nil {
		pred = json.RawMessage("{}")
	}
	typ := s.Type
	if typ == "" {
		typ = Type
	}
	return jsonobj.Join(map[string]any{
		"_type":         typ,
		"subject":       s.Subject,
		"predicateType": s.PredicateType,
		"predicate":     pred,
	}, nil)
}

// Parse decodes and validates a statement (for example a DSSE payload).
func Parse(data []byte) (*Statement, error) {
	f, err := jsonobj.Split(data)
	if err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	var typ string
	if err := f.Take("_type", &typ, true); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if !IsType(typ) {
		return nil, fmt.Errorf("statement: field \"_type\": got %q, want %q (or %q)", typ, Type, TypeV01)
	}
	s := &Statement{Type: typ}
	if err := f.Take("subject", &s.Subject, true); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if err := f.Take("predicateType", &s.PredicateType, true); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	// An absent predicate is an empty one (the spec: unset is empty);
	// cosign v2 writes such statements for --new-bundle-format signatures.
	if err := f.Take("predicate", &s.Predicate, false); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if len(s.Predicate) == 0 || string(s.Predicate) == "null" {
		s.Predicate = json.RawMessage("{}")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks the statement against the in-toto attestation framework's
// rules (non-empty subjects with valid digests, a predicate type).
func (s *Statement) Validate() error {
	// v0.1 has v1's structure: check it under the v1 type the library
	// knows.
	v1 := *s
	v1.Type = Type
	b, err := v1.MarshalJSON()
	if err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	var pb ita.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &pb); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	if err := pb.Validate(); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	return nil
}

// Matches reports whether some subject of the statement has a digest equal
// to d for every algorithm they share (at least one).
func (s *Statement) Matches(d link.DigestSet) bool {
	for _, sub := range s.Subject {
		shared, agree := 0, true
		for alg, v := range sub.Digest {
			if w, ok := d[alg]; ok {
				shared++
				agree = agree && w == v
			}
		}
		if shared > 0 && agree {
			return true
		}
	}
	return false
}

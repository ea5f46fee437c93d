// Package statement builds and reads in-toto Statements v1: the attestation
// layer that binds a typed predicate (a link, an SBOM, provenance) to the
// artifacts it is about, by digest. Structural rules are checked with the
// in-toto attestation library (github.com/in-toto/attestation).
package statement

import (
	"encoding/json"
	"fmt"

	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/link"
)

// Type is the _type of an in-toto Statement v1.
const Type = "https://in-toto.io/Statement/v1"

// Subject is an artifact the statement is about.
type Subject struct {
	Name   string         `json:"name,omitempty"`
	Digest link.DigestSet `json:"digest"`
}

// Statement is an in-toto Statement v1. The predicate is kept as raw JSON so
// that it round-trips exactly; decode it with the predicate's own parser.
type Statement struct {
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
	return jsonobj.Join(map[string]any{
		"_type":         Type,
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
	if typ != Type {
		return nil, fmt.Errorf("statement: field \"_type\": got %q, want %q", typ, Type)
	}
	s := &Statement{}
	if err := f.Take("subject", &s.Subject, true); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if err := f.Take("predicateType", &s.PredicateType, true); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if err := f.Take("predicate", &s.Predicate, false); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks the statement against the in-toto attestation framework's
// rules (non-empty subjects with valid digests, a predicate type).
func (s *Statement) Validate() error {
	b, err := s.MarshalJSON()
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

// Package provenance describes a step toto ran as a SLSA provenance v1
// predicate (https://slsa.dev/spec/v1.0/provenance) in an in-toto
// Statement: the products are the subjects, the step name and command the
// external parameters, the materials the resolved dependencies. The
// predicate is built and checked with the in-toto attestation library's
// provenance v1 types, so what toto writes is what that schema defines.
package provenance

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	prov "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// PredicateType is SLSA provenance v1's predicate type.
const PredicateType = "https://slsa.dev/provenance/v1"

// BuildType is the buildType of a step run by toto: its external
// parameters are "step" (the step name, as in the layout) and "command"
// (the argv run, absent for a step without a command). docs/provenance.md
// describes it.
const BuildType = "https://github.com/toto-dev/toto/buildtypes/run/v1"

// DefaultBuilderID names the builder when the caller knows no better: toto
// itself, run on a machine the provenance says nothing more about. A CI
// system should pass its own (e.g. its workflow's URI).
const DefaultBuilderID = "https://github.com/toto-dev/toto/cmd/toto"

// Options are what the link does not record about the run.
type Options struct {
	// BuilderID is runDetails.builder.id (DefaultBuilderID if empty).
	BuilderID string
	// BuilderVersion is runDetails.builder.version, e.g. {"toto": "v1.2.0"}.
	BuilderVersion map[string]string
	// InvocationID is runDetails.metadata.invocationId; a random
	// urn:uuid: if empty.
	InvocationID string
	// StartedOn and FinishedOn bound the run (omitted if zero).
	StartedOn, FinishedOn time.Time
	// Byproducts are runDetails.byproducts, e.g. the link file.
	Byproducts []statement.Subject
}

// ErrNoProducts is returned for a step without products: provenance is
// about artifacts, and the products are its subjects.
var ErrNoProducts = errors.New("provenance: the step has no products to be the subjects")

// ForLink returns the provenance of the step l records as an in-toto
// Statement v1 whose subjects are l's products.
func ForLink(l *link.Link, o Options) (*statement.Statement, error) {
	if len(l.Products) == 0 {
		return nil, ErrNoProducts
	}
	p, err := predicate(l, o)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	b, err := protojson.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return statement.New(PredicateType, compact(b), statement.SubjectsFrom(l.Products)...)
}

func predicate(l *link.Link, o Options) (*prov.Provenance, error) {
	ext := map[string]any{"step": l.Name}
	if len(l.Command) > 0 {
		cmd := make([]any, len(l.Command))
		for i, a := range l.Command {
			cmd[i] = a
		}
		ext["command"] = cmd
	}
	params, err := structpb.NewStruct(ext)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	deps := make([]*ita.ResourceDescriptor, 0, len(l.Materials))
	for _, path := range l.Materials.Paths() {
		deps = append(deps, &ita.ResourceDescriptor{Name: path, Digest: l.Materials[path]})
	}
	byproducts := make([]*ita.ResourceDescriptor, len(o.Byproducts))
	for i, b := range o.Byproducts {
		byproducts[i] = &ita.ResourceDescriptor{Name: b.Name, Digest: b.Digest}
	}
	id := o.BuilderID
	if id == "" {
		id = DefaultBuilderID
	}
	inv := o.InvocationID
	if inv == "" {
		inv = "urn:uuid:" + randomUUID()
	}
	md := &prov.BuildMetadata{InvocationId: inv}
	if !o.StartedOn.IsZero() {
		md.StartedOn = timestamppb.New(o.StartedOn)
	}
	if !o.FinishedOn.IsZero() {
		md.FinishedOn = timestamppb.New(o.FinishedOn)
	}
	return &prov.Provenance{
		BuildDefinition: &prov.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   params,
			ResolvedDependencies: deps,
		},
		RunDetails: &prov.RunDetails{
			Builder:    &prov.Builder{Id: id, Version: o.BuilderVersion},
			Metadata:   md,
			Byproducts: byproducts,
		},
	}, nil
}

// compact removes the whitespace protojson adds at random, so that equal
// provenance encodes to equal bytes.
type compact []byte

func (c compact) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// randomUUID is a version 4 UUID (RFC 9562).
func randomUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (crypto/rand, Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

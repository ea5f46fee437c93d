package chaingen

import (
	"context"
	"math/rand"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// Builder assembles a specific supply chain by hand, for tests: keys are
// derived from names, so output is reproducible.
type Builder struct {
	Layout *layout.Layout
	Format envelope.Format
	keys   map[string]*keys.Key
	links  map[string][]verifier.LinkFile
	subs   map[string]*verifier.MemSource
}

// NewBuilder starts an empty layout that expires in 2099.
func NewBuilder() *Builder {
	return &Builder{
		Layout: &layout.Layout{Expires: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)},
		keys:   map[string]*keys.Key{},
		links:  map[string][]verifier.LinkFile{},
		subs:   map[string]*verifier.MemSource{},
	}
}

// Key returns the private ed25519 key for name, the same every time.
func (b *Builder) Key(name string) *keys.Key {
	if k, ok := b.keys[name]; ok {
		return k
	}
	var seed int64
	for _, c := range name {
		seed = seed*131 + int64(c)
	}
	k := deterministicKey(rand.New(rand.NewSource(seed)))
	b.keys[name] = k
	return k
}

// Rules parses rules in list form, panicking on a bad one.
func Rules(lists ...[]string) []layout.Rule {
	rs, err := layout.ParseRules(lists)
	if err != nil {
		panic(err)
	}
	return rs
}

// Step adds a step that the named functionaries may sign, returning it
// for further changes.
func (b *Builder) Step(name string, threshold int, functionaries []string, materials, products []layout.Rule) *layout.Step {
	s := layout.Step{Name: name, Threshold: threshold, ExpectedMaterials: materials, ExpectedProducts: products}
	for _, f := range functionaries {
		s.PubKeys = append(s.PubKeys, b.Layout.AddKey(b.Key(f)))
	}
	b.Layout.Steps = append(b.Layout.Steps, s)
	return &b.Layout.Steps[len(b.Layout.Steps)-1]
}

// Inspection adds an inspection.
func (b *Builder) Inspection(name string, run []string, materials, products []layout.Rule) {
	b.Layout.Inspections = append(b.Layout.Inspections, layout.Inspection{Name: name, Run: run, ExpectedMaterials: materials, ExpectedProducts: products})
}

// Sign wraps payload in an envelope signed by the named keys.
func (b *Builder) Sign(payload []byte, signers ...string) *envelope.Envelope {
	e, err := envelope.New(b.Format, envelope.PayloadTypeInToto, payload)
	if err != nil {
		panic(err)
	}
	for _, s := range signers {
		if err := e.Sign(context.Background(), b.Key(s)); err != nil {
			panic(err)
		}
	}
	return e
}

// Link records a link for step signed by signer, filed as
// "<step>.<keyid prefix>.link".
func (b *Builder) Link(step, signer string, l *link.Link) *envelope.Envelope {
	if l.Name == "" {
		l.Name = step
	}
	p, err := l.MarshalJSON()
	if err != nil {
		panic(err)
	}
	e := b.Sign(p, signer)
	b.AddEvidence(step, link.FileName(step, b.Key(signer).ID()), e)
	return e
}

// AddEvidence files an envelope for a step under a name.
func (b *Builder) AddEvidence(step, name string, e *envelope.Envelope) {
	b.links[step] = append(b.links[step], verifier.LinkFile{Name: name, Envelope: e})
}

// SignedLayout returns the layout signed by the named keys.
func (b *Builder) SignedLayout(signers ...string) *envelope.Envelope {
	p, err := b.Layout.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return b.Sign(p, signers...)
}

// Sublayout files sub (a builder for the sublayout) as the evidence that
// functionary provided for step: its layout, signed by the functionary, and
// its links in a sub-source.
func (b *Builder) Sublayout(step, functionary string, sub *Builder) {
	e := sub.SignedLayout(functionary)
	id := b.Key(functionary).ID()
	b.AddEvidence(step, link.FileName(step, id), e)
	b.subs[step+"."+id[:8]] = sub.Source()
}

// Source returns the evidence as a LinkSource.
func (b *Builder) Source() *verifier.MemSource {
	return &verifier.MemSource{Steps: b.links, Sublayouts: b.subs}
}

// Public returns the public key for name.
func (b *Builder) Public(name string) *keys.Key { return b.Key(name).Public() }

// Artifacts builds an artifact map from path, sha256 pairs.
func Artifacts(kv ...string) link.Artifacts {
	a := link.Artifacts{}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = link.DigestSet{"sha256": kv[i+1]}
	}
	return a
}

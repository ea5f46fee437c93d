package statement

import (
	"errors"
	"fmt"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/link"
)

// linkPredicate is the link predicate v0.3
// (https://in-toto.io/attestation/link/v0.3): a link without _type and
// products (they are the subjects), materials as resource descriptors.
type linkPredicate struct {
	Name        string         `json:"name"`
	Command     []string       `json:"command"`
	Materials   []Subject      `json:"materials"`
	ByProducts  map[string]any `json:"byproducts"`
	Environment map[string]any `json:"environment"`
}

// ErrNoProducts is returned by FromLink for a link without products: a
// Statement needs at least one subject.
var ErrNoProducts = errors.New("a link with no products cannot be a Statement: the products are its subjects")

// FromLink converts l to a Statement with the link predicate v0.3: the
// products become the subjects, sorted by name, as do the materials.
func FromLink(l *link.Link) (*Statement, error) {
	if len(l.Products) == 0 {
		return nil, ErrNoProducts
	}
	p := linkPredicate{
		Name:        l.Name,
		Command:     l.Command,
		Materials:   SubjectsFrom(l.Materials),
		ByProducts:  l.ByProducts,
		Environment: l.Environment,
	}
	if p.Command == nil {
		p.Command = []string{}
	}
	if p.ByProducts == nil {
		p.ByProducts = map[string]any{}
	}
	if p.Environment == nil {
		p.Environment = map[string]any{}
	}
	return New(link.PredicateType, p, SubjectsFrom(l.Products)...)
}

// Link converts a Statement with the link predicate v0.3 back to an
// old-style link, as the predicate's specification describes ("Converting
// to old-style links"): subjects are the products, predicate materials the
// materials.
func (s *Statement) Link() (*link.Link, error) {
	if s.PredicateType != link.PredicateType {
		return nil, fmt.Errorf("statement: predicateType %q is not the link predicate %q", s.PredicateType, link.PredicateType)
	}
	f, err := jsonobj.Split(s.Predicate)
	if err != nil {
		return nil, fmt.Errorf("link predicate: %w", err)
	}
	var p linkPredicate
	for _, fld := range []struct {
		name     string
		v        any
		required bool
	}{
		{"name", &p.Name, true},
		{"command", &p.Command, false},
		{"materials", &p.Materials, false},
		{"byproducts", &p.ByProducts, false},
		{"environment", &p.Environment, false},
	} {
		if err := f.Take(fld.name, fld.v, fld.required); err != nil {
			return nil, fmt.Errorf("link predicate: %w", err)
		}
	}
	l := &link.Link{
		Name:        p.Name,
		Command:     p.Command,
		Materials:   link.Artifacts{},
		Products:    link.Artifacts{},
		ByProducts:  p.ByProducts,
		Environment: p.Environment,
	}
	add := func(dst link.Artifacts, what string, subs []Subject) error {
		for i, sub := range subs {
			if sub.Name == "" {
				return fmt.Errorf("link predicate: %s[%d] has no name", what, i)
			}
			if _, dup := dst[sub.Name]; dup {
				return fmt.Errorf("link predicate: %s %q listed twice", what, sub.Name)
			}
			dst[sub.Name] = sub.Digest
		}
		return nil
	}
	if err := add(l.Materials, "materials", p.Materials); err != nil {
		return nil, err
	}
	if err := add(l.Products, "subject", s.Subject); err != nil {
		return nil, err
	}
	// Re-check the digests with the link's own validation.
	b, err := l.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return link.Parse(b)
}

package sbom

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/internal/yamlpos"
)

// maxPolicyFileSize bounds a policy file read.
const maxPolicyFileSize = 16 << 20

// LoadPolicy reads an SBOM policy file: YAML when its name ends in .yaml or
// .yml, JSON otherwise; unknown fields are errors. Errors name the file.
func LoadPolicy(path string) (Policy, error) {
	data, err := boundedio.ReadFile(path, maxPolicyFileSize)
	if errors.Is(err, boundedio.ErrTooLarge) {
		return Policy{}, fmt.Errorf("%s: sbom policy larger than %d bytes", path, maxPolicyFileSize)
	}
	if err != nil {
		return Policy{}, err
	}
	return DecodePolicy(path, data)
}

// DecodePolicy is LoadPolicy for bytes already read from the file name.
func DecodePolicy(name string, data []byte) (Policy, error) {
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".yaml" && ext != ".yml" {
		p, err := ParsePolicy(data)
		if err != nil {
			return Policy{}, fmt.Errorf("%s: %w", name, err)
		}
		return p, nil
	}
	// Errors say FILE:LINE:COL: FIELD: what is wrong.
	var p Policy
	doc, err := yamlpos.Decode(name, data, &p)
	if err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, placePolicyErrors(doc, err)
	}
	return p, nil
}

// placePolicyErrors puts each *PolicyError of a YAML policy at its node.
func placePolicyErrors(doc *yamlpos.Doc, err error) error {
	var all []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	} else {
		all = []error{err}
	}
	out := make([]error, len(all))
	for i, e := range all {
		var pe *PolicyError
		if errors.As(e, &pe) {
			out[i] = doc.At(pe.Field, pe.Err)
		} else {
			out[i] = fmt.Errorf("%s: %w", doc.File, e)
		}
	}
	return errors.Join(out...)
}

package sbom

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/toto-dev/toto/internal/boundedio"
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
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("%s: sbom policy: %w", name, err)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

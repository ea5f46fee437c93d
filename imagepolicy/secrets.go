package imagepolicy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/toto-dev/toto/internal/yamlpos"
)

// ErrSecret is wrapped by errors about the Kubernetes Secrets a Portieris
// policy names: a missing secret or a missing key in it.
var ErrSecret = errors.New("secret")

// secrets are Kubernetes Secrets by "namespace/name", each its data
// (base64-decoded) merged with its stringData, as the API server stores
// them.
type secrets map[string]map[string][]byte

// get returns key of secret ns/name.
func (s secrets) get(ns, name, key string) ([]byte, error) {
	sec, ok := s[ns+"/"+name]
	if !ok {
		return nil, fmt.Errorf("%w %s/%s: not found in the secrets directory", ErrSecret, ns, name)
	}
	v, ok := sec[key]
	if !ok || len(v) == 0 {
		return nil, fmt.Errorf("%w %s/%s: no %q in its data", ErrSecret, ns, name, key)
	}
	return v, nil
}

// k8sSecret is the part of a Secret read.
type k8sSecret struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Type       string            `yaml:"type"`
}

// loadSecrets reads every Secret of dir's *.yaml, *.yml and *.json files.
func loadSecrets(dir string) (secrets, error) {
	files, err := documentFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: secrets directory: %v", ErrSecret, err)
	}
	out := secrets{}
	from := map[string]string{}
	for _, f := range files {
		docs, err := readDocuments(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSecret, err)
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s (document %d)", f, i+1)
			key, data, err := parseSecret(f, doc)
			var placed *placedError
			if errors.As(err, &placed) {
				return nil, err // it names the file, line and column
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if prev, ok := from[key]; ok {
				return nil, fmt.Errorf("%w %s: defined in %s and in %s", ErrSecret, key, prev, filepath.Base(where))
			}
			from[key] = where
			out[key] = data
		}
	}
	return out, nil
}

// ParseSecret reads one Kubernetes Secret document, returning its
// "namespace/name" (namespace "default" when absent, as kubectl applies
// it) and its data (base64 data decoded, stringData over it).
func ParseSecret(data []byte) (string, map[string][]byte, error) {
	docs, err := splitDocuments("", data)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrSecret, err)
	}
	if len(docs) != 1 {
		return "", nil, fmt.Errorf("%w: want one document, found %d", ErrSecret, len(docs))
	}
	return parseSecret("", docs[0])
}

// parseSecret reads a Secret document of file ("" for bytes). Members
// other than those read are ignored, as a Secret has many.
func parseSecret(file string, doc *yaml.Node) (string, map[string][]byte, error) {
	var s k8sSecret
	if err := yamlpos.DecodeNodeLoose(file, doc, "", &s); err != nil {
		return "", nil, &placedError{err: err, kind: ErrSecret}
	}
	var m struct {
		Metadata pMeta `yaml:"metadata"`
	}
	if err := yamlpos.DecodeNodeLoose(file, doc, "", &m); err != nil {
		return "", nil, &placedError{err: err, kind: ErrSecret}
	}
	if s.Kind != "Secret" || (s.APIVersion != "v1" && s.APIVersion != "") {
		return "", nil, fmt.Errorf("%w: apiVersion %q kind %q: want a v1 Secret", ErrSecret, s.APIVersion, s.Kind)
	}
	if m.Metadata.Name == "" {
		return "", nil, fmt.Errorf("%w: no metadata.name", ErrSecret)
	}
	ns := m.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	data := map[string][]byte{}
	for k, v := range s.Data {
		b, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace([]byte(v))))
		if err != nil {
			return "", nil, fmt.Errorf("%w %s/%s: data.%s is not base64: %v", ErrSecret, ns, m.Metadata.Name, k, err)
		}
		data[k] = b
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return ns + "/" + m.Metadata.Name, data, nil
}

// Package jsonobj decodes JSON objects strictly while keeping the fields a
// struct does not know, so that metadata survives a decode/encode round trip
// without losing anything another implementation wrote.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
)

// Fields holds the members of a JSON object by name, undecoded.
type Fields map[string]json.RawMessage

// Split decodes data as a JSON object into its raw members. It rejects
// duplicate member names, which Go's decoder would otherwise resolve silently
// (last wins) and which an attacker could use to show two parsers different
// documents. It also rejects two members whose names differ only in case
// (a *CaseError): Take reads members by exact name, as case-sensitive
// readers do, but the member a case-folding reader picks is not the one
// Take picks. The members are copies: they never alias data (envelope
// keeps a Metablock's "signed" member as its payload without copying it
// again).
//
// Split is for objects whose member names are a schema's field names.
// Objects whose names are data (artifact paths, which may differ only in
// case on a case-sensitive file system) are decoded into Go maps with
// Take, never split.
func Split(data []byte) (Fields, error) { return split(data, true, true) }

// SplitShared is Split whose members may point into data instead of being
// copies: for a caller that is done with the members before data changes,
// and copies any it keeps. On a link of 100,000 artifacts that saves
// copying the artifact maps' text once more.
func SplitShared(data []byte) (Fields, error) { return split(data, true, false) }

func split(data []byte, foldCheck, copyMembers bool) (Fields, error) {
	// splitFast refuses raw control bytes in strings: a document without
	// them (nearly all) is split without the escaping pass.
	if f, ok := splitFast(data, foldCheck, copyMembers); ok {
		return f, nil
	}
	data = escapeControls(data)
	if f, ok := splitFast(data, foldCheck, copyMembers); ok {
		return f, nil
	}
	return splitDecoder(data, foldCheck)
}

// splitDecoder is split with encoding/json's Decoder: the reference for
// splitFast, and what reports the errors.
func splitDecoder(data []byte, foldCheck bool) (Fields, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("expected a JSON object")
	}
	out := Fields{}
	var folded caseSet
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("field %q: invalid JSON: %w", name, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("field %q appears more than once", name)
		}
		if foldCheck {
			if other, clash := folded.add(name); clash {
				return nil, &CaseError{Name: name, Other: other}
			}
		}
		out[name] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: trailing data after object")
	}
	return out, nil
}

// Take decodes member name into v and removes it from f. A missing member is
// an error when required is true; otherwise v is left untouched.
func (f Fields) Take(name string, v any, required bool) error {
	raw, ok := f[name]
	if !ok {
		if required {
			return &FieldError{Field: name, Err: errors.New("missing")}
		}
		return nil
	}
	delete(f, name)
	var err error
	switch v.(type) {
	case *any, *map[string]any, *[]any:
		// Untyped values keep numbers exact (canonical JSON has integers
		// only, and a float64 would lose large ones).
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(v)
	default:
		// json.Unmarshal avoids the Decoder's buffer copies, which
		// dominate on large artifact maps.
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		return &FieldError{Field: name, Err: simplify(err)}
	}
	// Go's decoder fills struct fields from members whose names match
	// only up to case; refuse those, so that toto reads exactly the
	// members a case-sensitive reader does.
	if t := reflect.TypeOf(v); t != nil && needsCaseCheck(t) {
		if err := checkCase(raw, t, []string{name}); err != nil {
			return &FieldError{Field: name, Err: err}
		}
	}
	return nil
}

// Join encodes known members plus the extra ones into one object with keys in
// sorted order. Known members win over extras of the same name.
func Join(known map[string]any, extra Fields) ([]byte, error) {
	names := make([]string, 0, len(known)+len(extra))
	for k := range known {
		names = append(names, k)
	}
	for k := range extra {
		if _, ok := known[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		var vb []byte
		if v, ok := known[k]; ok {
			var err error
			if vb, err = json.Marshal(v); err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
		} else {
			vb = extra[k]
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// FieldError names the JSON member that could not be decoded.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// simplify turns Go's type errors into text that names the JSON type found.
func simplify(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Errorf("%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("expected %s, got JSON %s", te.Type, te.Value)
	}
	return err
}

// escapeControls rewrites control bytes (below 0x20) found inside JSON
// strings as \u00XX escapes, leaving everything else alone. OLPC canonical
// JSON, which in-toto-golang writes as DSSE payloads, leaves newlines raw
// inside strings; RFC 8259 forbids that, so Go's decoder would reject
// documents the references accept. The signed bytes are unaffected: callers
// keep the original bytes for signature checks. Input without such bytes is
// returned as is, without copying.
func escapeControls(data []byte) []byte {
	inString, escaped := false, false
	var out []byte
	for i, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString && c < 0x20:
			if out == nil {
				out = make([]byte, 0, len(data)+16)
				out = append(out, data[:i]...)
			}
			out = append(out, fmt.Sprintf("\\u%04x", c)...)
			continue
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return data
	}
	return out
}

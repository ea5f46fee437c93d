package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ErrCaseVariant is matched (errors.Is) by every *CaseError.
var ErrCaseVariant = errors.New("member names differ only in case")

// CaseError is a member name that a case-folding reader and a
// case-sensitive one would read differently. Go's decoder fills a struct
// field from a member whose name matches its tag only up to case, and
// from the last of several such members; Python in-toto, and the
// securesystemslib schemas, read exactly the member named. So either two
// members of one object have names equal under case folding ("public" and
// "PUBLIC"), or a member meant for a struct field has the wrong case.
type CaseError struct {
	// Path is the JSON pointer (RFC 6901) of the object holding the
	// members, relative to the object being decoded; "" is that object.
	Path string
	// Name is the member at fault, as written (unescaped).
	Name string
	// Other is the earlier member of the same object that Name clashes
	// with; empty when Want is set.
	Other string
	// Want is the field name Name matches only up to case, when it is the
	// only member that does.
	Want string
}

func (e *CaseError) Error() string {
	var msg string
	if e.Want != "" {
		msg = fmt.Sprintf("member %q is not %q: member names are case-sensitive", e.Name, e.Want)
	} else {
		msg = fmt.Sprintf("members %q and %q differ only in case", e.Other, e.Name)
	}
	if e.Path != "" {
		msg += " (in " + e.Path + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrCaseVariant) hold.
func (e *CaseError) Is(target error) bool { return target == ErrCaseVariant }

// FoldName returns the form of name that Go's decoder compares when it
// matches member names to struct fields, so that FoldName(a) ==
// FoldName(b) exactly when the decoder would take a and b for one field
// (encoding/json's foldName: per rune, ToUpper(ToLower(r))).
func FoldName(name string) string {
	plain := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= utf8.RuneSelf || 'a' <= c && c <= 'z' {
			plain = false
			break
		}
	}
	if plain {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		b.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return b.String()
}

// caseSet finds names equal under case folding among the members of one
// object. The zero value is ready to use.
type caseSet struct{ seen map[string]string }

// add records name and returns the earlier member that folds to the same
// name, if any. Exact duplicates are the duplicate checks' business and
// are not reported here.
func (c *caseSet) add(name string) (string, bool) {
	if c.seen == nil {
		c.seen = map[string]string{}
	}
	k := FoldName(name)
	if other, ok := c.seen[k]; ok && other != name {
		return other, true
	}
	c.seen[k] = name
	return "", false
}

// pointerOf is the JSON pointer of a path of member names and indexes.
func pointerOf(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// Pointer returns the JSON pointer (RFC 6901) of the given member names
// and array indexes, for errors that name where in a document they are.
func Pointer(parts ...string) string { return pointerOf(parts) }

// checkCase reports a *CaseError if raw, decoded into a value of type t,
// would have a struct field filled from a member whose name matches the
// field's only up to case, or from an object with two members equal
// under case folding. It is called only for types that contain structs
// (needsCaseCheck): maps and untyped values read keys exactly.
func checkCase(raw []byte, t reflect.Type, path []string) error {
	dec := json.NewDecoder(bytes.NewReader(escapeControls(raw)))
	dec.UseNumber()
	return walkCase(dec, t, path)
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	caseCheckCache  sync.Map // reflect.Type -> bool
	fieldCache      sync.Map // reflect.Type -> *structInfo
)

// needsCaseCheck reports whether decoding into t could fill a struct
// field by a case-folded member name.
func needsCaseCheck(t reflect.Type) bool {
	if v, ok := caseCheckCache.Load(t); ok {
		return v.(bool)
	}
	need := needsCaseCheckUncached(t, map[reflect.Type]bool{})
	caseCheckCache.Store(t, need)
	return need
}

func needsCaseCheckUncached(t reflect.Type, visiting map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if visiting[t] || reflect.PointerTo(t).Implements(unmarshalerType) {
		return false
	}
	visiting[t] = true
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Slice, reflect.Array, reflect.Map:
		return needsCaseCheckUncached(t.Elem(), visiting)
	}
	return false
}

// structInfo is the JSON view of a struct type: its fields by exact member
// name and by folded name.
type structInfo struct {
	exact  map[string]reflect.Type
	folded map[string]string // FoldName(name) -> name
}

func fieldsOf(t reflect.Type) *structInfo {
	if v, ok := fieldCache.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	addFields(si, t, 0)
	fieldCache.Store(t, si)
	return si
}

// addFields collects the fields encoding/json sees, embedded structs
// flattened. (Go's rules for names that clash across embedding levels do
// not matter here: toto's structs have none.)
func addFields(si *structInfo, t reflect.Type, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && depth < 8 {
				addFields(si, et, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := si.exact[name]; !ok {
			si.exact[name] = f.Type
			si.folded[FoldName(name)] = name
		}
	}
}

// walkCase reads one value from dec, checking it against t (nil: any
// value, not checked).
func walkCase(dec *json.Decoder, t reflect.Type, path []string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && !needsCaseCheck(t) {
		t = nil
	}
	if t == nil {
		var skip json.RawMessage
		return dec.Decode(&skip)
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		var members caseSet
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := tok.(string)
			var child reflect.Type
			switch t.Kind() {
			case reflect.Struct:
				if other, clash := members.add(name); clash {
					return &CaseError{Path: pointerOf(path), Name: name, Other: other}
				}
				si := fieldsOf(t)
				if ft, ok := si.exact[name]; ok {
					child = ft
				} else if want, ok := si.folded[FoldName(name)]; ok {
					return &CaseError{Path: pointerOf(path), Name: name, Want: want}
				}
			case reflect.Map:
				child = t.Elem()
			}
			if err := walkCase(dec, child, append(path, name)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkCase(dec, elem, append(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil // a scalar
}

// CheckLeftover refuses a member left in f (one no Take claimed, kept as
// an unknown member) whose name matches one of known only up to case. A
// case-sensitive reader ignores "BYPRODUCTS" as unknown, but a
// case-folding one reads it as "byproducts", and when it is written back
// beside the known member (which encoders write even when it was absent)
// the two clash. Call it after the Takes, with every member name the
// object's schema knows.
func (f Fields) CheckLeftover(known ...string) error {
	if len(f) == 0 {
		return nil
	}
	folded := make(map[string]string, len(known))
	for _, k := range known {
		folded[FoldName(k)] = k
	}
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	sort.Strings(names) // the same error every time
	for _, name := range names {
		if want, ok := folded[FoldName(name)]; ok && want != name {
			return &CaseError{Name: name, Want: want}
		}
	}
	return nil
}

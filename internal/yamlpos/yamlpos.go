// Package yamlpos decodes YAML configuration strictly and says where in the
// file a problem is, as FILE:LINE:COL and the field path
// ("rules[0].images[1]"). yaml.v3 alone reports a line without a column
// (ambiguous in flow style, `{a: 1, b: x}`), and the checks a caller makes
// after decoding have no position at all; here both get one, from the
// document's node tree.
package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml2 "go.yaml.in/yaml/v2"
	"gopkg.in/yaml.v3"
)

// Error is a problem at a place in a YAML file.
type Error struct {
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path is the field path of the node ("rules[0].images[1]"); "" for
	// the document or when unknown.
	Path string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		// Without a file name (bytes parsed, not a file read): "line N:C".
		if e.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, "%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Doc is a decoded YAML document, for placing later errors.
type Doc struct {
	File string
	Root *yaml.Node
}

// The Err of an *Error for a file that is not one YAML document.
var (
	ErrEmpty          = errors.New("empty document")
	ErrSecondDocument = errors.New("a second YAML document: want one")
)

// Parse parses the one YAML document in data into its node tree (a
// DocumentNode). Syntax errors are *Error with the line of the problem.
func Parse(file string, data []byte) (*yaml.Node, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Err: ErrEmpty}
		}
		return nil, syntaxError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: file, Line: extra.Line, Column: extra.Column, Err: ErrSecondDocument}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(file, data, err)
	}
	return &root, nil
}

// ParseAll parses every document of a YAML stream (documents separated by
// "---"; JSON is one) into its node tree, skipping empty documents. Syntax
// errors are *Error with the line of the problem in the stream.
func ParseAll(file string, data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*yaml.Node
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, syntaxError(file, data, err)
		}
		if len(node.Content) == 0 || (node.Content[0].Kind == yaml.ScalarNode && node.Content[0].ShortTag() == "!!null") {
			continue
		}
		out = append(out, &node)
	}
}

// DecodeNode decodes n, a node of a tree Parse or ParseAll returned (a
// document, or a node inside one), into v as strictly as Decode: unknown
// fields are refused, and errors are *Error (several joined) at n's own
// lines and columns in file. path is n's field path ("items[2]"; "" for
// a document), put before the errors' paths.
func DecodeNode(file string, n *yaml.Node, path string, v any) error {
	return decodeNode(file, n, path, v, true)
}

// DecodeNodeLoose is DecodeNode for formats whose readers ignore members
// they do not know (a Kubernetes Secret read for its data): only type
// errors are errors.
func DecodeNodeLoose(file string, n *yaml.Node, path string, v any) error {
	return decodeNode(file, n, path, v, false)
}

func decodeNode(file string, n *yaml.Node, path string, v any, strict bool) error {
	at := func(err error) error {
		return &Error{File: file, Line: n.Line, Column: n.Column, Path: path, Err: err}
	}
	// Node.Decode has no KnownFields: encode the node and decode that
	// strictly. Its errors name lines of the encoding, whose tree has n's
	// shape: each is placed on the encoding's tree, then carried to the
	// node in the same place of n's.
	raw, err := yaml.Marshal(n)
	if err != nil {
		return at(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(strict)
	err = dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return at(err)
	}
	enc, perr := Parse(file, raw)
	if perr != nil {
		return at(err)
	}
	encDoc := &Doc{File: file, Root: enc}
	types := newTypeInfo(reflect.TypeOf(v), enc)
	encTop := enc
	if n.Kind != yaml.DocumentNode && len(enc.Content) == 1 {
		encTop = enc.Content[0]
	}
	var errs []*Error
	for _, msg := range te.Errors {
		e, node := encDoc.placeTypeError(msg, types)
		e.Line, e.Column = n.Line, n.Column
		if orig := twin(encTop, n, node); orig != nil {
			e.Line, e.Column = orig.Line, orig.Column
		}
		switch {
		case path == "":
		case e.Path == "":
			e.Path = path
		case strings.HasPrefix(e.Path, "["):
			e.Path = path + e.Path
		default:
			e.Path = path + "." + e.Path
		}
		errs = append(errs, e)
	}
	return joinSorted(errs)
}

// twin is the node of b in the place target has in a (trees of one
// shape), or nil.
func twin(a, b, target *yaml.Node) *yaml.Node {
	if a == nil || b == nil || target == nil {
		return nil
	}
	if a == target {
		return b
	}
	if len(a.Content) != len(b.Content) {
		return nil
	}
	for i := range a.Content {
		if t := twin(a.Content[i], b.Content[i], target); t != nil {
			return t
		}
	}
	return nil
}

func joinSorted(errs []*Error) error {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Column < errs[j].Column
	})
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// Decode decodes the one YAML document in data into v, refusing fields v
// does not have. Errors are *Error (several joined with errors.Join for
// type errors), in file order.
func Decode(file string, data []byte, v any) (*Doc, error) {
	return decode(file, data, v, true)
}

// DecodeLoose is Decode for formats whose readers ignore members they do
// not know (containers-registries.d(5)): only type errors are errors.
func DecodeLoose(file string, data []byte, v any) (*Doc, error) {
	return decode(file, data, v, false)
}

func decode(file string, data []byte, v any, strict bool) (*Doc, error) {
	root, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	doc := &Doc{File: file, Root: root}
	// Node.Decode has no KnownFields: decode the bytes once more with a
	// strict decoder, and place its errors on the tree.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(strict)
	if err := dec.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, syntaxError(file, data, err)
		}
		var errs []*Error
		types := newTypeInfo(reflect.TypeOf(v), root)
		for _, msg := range te.Errors {
			e, _ := doc.placeTypeError(msg, types)
			errs = append(errs, e)
		}
		return nil, joinSorted(errs)
	}
	return doc, nil
}

var (
	lineRe     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	notFoundRe = regexp.MustCompile("^field (.*) not found in type (.*)$")
	unmarshal  = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.*)$")
)

// syntaxError turns "yaml: line N: msg" into FILE:N: msg (no column:
// yaml.v3 gives none for syntax errors). yaml.v3 names the line where the
// enclosing construct starts when it knows one ("did not find expected
// ',' or ']'" at the "[" of a flow list ten lines up), and for parser
// errors that line is 0-based, one too few. yaml.v2, the same parser,
// names the line of the problem itself (also 0-based for parser errors),
// so its line is taken when it refuses the document with the same words.
func syntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return &Error{File: file, Err: errors.New(strings.TrimPrefix(msg, "yaml: "))}
	}
	n, _ := strconv.Atoi(m[1])
	// Every document of the stream, for a problem in a later one.
	dec2 := yaml2.NewDecoder(bytes.NewReader(data))
	for {
		var any2 any
		err2 := dec2.Decode(&any2)
		if err2 == nil {
			continue
		}
		if m2 := lineRe.FindStringSubmatch(err2.Error()); m2 != nil && m2[2] == m[2] {
			n, _ = strconv.Atoi(m2[1])
			if parserProblem(m2[2]) {
				n++
			}
		}
		break
	}
	// A problem found at the end of the stream (an unclosed list or
	// quote) is shown on the last line with content, not past it.
	if last := lastContentLine(data); n > last && last > 0 {
		n = last
	}
	return &Error{File: file, Line: n, Err: errors.New(m[2])}
}

// lastContentLine is the 1-based number of the last line that is not
// blank.
func lastContentLine(data []byte) int {
	lines := strings.Split(string(data), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			return i + 1
		}
	}
	return 0
}

// parserProblem reports whether a libyaml problem comes from its parser
// (whose marks yaml.v2 reports 0-based) rather than its scanner.
func parserProblem(msg string) bool {
	for _, p := range []string{"did not find expected ", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// placeTypeError finds the node one of yaml.v3's "line N: ..." type errors
// is about: the key of an unknown field, or the value of the tag (and
// text) it names on that line. It also returns that node (nil when none
// is on that line).
//
// Several nodes on one line (flow style: `{keys: [a], action: [b]}`) are
// told apart by the Go type the error names: the node decoded into it, or
// the key of a mapping decoded into the type without that field.
func (d *Doc) placeTypeError(msg string, types *typeInfo) (*Error, *yaml.Node) {
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return &Error{File: d.File, Err: errors.New(msg)}, nil
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	match := func(n *yaml.Node, key, typed bool) bool { return false }
	if f := notFoundRe.FindStringSubmatch(text); f != nil {
		text = "unknown field " + strconv.Quote(f[1])
		match = func(n *yaml.Node, key, typed bool) bool {
			return key && n.Value == f[1] && (!typed || types.keyOf[n] == f[2])
		}
	} else if u := unmarshal.FindStringSubmatch(text); u != nil {
		text = fmt.Sprintf("want %s, got %s", friendlyType(u[3], types.kinds), friendlyTag(u[1], u[2]))
		match = func(n *yaml.Node, key, typed bool) bool {
			return !key && n.ShortTag() == u[1] && (n.Kind != yaml.ScalarNode || u[2] == "" || n.Value == u[2]) &&
				(!typed || types.into[n] == u[3])
		}
	}
	e := &Error{File: d.File, Line: line, Err: errors.New(text)}
	var found *yaml.Node
	// The node of the right type first, then any of the right tag.
	for _, typed := range []bool{true, false} {
		walk(d.Root, "", func(n *yaml.Node, path string, key bool) bool {
			if n.Line == line && match(n, key, typed) {
				e.Column, e.Path, found = n.Column, path, n
				return false
			}
			return true
		})
		if found != nil {
			break
		}
	}
	if found == nil {
		// At least the column of the first node on that line.
		walk(d.Root, "", func(n *yaml.Node, path string, key bool) bool {
			if n.Line == line {
				e.Column, e.Path, found = n.Column, path, n
				return false
			}
			return true
		})
	}
	return e, found
}

// typeInfo is what the Go type decoded into says about a document's
// nodes, for placing errors.
type typeInfo struct {
	kinds map[string]reflect.Kind // typeKinds
	into  map[*yaml.Node]string   // the type a node decodes into
	keyOf map[*yaml.Node]string   // a mapping key: the type of its mapping
}

var nodeType = reflect.TypeOf(yaml.Node{})

// newTypeInfo follows t (the type of the pointer decoded into) down the
// document root as yaml.v3 decodes: struct fields by their yaml names
// (inline ones included), map values, list items.
func newTypeInfo(t reflect.Type, root *yaml.Node) *typeInfo {
	ti := &typeInfo{kinds: typeKinds(t), into: map[*yaml.Node]string{}, keyOf: map[*yaml.Node]string{}}
	if t == nil || t.Kind() != reflect.Pointer {
		return ti
	}
	var assign func(n *yaml.Node, t reflect.Type, depth int)
	assign = func(n *yaml.Node, t reflect.Type, depth int) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if n == nil || depth > 100 || t == nodeType {
			return
		}
		if n.Kind == yaml.DocumentNode {
			for _, c := range n.Content {
				assign(c, t, depth+1)
			}
			return
		}
		ti.into[n] = t.String()
		switch {
		case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
			fields, rest := structFields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				ti.keyOf[k] = t.String()
				if ft, ok := fields[k.Value]; ok {
					assign(v, ft, depth+1)
				} else if rest != nil {
					assign(v, rest, depth+1)
				}
			}
		case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				assign(n.Content[i+1], t.Elem(), depth+1)
			}
		case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			for _, c := range n.Content {
				assign(c, t.Elem(), depth+1)
			}
		}
	}
	assign(root, t.Elem(), 0)
	return ti
}

// structFields are a struct's fields by their YAML names, those of inline
// structs included, and the value type of an inline map (nil if none).
func structFields(t reflect.Type) (map[string]reflect.Type, reflect.Type) {
	out := map[string]reflect.Type{}
	var rest reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				sub, subRest := structFields(ft)
				for k, v := range sub {
					out[k] = v
				}
				if subRest != nil {
					rest = subRest
				}
			case reflect.Map:
				rest = ft.Elem()
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out, rest
}

// typeKinds maps the names of the types reachable from t (as yaml.v3's
// errors print them: "decision.Action", "[]imagepolicy.Rule") to their
// kinds, so that a named type is worded by what it is.
func typeKinds(t reflect.Type) map[string]reflect.Kind {
	out := map[string]reflect.Kind{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		if t == nil {
			return
		}
		if _, seen := out[t.String()]; seen {
			return
		}
		out[t.String()] = t.Kind()
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			visit(t.Elem())
		case reflect.Map:
			visit(t.Key())
			visit(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				visit(t.Field(i).Type)
			}
		}
	}
	visit(t)
	return out
}

// friendlyType words a Go type as the YAML a user should write.
func friendlyType(goType string, kinds map[string]reflect.Kind) string {
	switch kinds[goType] {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	switch {
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "a mapping"
	}
	return goType
}

func friendlyTag(tag, value string) string {
	switch tag {
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!null":
		return "nothing"
	}
	if value != "" {
		return strconv.Quote(value)
	}
	return tag
}

// walk visits every node depth first with its field path; key says the
// node is a mapping key. visit returns false to stop.
func walk(n *yaml.Node, path string, visit func(n *yaml.Node, path string, key bool) bool) bool {
	if n == nil {
		return true
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if !walk(c, path, visit) {
				return false
			}
		}
		return true
	}
	if !visit(n, path, false) {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if !visit(k, p, true) || !walk(v, p, visit) {
				return false
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if !walk(c, fmt.Sprintf("%s[%d]", path, i), visit) {
				return false
			}
		}
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// At places err at the node of path ("denyLicenses[1]", "rules[0].images")
// or, when there is no such node, at its nearest ancestor.
func (d *Doc) At(path string, err error) *Error {
	e := &Error{File: d.File, Path: path, Err: err}
	best := -1
	walk(d.Root, "", func(n *yaml.Node, p string, key bool) bool {
		if key || n.Kind == yaml.DocumentNode {
			return true
		}
		if (p == path || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") || p == "") && len(p) > best {
			best = len(p)
			e.Line, e.Column = n.Line, n.Column
		}
		return true
	})
	return e
}

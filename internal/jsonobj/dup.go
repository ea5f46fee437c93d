package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CheckDuplicates fails on the first object, at any depth of data, that has
// a member name twice (compared after unescaping, so "a" and "\u0061" are
// the same name). Split catches duplicates only at the top; signed
// metadata needs the whole document checked, because canonical JSON and
// Go's decoder silently keep the last value while other parsers keep the
// first, so a duplicated artifact could show two tools two digests under
// one signature.
//
// It scans once, without decoding values. It is meant for data that is
// valid JSON (it does not validate); on anything else it never panics and
// reports at most a duplicate it saw.
func CheckDuplicates(data []byte) error {
	err := checkDuplicates(data, true)
	if err == errUnsorted {
		// A large object came out of order after its names were no
		// longer listed: check again, listing every name.
		err = checkDuplicates(data, false)
	}
	return err
}

// errUnsorted is checkDuplicates' signal to start again without the
// sorted-names shortcut.
var errUnsorted = errors.New("names out of order")

func checkDuplicates(data []byte, sortedShortcut bool) error {
	var stack []dupFrame
	for i := 0; i < len(data); {
		switch c := data[i]; c {
		case '{', '[':
			n := len(stack)
			f := dupFrame{object: c == '{', wantKey: c == '{', parent: n - 1, shortcut: sortedShortcut}
			if n > 0 {
				f.underKey, f.underIndex = stack[n-1].key, stack[n-1].index
			}
			if n < cap(stack) {
				// Reuse the name list of the last frame at this depth.
				f.small = stack[:n+1][n].small[:0]
			}
			stack = append(stack, f)
			i++
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			i++
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].object {
					stack[n-1].wantKey = true
				} else {
					stack[n-1].index++
				}
			}
			i++
		case '"':
			end := stringEnd(data, i)
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				top := &stack[n-1]
				top.wantKey = false
				name := memberName(data[i:end])
				dup, unsorted := top.seen(name)
				if unsorted {
					return errUnsorted
				}
				if dup {
					if top.parent < 0 {
						return fmt.Errorf("field %q appears more than once", name)
					}
					return fmt.Errorf("field %q appears more than once (in %s)", name, pointer(stack))
				}
				top.key = name
			}
			i = end
		default:
			i++
		}
	}
	return nil
}

// dupFrame is an object or array being scanned.
type dupFrame struct {
	object  bool
	wantKey bool
	// parent is the index of the enclosing frame, -1 at the top;
	// underKey or underIndex is the member name or array index this value
	// sits at in it.
	parent     int
	underKey   []byte
	underIndex int
	key        []byte // the object's current member
	index      int    // the array's current element
	// Names seen so far: a slice while small (most objects, like digest
	// sets, have one or two members), a map beyond.
	small [][]byte
	big   map[string]struct{}
	// shortcut is set while names come in increasing order; last is the
	// latest of them, and unlisted says some were not put in small.
	shortcut bool
	last     []byte
	unlisted bool
}

// seen records name and reports whether it was there already. With the
// shortcut, names that come in increasing order (as canonicalising writers
// and json.dump(sort_keys=True) put them) cannot repeat: past the first
// few they are not listed at all, so that an object of 100,000 artifacts
// needs no list and no map; a name out of order after that reports
// unsorted, and the caller checks again without the shortcut.
func (f *dupFrame) seen(name []byte) (dup, unsorted bool) {
	if f.shortcut && f.big == nil && (f.last == nil || bytes.Compare(f.last, name) < 0) {
		f.last = name
		if len(f.small) < 16 {
			f.small = append(f.small, name)
		} else {
			f.unlisted = true
		}
		return false, false
	}
	if f.unlisted {
		return false, true
	}
	f.last = nil
	f.shortcut = false
	if f.big != nil {
		if _, ok := f.big[string(name)]; ok {
			return true, false
		}
		f.big[string(name)] = struct{}{}
		return false, false
	}
	for _, s := range f.small {
		if bytes.Equal(s, name) {
			return true, false
		}
	}
	if len(f.small) < 16 {
		f.small = append(f.small, name)
		return false, false
	}
	f.big = make(map[string]struct{}, 64)
	for _, s := range f.small {
		f.big[string(s)] = struct{}{}
	}
	f.big[string(name)] = struct{}{}
	f.small = f.small[:0]
	return false, false
}

// stringEnd returns the index just past the string starting at data[i]
// (a '"'), or len(data) if it is not closed.
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// memberName decodes a quoted member name as Go's decoder does (escapes
// resolved, invalid UTF-8 replaced by U+FFFD, so that names the decoder
// would merge are the same here). Plain names, nearly all, are returned
// without copying.
func memberName(quoted []byte) []byte {
	inner := quoted
	if len(inner) >= 2 {
		inner = inner[1 : len(inner)-1]
	}
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain || (bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)) {
		return inner
	}
	var s string
	if err := json.Unmarshal(escapeControls(quoted), &s); err != nil {
		return inner
	}
	return []byte(s)
}

// pointer is the JSON pointer (RFC 6901) of the innermost frame.
func pointer(stack []dupFrame) string {
	var parts []string
	for i := len(stack) - 1; stack[i].parent >= 0; i = stack[i].parent {
		p := strconv.Itoa(stack[i].underIndex)
		if stack[stack[i].parent].object {
			p = strings.ReplaceAll(string(stack[i].underKey), "~", "~0")
		}
		parts = append(parts, strings.ReplaceAll(p, "/", "~1"))
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

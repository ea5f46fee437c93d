package dockerfile

import (
	"bytes"
	"fmt"
	"strings"
)

// Pinned is the name a FROM is rewritten to: the substituted base name
// with the digest appended ("alpine:3.20@sha256:..."; BuildKit pulls by
// the digest and keeps the tag for people), or unchanged when it already
// names that digest.
func Pinned(image, digest string) string {
	if _, d, ok := strings.Cut(image, "@"); ok && d == digest {
		return image
	}
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	return image + "@" + digest
}

// Pin returns the Dockerfile with the FROMs of pins (index into f.Froms →
// digest "sha256:...") naming their images by digest. Every byte outside
// those FROM instructions is kept. The base name is replaced where it is
// written; a base name split over continuation lines (which no one
// writes) has its whole instruction rewritten onto one line.
func (f *File) Pin(pins map[int]string) ([]byte, error) {
	starts := lineStarts(f.data)
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	for i, fr := range f.Froms {
		d, ok := pins[i]
		if !ok {
			continue
		}
		if fr.Kind != KindImage {
			return nil, &Error{File: f.Name, Line: fr.Line, Err: fmt.Errorf("FROM %s is a %s, not an image to pin", fr.Original, fr.Kind)}
		}
		if fr.Line < 1 || fr.EndLine > len(starts) || fr.EndLine < fr.Line {
			return nil, &Error{File: f.Name, Line: fr.Line, Err: fmt.Errorf("FROM lines %d-%d outside the file", fr.Line, fr.EndLine)}
		}
		lo := starts[fr.Line-1]
		hi := len(f.data)
		if fr.EndLine < len(starts) {
			hi = starts[fr.EndLine]
		}
		name := Pinned(fr.Image, d)
		if a, b, ok := f.imageWord(lo, hi); ok && string(f.data[a:b]) == fr.Original {
			edits = append(edits, edit{a, b, name})
			continue
		}
		// Rewrite the instruction onto one line, keeping its line ending.
		line := "FROM "
		for _, fl := range fr.flags {
			line += fl + " "
		}
		line += name
		if fr.Stage != "" {
			line += " AS " + fr.Stage
		}
		eol := ""
		if bytes.HasSuffix(f.data[lo:hi], []byte("\r\n")) {
			eol = "\r\n"
		} else if bytes.HasSuffix(f.data[lo:hi], []byte("\n")) {
			eol = "\n"
		}
		edits = append(edits, edit{lo, hi, line + eol})
	}
	var out bytes.Buffer
	at := 0
	for _, e := range edits { // in file order: Froms are
		out.Write(f.data[at:e.from])
		out.WriteString(e.text)
		at = e.to
	}
	out.Write(f.data[at:])
	return out.Bytes(), nil
}

// lineStarts returns the offset of each line's first byte.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// imageWord finds the base name in the FROM instruction data[lo:hi]: the
// first word after the FROM keyword that is not a --flag, skipping
// continuations (the escape character at the end of a line) and comment
// lines within the instruction.
func (f *File) imageWord(lo, hi int) (int, int, bool) {
	esc := byte('\\')
	if f.escape == '`' {
		esc = '`'
	}
	src := f.data
	i := lo
	word := 0
	lineStart := true
	for i < hi {
		c := src[i]
		switch {
		case c == '\n':
			lineStart = true
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case lineStart && c == '#' && word > 0:
			for i < hi && src[i] != '\n' {
				i++
			}
			continue
		case c == esc && restIsBlank(src[i+1:hi]):
			// a continuation: skip to the end of the line
			for i < hi && src[i] != '\n' {
				i++
			}
			continue
		}
		lineStart = false
		a := i
		for i < hi && src[i] != ' ' && src[i] != '\t' && src[i] != '\r' && src[i] != '\n' {
			if src[i] == esc && restIsBlank(src[i+1:hi]) {
				break
			}
			i++
		}
		w := string(src[a:i])
		word++
		switch {
		case word == 1:
			if !strings.EqualFold(w, "from") {
				return 0, 0, false
			}
		case strings.HasPrefix(w, "--"):
		default:
			// A word running into a continuation is not the whole name.
			if i < hi && src[i] == esc {
				return 0, 0, false
			}
			return a, i, true
		}
	}
	return 0, 0, false
}

// restIsBlank says whether only spaces or tabs follow up to the end of the
// line (an escape character there continues the instruction).
func restIsBlank(rest []byte) bool {
	for _, c := range rest {
		switch c {
		case ' ', '\t', '\r':
		case '\n':
			return true
		default:
			return false
		}
	}
	return true
}

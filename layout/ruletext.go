package layout

import (
	"errors"
	"fmt"
	"strings"
)

// splitWords splits s into words the way a POSIX shell splits a simple
// command line, without expansions: blanks separate words; single quotes
// keep everything literally; inside double quotes a backslash escapes only
// `"` and `\`; outside quotes a backslash escapes any character. Rules and
// commands written as one string in a layout source or the builder go
// through here, so `MATCH "*" WITH PRODUCTS FROM build` is five words.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' quote at offset %d", i)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New(`unterminated " quote`)
			}
		case c == '\\':
			inWord = true
			if i+1 == len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseRuleText parses a rule written as one line, e.g.
// `MATCH "*" WITH PRODUCTS FROM build`. Errors name the rule as written.
func parseRuleText(s string) (Rule, error) {
	words, err := splitWords(s)
	if err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", s, err)
	}
	return ParseRule(words)
}

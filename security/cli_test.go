package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// cliChain is a folder ready for `toto verify`: root.layout signed by
// owner (owner.pub beside it) and a links folder.
type cliChain struct {
	dir                 string
	owner, alice, other *keys.Key
}

func newCLIChain(t *testing.T) *cliChain {
	c := &cliChain{dir: t.TempDir(), owner: newKey(t), alice: newKey(t), other: newKey(t)}
	writeFile(t, filepath.Join(c.dir, "root.layout"), encode(t, signLayout(t, buildLayout(t, 1, c.alice), envelope.Metablock, c.owner)))
	writeFile(t, filepath.Join(c.dir, "owner.pub"), publicPEM(t, c.owner))
	writeFile(t, filepath.Join(c.dir, "other.pub"), publicPEM(t, c.other))
	return c
}

func (c *cliChain) verify(t *testing.T, args ...string) cliResult {
	t.Helper()
	base := []string{"verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", "links"}
	return runToto(t, c.dir, time.Minute, append(base, args...)...)
}

// The exit code is what scripts act on: 0 verified, 1 verification
// failed, 2 input the verifier cannot use.
func TestCLIExitCodes(t *testing.T) {
	c := newCLIChain(t)
	links := filepath.Join(c.dir, "links")
	good := writeLink(t, links, "build", c.alice, signLink(t, buildLink(), envelope.Metablock, c.alice))

	t.Run("control: verified", func(t *testing.T) {
		r := c.verify(t)
		wantCode(t, r, 0)
	})

	t.Run("layout key that did not sign", func(t *testing.T) {
		r := runToto(t, c.dir, time.Minute, "verify", "--layout", "root.layout", "--layout-key", "other.pub", "--links", "links")
		wantCode(t, r, 1)
		contains(t, r.Stdout, fmt.Sprintf("root layout: not signed by layout key %s: key %s: no signature by this key", short(c.other), short(c.other)))
	})

	t.Run("tampered link", func(t *testing.T) {
		bad := t.TempDir()
		data := encode(t, signLink(t, buildLink(), envelope.Metablock, c.alice))
		data = bytes.Replace(data, []byte(`"make"`), []byte(`"make evil"`), 1)
		writeFile(t, filepath.Join(bad, good), data)
		r := runToto(t, c.dir, time.Minute, "verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", bad)
		wantCode(t, r, 1)
		contains(t, r.Stdout, fmt.Sprintf("ignored %s: signature by %s does not verify", good, short(c.alice)))
	})

	t.Run("duplicate member in the layout", func(t *testing.T) {
		layoutFile := filepath.Join(c.dir, "root.layout")
		data := readFile(t, layoutFile)
		dup := bytes.Replace(data, []byte(`"_type": "layout"`), []byte(`"_type": "layout", "_type": "link"`), 1)
		writeFile(t, filepath.Join(c.dir, "dup.layout"), dup)
		r := runToto(t, c.dir, time.Minute, "verify", "--layout", "dup.layout", "--layout-key", "owner.pub", "--links", "links")
		wantCode(t, r, 2)
		contains(t, r.Stderr, `layout dup.layout: field "signed": field "_type" appears more than once`)
	})
}

// Artifact and link file names come from the evidence, that is from an
// attacker. The text report must not hand their control characters to the
// terminal: escape sequences could move the cursor and overwrite the
// failures, and a newline could forge a report line.
func TestTextReportNeutralisesControlCharacters(t *testing.T) {
	c := newCLIChain(t)
	links := filepath.Join(c.dir, "links")
	const forged = "\x1b[1A\x1b[2K\rok    build  (verified)\nverification passed"
	bl := buildLink()
	bl.Products["evil"+forged] = digest("x")
	writeLink(t, links, "build", c.alice, signLink(t, bl, envelope.Metablock, c.alice))
	// A second, unreadable file whose name carries the escapes too (the
	// keyid part of a link file name is anything without a dot).
	writeFile(t, filepath.Join(links, "build.x"+strings.ReplaceAll(forged, ".", "")+".link"), []byte("{}"))

	r := c.verify(t)
	wantCode(t, r, 1)

	t.Run("json escapes them", func(t *testing.T) {
		rj := c.verify(t, "--json")
		wantCode(t, rj, 1)
		if !json.Valid([]byte(rj.Stdout)) || strings.ContainsAny(rj.Stdout, "\x1b\r") {
			t.Errorf("JSON report is not clean JSON:\n%q", rj.Stdout)
		}
	})

	for _, bad := range []string{"\x1b", "\r"} {
		if strings.Contains(r.Stdout, bad) {
			t.Errorf("text report holds %q:\n%q", bad, r.Stdout)
		}
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(line, "verification passed") {
			t.Errorf("evidence forged a report line: %q", line)
		}
	}
}

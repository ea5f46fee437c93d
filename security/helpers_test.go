package security

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// now is the verification time of every test; layouts expire a year later
// unless a test says otherwise.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var formats = []struct {
	name string
	f    envelope.Format
}{{"metablock", envelope.Metablock}, {"dsse", envelope.DSSE}}

func newKey(t testing.TB) *keys.Key {
	t.Helper()
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func short(k *keys.Key) string { return k.ID()[:8] }

func digest(content string) link.DigestSet {
	s := sha256.Sum256([]byte(content))
	return link.DigestSet{"sha256": hex.EncodeToString(s[:])}
}

// sign wraps payload in an envelope of format f signed by every signer.
func sign(t testing.TB, f envelope.Format, payload []byte, signers ...*keys.Key) *envelope.Envelope {
	t.Helper()
	e, err := envelope.New(f, envelope.PayloadTypeInToto, payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range signers {
		if err := e.Sign(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func signLayout(t testing.TB, l *layout.Layout, f envelope.Format, signers ...*keys.Key) *envelope.Envelope {
	t.Helper()
	p, err := layout.Payload(l)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, f, p, signers...)
}

func signLink(t testing.TB, l *link.Link, f envelope.Format, signers ...*keys.Key) *envelope.Envelope {
	t.Helper()
	p, err := l.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, f, p, signers...)
}

func encode(t testing.TB, e *envelope.Envelope) []byte {
	t.Helper()
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeLink writes e into dir as the link file of step by k, named the way
// the runners name it; it returns the file name.
func writeLink(t testing.TB, dir, step string, k *keys.Key, e *envelope.Envelope) string {
	t.Helper()
	name := link.FileName(step, k.ID())
	writeFile(t, filepath.Join(dir, name), encode(t, e))
	return name
}

// buildLink is the honest evidence for step "build": one source in, one
// binary out.
func buildLink() *link.Link {
	return &link.Link{
		Name:      "build",
		Command:   []string{"make"},
		Materials: link.Artifacts{"src/main.c": digest("int main(){}")},
		Products:  link.Artifacts{"app": digest("\x7fELF")},
	}
}

// buildLayout has one step "build" that funcs may sign, with threshold
// threshold, creating "app" and nothing else.
func buildLayout(t testing.TB, threshold int, funcs ...*keys.Key) *layout.Layout {
	t.Helper()
	b := layout.NewBuilder(now.AddDate(1, 0, 0))
	var names []string
	for i, k := range funcs {
		name := fmt.Sprintf("functionary%d", i)
		b.AddFunctionary(name, k)
		names = append(names, name)
	}
	b.AddStep("build", layout.Functionaries(names...), layout.Threshold(threshold),
		layout.Command("make"),
		layout.ProductRules(`CREATE app`, `DISALLOW "*"`))
	l, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// verifyDir verifies layoutEnv against the links folder dir, with the
// given layout keys.
func verifyDir(t testing.TB, layoutEnv *envelope.Envelope, dir string, layoutKeys ...*keys.Key) *verifier.Result {
	t.Helper()
	d, err := verifier.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return verifyWith(t, layoutEnv, verifier.Options{Links: d}, layoutKeys...)
}

func verifyWith(t testing.TB, layoutEnv *envelope.Envelope, opts verifier.Options, layoutKeys ...*keys.Key) *verifier.Result {
	t.Helper()
	for _, k := range layoutKeys {
		opts.LayoutKeys = append(opts.LayoutKeys, k.Public())
	}
	opts.Now = now
	res, err := verifier.Verify(context.Background(), layoutEnv, opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func requirePass(t testing.TB, res *verifier.Result) {
	t.Helper()
	if !res.Passed() {
		t.Fatalf("control: want verification to pass, got: %v", res.Err())
	}
}

// onlyFailure asserts that res failed with exactly one failure, of type E,
// whose message is want, and returns it.
func onlyFailure[E error](t testing.TB, res *verifier.Result, want string) E {
	t.Helper()
	var target E
	if res.Passed() {
		t.Fatalf("verification passed; want a %T: %s", target, want)
	}
	if len(res.Failures) != 1 {
		t.Errorf("want exactly one failure, got %d: %v", len(res.Failures), res.Err())
	}
	if !errors.As(res.Failures[0], &target) {
		t.Fatalf("want a %T, got %T: %v", target, res.Failures[0], res.Failures[0])
	}
	if got := target.Error(); got != want {
		t.Errorf("failure message\n got: %s\nwant: %s", got, want)
	}
	return target
}

// linkCheck returns the check of the evidence named source for step.
func linkCheck(t testing.TB, res *verifier.Result, step, source string) *verifier.LinkCheck {
	t.Helper()
	it := res.Step(step)
	if it == nil {
		t.Fatalf("no result for step %s", step)
	}
	var names []string
	for _, lc := range it.Links {
		if lc.Source == source {
			return lc
		}
		names = append(names, lc.Source)
	}
	t.Fatalf("step %s: no evidence %s among %v", step, source, names)
	return nil
}

// rejected asserts that the evidence source for step was not accepted, for
// exactly the reason want.
func rejected(t testing.TB, res *verifier.Result, step, source, want string) {
	t.Helper()
	lc := linkCheck(t, res, step, source)
	if lc.Accepted {
		t.Errorf("%s was accepted for step %s; want it rejected: %s", source, step, want)
	}
	if lc.Reason != want {
		t.Errorf("%s rejected for\n got: %s\nwant: %s", source, lc.Reason, want)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func contains(t testing.TB, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%q does not say %q", got, want)
	}
}

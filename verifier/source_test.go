package verifier_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirPicksLinkFilesByStep(t *testing.T) {
	dir := t.TempDir()
	b := cg.NewBuilder()
	e := b.Link("a", "alice", &link.Link{})
	data, _ := e.Encode()
	for _, name := range []string{"a.12345678.link", "a.b.12345678.link", "a.link", "a..link", ".a.12345678.link-unfinished", "ab.12345678.link"} {
		writeFile(t, filepath.Join(dir, name), data)
	}
	d := openDir(t, dir)
	for step, want := range map[string]string{"a": "a.12345678.link", "a.b": "a.b.12345678.link", "ab": "ab.12345678.link", "nope": ""} {
		files, err := d.Links(context.Background(), step)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
		}
		if strings.Join(names, ",") != want {
			t.Errorf("step %q: %v, want %q", step, names, want)
		}
	}
}

// Step names come from a layout an attacker may have written (and had
// signed by a careless owner): none of them reaches outside the folder.
func TestDirStaysInsideTheFolder(t *testing.T) {
	outer := t.TempDir()
	links := filepath.Join(outer, "links")
	b := cg.NewBuilder()
	data, _ := b.Link("x", "alice", &link.Link{}).Encode()
	writeFile(t, filepath.Join(outer, "secret.12345678.link"), data)
	writeFile(t, filepath.Join(outer, "sub.12345678", "x.12345678.link"), data)
	if err := os.MkdirAll(links, 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink pointing out of the folder.
	if err := os.Symlink(filepath.Join(outer, "secret.12345678.link"), filepath.Join(links, "escape.12345678.link")); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, links)
	ctx := context.Background()
	for _, step := range []string{"../secret", "..", "/etc/passwd", "../sub.12345678/x"} {
		files, err := d.Links(ctx, step)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 0 {
			t.Errorf("step %q found %v outside the folder", step, files[0].Name)
		}
	}
	files, err := d.Links(ctx, "escape")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Err == nil || files[0].Envelope != nil {
		t.Errorf("a symlink out of the folder was followed: %+v", files)
	}
	for _, step := range []string{"..", "../sub", "a/b", ""} {
		if _, err := d.Sublayout(step, "12345678abcdef"); err == nil {
			t.Errorf("sublayout folder for step %q opened", step)
		}
	}
}

func TestDirBoundsFileSize(t *testing.T) {
	dir := t.TempDir()
	b := cg.NewBuilder()
	data, _ := b.Link("big", "alice", &link.Link{Products: cg.Artifacts("a", hX)}).Encode()
	writeFile(t, filepath.Join(dir, "big.12345678.link"), data)
	d := openDir(t, dir)
	d.MaxFileSize = int64(len(data) - 1)
	files, err := d.Links(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Err == nil || !strings.Contains(files[0].Err.Error(), "more than the limit") {
		t.Fatalf("an oversized link was read: %+v", files)
	}
	// Verification reports it and goes on.
	b.Step("big", 1, []string{"alice"}, nil, nil)
	res := mustVerify(t, b.SignedLayout("owner"), verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: d})
	wantFailure[*verifier.ThresholdError](t, res, "big.12345678.link rejected: unreadable")
}

// Many files, each under the per-file limit, are bounded in total too.
func TestDirBoundsTotalSize(t *testing.T) {
	dir := t.TempDir()
	b := cg.NewBuilder()
	data, _ := b.Link("big", "alice", &link.Link{Products: cg.Artifacts("a", hX)}).Encode()
	for _, id := range []string{"11111111", "22222222", "33333333"} {
		writeFile(t, filepath.Join(dir, "big."+id+".link"), data)
	}
	d := openDir(t, dir)
	d.MaxTotalSize = int64(2*len(data) + len(data)/2)
	files, err := d.Links(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[0].Err != nil || files[1].Err != nil {
		t.Fatalf("files within the budget were refused: %+v", files)
	}
	if files[2].Err == nil || !strings.Contains(files[2].Err.Error(), "bytes of evidence in all") {
		t.Fatalf("the file past the total budget was read: %+v", files[2])
	}
}

// FuzzVerifyEvidence feeds arbitrary bytes to the verifier as a step's
// link file: it must never panic, and never accept evidence that alice did
// not sign.
func FuzzVerifyEvidence(f *testing.F) {
	b := cg.NewBuilder()
	b.Step("build", 1, []string{"alice"}, cg.Rules([]string{"ALLOW", "*"}), cg.Rules([]string{"CREATE", "a*"}, []string{"DISALLOW", "*"}))
	good, _ := b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hX)}).Encode()
	f.Add(good)
	b.Format = envelope.DSSE
	dsse, _ := b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hX)}).Encode()
	f.Add(dsse)
	f.Add([]byte(`{"signed":{"_type":"layout"},"signatures":[]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"x","sig":"AA=="}]}`))
	env := b.SignedLayout("owner")
	alice := b.Public("alice")
	owner := b.Public("owner")
	f.Fuzz(func(t *testing.T, data []byte) {
		lf := verifier.LinkFile{Name: "build.fuzz.link"}
		lf.Envelope, lf.Err = envelope.Parse(data)
		src := &verifier.MemSource{Steps: map[string][]verifier.LinkFile{"build": {lf}}}
		res, err := verifier.Verify(context.Background(), env, verifier.Options{LayoutKeys: []*keys.Key{owner}, Links: src})
		if err != nil {
			t.Fatal(err)
		}
		if res.Passed() && (lf.Envelope == nil || lf.Envelope.Verify(alice) != nil) {
			t.Fatalf("accepted evidence alice did not sign: %q", data)
		}
	})
}

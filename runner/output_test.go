package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	linkv0 "github.com/in-toto/attestation/go/predicates/link/v0"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

func testKey(t *testing.T, typ string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(typ, keys.GenerateOptions{RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleLink() *link.Link {
	return &link.Link{
		Name:      "build",
		Command:   []string{"make", "all"},
		Materials: link.Artifacts{"src/b.c": {"sha256": sha256hex([]byte("b"))}, "src/a.c": {"sha256": sha256hex([]byte("a"))}},
		Products:  link.Artifacts{"bin/app": {"sha256": sha256hex([]byte("app")), "sha512": sha512hex([]byte("app"))}},
		ByProducts: map[string]any{
			"stdout": "compiled <ok> & \x1b[32mgreen\x1b[0m ✓\n", "stderr": "", "return-value": 0,
		},
		Environment: map[string]any{"workdir": "/src"},
	}
}

func TestSignFormats(t *testing.T) {
	k := testKey(t, keys.Ed25519)
	l := sampleLink()
	for _, f := range []LinkFormat{Metablock, DSSE} {
		t.Run(f.String(), func(t *testing.T) {
			env, err := Sign(context.Background(), l, k, f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := env.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := envelope.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			wantFormat := map[LinkFormat]envelope.Format{Metablock: envelope.Metablock, DSSE: envelope.DSSE}[f]
			if back.Format != wantFormat {
				t.Errorf("envelope format %v, want %v", back.Format, wantFormat)
			}
			if err := back.Verify(k.Public()); err != nil {
				t.Fatal(err)
			}
			got, err := link.Parse(back.Payload())
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != l.Name || !reflect.DeepEqual(got.Command, l.Command) ||
				!reflect.DeepEqual(got.Materials, l.Materials) || !reflect.DeepEqual(got.Products, l.Products) ||
				got.ByProducts["stdout"] != l.ByProducts["stdout"] || got.ByProducts["return-value"].(interface{ String() string }).String() != "0" {
				t.Errorf("link changed on the way: %+v", got)
			}
		})
	}
}

func TestSignAttestation(t *testing.T) {
	k := testKey(t, keys.ECDSA)
	l := sampleLink()
	env, err := Sign(context.Background(), l, k, Attestation)
	if err != nil {
		t.Fatal(err)
	}
	if env.Format != envelope.DSSE || env.PayloadType != envelope.PayloadTypeInToto {
		t.Errorf("attestation envelope %v %q", env.Format, env.PayloadType)
	}
	if err := env.Verify(k.Public()); err != nil {
		t.Fatal(err)
	}
	s, err := statement.Parse(env.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if s.PredicateType != "https://in-toto.io/attestation/link/v0.3" {
		t.Errorf("predicateType %q", s.PredicateType)
	}
	if len(s.Subject) != 1 || s.Subject[0].Name != "bin/app" || !s.Subject[0].Digest.Equal(l.Products["bin/app"]) {
		t.Errorf("subjects %+v, want the products", s.Subject)
	}
	// The predicate must be a valid link predicate v0.3 for the attestation
	// library: unknown fields are rejected, materials are validated
	// resource descriptors.
	var pred linkv0.Link
	if err := protojson.Unmarshal(s.Predicate, &pred); err != nil {
		t.Fatalf("predicate is not a link v0.3: %v\n%s", err, s.Predicate)
	}
	if pred.GetName() != "build" || !reflect.DeepEqual(pred.GetCommand(), l.Command) {
		t.Errorf("predicate name/command: %q %q", pred.GetName(), pred.GetCommand())
	}
	if len(pred.GetMaterials()) != 2 || pred.GetMaterials()[0].GetName() != "src/a.c" {
		t.Errorf("materials not sorted resource descriptors: %v", pred.GetMaterials())
	}
	for _, m := range pred.GetMaterials() {
		if err := m.Validate(); err != nil {
			t.Errorf("material %s: %v", m.GetName(), err)
		}
		if m.GetDigest()["sha256"] != l.Materials[m.GetName()]["sha256"] {
			t.Errorf("material %s digest %v", m.GetName(), m.GetDigest())
		}
	}
	if pred.GetByproducts().GetFields()["stdout"].GetStringValue() != l.ByProducts["stdout"] {
		t.Error("byproducts lost")
	}
	if pred.GetEnvironment().GetFields()["workdir"].GetStringValue() != "/src" {
		t.Error("environment lost")
	}

	l.Products = nil
	if _, err := Sign(context.Background(), l, k, Attestation); !errors.Is(err, ErrNoSubject) {
		t.Errorf("no products: err = %v, want ErrNoSubject", err)
	}
}

func TestWriteNamesAndAtomicity(t *testing.T) {
	dir := t.TempDir()
	k := testKey(t, keys.Ed25519)
	path, err := Write(context.Background(), dir, sampleLink(), k, Metablock)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "build."+k.ID()[:8]+".link"); path != want {
		t.Errorf("wrote %s, want %s", path, want)
	}

	// A key that cannot sign: clear error, nothing written.
	empty := t.TempDir()
	_, err = Write(context.Background(), empty, sampleLink(), k.Public(), Metablock)
	if !errors.Is(err, keys.ErrNoPrivateKey) {
		t.Errorf("public key: err = %v, want ErrNoPrivateKey", err)
	}
	// An attestation that cannot be made: nothing written either.
	l := sampleLink()
	l.Products = nil
	if _, err := Write(context.Background(), empty, l, k, Attestation); err == nil {
		t.Error("attestation without products: want error")
	}
	// An unwritable destination: nothing left behind.
	if _, err := Write(context.Background(), filepath.Join(empty, "no", "such", "dir"), sampleLink(), k, Metablock); err == nil {
		t.Error("missing directory: want error")
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("failed writes left files: %v", ents)
	}
}

func TestRecordStartStop(t *testing.T) {
	root := tree(t, map[string]string{"src/a.c": "a"})
	t.Chdir(root)
	k := testKey(t, keys.Ed25519)
	ctx := context.Background()
	o := RecordOptions{Name: "edit", Paths: []string{"."}, Key: k, Environment: EnvironmentOptions{Workdir: true}}

	prelim, stats, err := RecordStart(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(prelim) != ".edit."+k.ID()[:8]+".link-unfinished" {
		t.Errorf("preliminary link at %s", prelim)
	}
	if stats.Files != 1 {
		t.Errorf("start hashed %d files, want 1", stats.Files)
	}

	// Stopping with another key finds nothing.
	other := o
	other.Key = testKey(t, keys.Ed25519)
	if _, _, _, err := RecordStop(ctx, other); !errors.Is(err, ErrNoUnfinished) {
		t.Errorf("other key: err = %v, want ErrNoUnfinished", err)
	}

	// The step happens: a file changes, one appears.
	os.WriteFile(filepath.Join(root, "src", "a.c"), []byte("a2"), 0o644)
	os.WriteFile(filepath.Join(root, "out.bin"), []byte("bin"), 0o644)
	o.Paths = []string{"."}
	final, _, _, err := RecordStop(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(final) != "edit."+k.ID()[:8]+".link" {
		t.Errorf("final link %s", final)
	}
	if _, err := os.Stat(prelim); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("preliminary link still there: %v", err)
	}
	l := loadLink(t, final, k)
	if !l.Materials["src/a.c"].Equal(link.DigestSet{"sha256": sha256hex([]byte("a"))}) {
		t.Errorf("materials %v", l.Materials)
	}
	wantProducts := want(map[string]string{"src/a.c": "a2", "out.bin": "bin"})
	if !reflect.DeepEqual(l.Products, wantProducts) {
		t.Errorf("products %v, want %v (the preliminary link must be excluded)", l.Products, wantProducts)
	}
	if l.Environment["workdir"] == nil {
		t.Error("environment from start lost")
	}
}

func TestRecordStopRejectsTamperedPreliminaryLink(t *testing.T) {
	root := tree(t, map[string]string{"a": "a"})
	t.Chdir(root)
	k := testKey(t, keys.Ed25519)
	ctx := context.Background()
	o := RecordOptions{Name: "edit", Paths: []string{"a"}, Key: k}
	prelim, _, err := RecordStart(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(prelim)
	forged := strings.Replace(string(b), sha256hex([]byte("a")), sha256hex([]byte("evil")), 1)
	if forged == string(b) {
		t.Fatal("test did not change the link")
	}
	os.WriteFile(prelim, []byte(forged), 0o644)
	_, _, _, err = RecordStop(ctx, o)
	if !errors.Is(err, envelope.ErrBadSignature) {
		t.Fatalf("err = %v, want a bad signature error", err)
	}
	if _, err := os.Stat(filepath.Join(root, link.FileName("edit", k.ID()))); !errors.Is(err, os.ErrNotExist) {
		t.Error("a final link was written from a forged preliminary link")
	}
}

func TestRecordDSSEAndAttestation(t *testing.T) {
	root := tree(t, map[string]string{"a": "a"})
	t.Chdir(root)
	k := testKey(t, keys.Ed25519)
	ctx := context.Background()
	for _, f := range []LinkFormat{DSSE, Attestation} {
		o := RecordOptions{Name: "s-" + f.String(), Paths: []string{"a"}, Key: k, Format: f}
		prelim, _, err := RecordStart(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(prelim)
		if env, err := envelope.Parse(b); err != nil || env.Format != envelope.DSSE {
			t.Errorf("%v: preliminary link should be DSSE: %v", f, err)
		}
		final, _, _, err := RecordStop(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = os.ReadFile(final)
		env, err := envelope.Parse(b)
		if err != nil || env.Verify(k.Public()) != nil {
			t.Fatalf("%v: final link does not verify: %v", f, err)
		}
		typ, _ := env.PayloadTypeField()
		if want := map[LinkFormat]string{DSSE: "link", Attestation: statement.Type}[f]; typ != want {
			t.Errorf("%v: payload _type %q, want %q", f, typ, want)
		}
	}
}

func loadLink(t *testing.T, path string, k *keys.Key) *link.Link {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(k.Public()); err != nil {
		t.Fatal(err)
	}
	l, err := link.Parse(env.Payload())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

package interop

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// goKey loads the PEM key toto wrote with in-toto-golang's own loader, with
// the scheme in-toto-golang would need to be told: its defaults assume
// P-256 for every ECDSA key.
func goKey(t testing.TB, path string, k *keys.Key) intoto.Key {
	t.Helper()
	var gk intoto.Key
	var err error
	if k.Scheme == keys.SchemeECDSAP384 {
		err = gk.LoadKey(path, k.Scheme, []string{"sha256", "sha512"})
	} else {
		err = gk.LoadKeyDefaults(path)
	}
	if err != nil {
		t.Fatalf("in-toto-golang cannot load %s: %v", path, err)
	}
	return gk
}

func goPublic(k intoto.Key) intoto.Key {
	k.KeyVal.Private = ""
	return k
}

// goLink is sampleLink as in-toto-golang's struct. Its stdout ends in a
// newline, as recorded stdout usually does.
func goLink(name string) intoto.Link {
	l := sampleLink(name)
	conv := func(a link.Artifacts) map[string]intoto.HashObj {
		out := map[string]intoto.HashObj{}
		for p, d := range a {
			out[p] = intoto.HashObj(d)
		}
		return out
	}
	return intoto.Link{
		Type:        "link",
		Name:        l.Name,
		Materials:   conv(l.Materials),
		Products:    conv(l.Products),
		ByProducts:  l.ByProducts,
		Command:     l.Command,
		Environment: l.Environment,
	}
}

func goLayout(gks []intoto.Key) intoto.Layout {
	l := intoto.Layout{
		Type:    "layout",
		Expires: time.Now().UTC().Add(30 * 24 * time.Hour).Format("2006-01-02T15:04:05Z"),
		Readme:  "signed by in-toto-golang for the interop suite",
		Keys:    map[string]intoto.Key{},
		Inspect: []intoto.Inspection{{
			Type: "inspection",
			Run:  []string{"tar", "xzf", "dist/a.tar.gz"},
			SupplyChainItem: intoto.SupplyChainItem{
				Name:              "untar",
				ExpectedMaterials: [][]string{{"MATCH", "dist/a.tar.gz", "WITH", "PRODUCTS", "FROM", "build"}, {"ALLOW", "*"}},
				ExpectedProducts:  [][]string{},
			},
		}},
	}
	var ids []string
	for _, k := range gks {
		l.Keys[k.KeyID] = goPublic(k)
		ids = append(ids, k.KeyID)
	}
	l.Steps = []intoto.Step{{
		Type:            "step",
		PubKeys:         ids,
		ExpectedCommand: []string{"tar", "czf", "dist/a.tar.gz", "src"},
		Threshold:       1,
		SupplyChainItem: intoto.SupplyChainItem{
			Name:              "build",
			ExpectedMaterials: [][]string{{"ALLOW", "src/*"}, {"DISALLOW", "*"}},
			ExpectedProducts:  [][]string{{"CREATE", "dist/a.tar.gz"}, {"DISALLOW", "*"}},
		},
	}}
	return l
}

// goSign signs payload with in-toto-golang as a Metablock or DSSE envelope
// and writes it to path.
func goSign(t testing.TB, path string, format envelope.Format, payload any, gks ...intoto.Key) {
	t.Helper()
	var md intoto.Metadata
	if format == envelope.DSSE {
		env := &intoto.Envelope{}
		if err := env.SetPayload(payload); err != nil {
			t.Fatal(err)
		}
		md = env
	} else {
		md = &intoto.Metablock{Signed: payload}
	}
	for _, k := range gks {
		if err := md.Sign(k); err != nil {
			t.Fatalf("in-toto-golang cannot sign with %s: %v", k.Scheme, err)
		}
	}
	if err := md.Dump(path); err != nil {
		t.Fatal(err)
	}
}

// in-toto-golang computes the same keyid as toto for every key kind, when
// loading the PEM files toto writes.
func TestGolangKeyIDsMatchToto(t *testing.T) {
	dir := t.TempDir()
	ks := generateKeys(t)
	writePEMKeys(t, dir, ks)
	for _, k := range ks {
		t.Run(k.name, func(t *testing.T) {
			for _, file := range []string{k.name + ".pem", k.name + ".pub.pem"} {
				gk := goKey(t, filepath.Join(dir, file), k.key)
				if gk.KeyID != k.key.ID() {
					t.Errorf("%s: in-toto-golang keyid %s, toto keyid %s", file, gk.KeyID, k.key.ID())
				}
				if gk.Scheme != k.key.Scheme || gk.KeyType != k.key.Type {
					t.Errorf("%s: in-toto-golang reads %s/%s, toto %s/%s", file, gk.KeyType, gk.Scheme, k.key.Type, k.key.Scheme)
				}
				if tk := loadKey(t, filepath.Join(dir, file)); tk.ID() != gk.KeyID {
					t.Errorf("%s: toto reloads it with keyid %s, in-toto-golang %s", file, tk.ID(), gk.KeyID)
				}
			}
		})
	}
}

// Links and layouts in-toto-golang signs (Metablock and DSSE, each key
// kind) verify in toto with the same keys loaded by toto; forgeries fail.
func TestGolangSignedVerifiesInToto(t *testing.T) {
	dir := t.TempDir()
	ks := generateKeys(t)
	writePEMKeys(t, dir, ks)
	gks := make([]intoto.Key, len(ks))
	for i, k := range ks {
		gks[i] = goKey(t, filepath.Join(dir, k.name+".pem"), k.key)
	}
	stranger := strangerKey(t)

	check := func(t *testing.T, path string, format envelope.Format, signers []testKey) *envelope.Envelope {
		t.Helper()
		e := parseEnvelopeFile(t, path)
		if e.Format != format {
			t.Fatalf("format %v, want %v", e.Format, format)
		}
		forged := resign(t, e, tamperPayload(t, e.Payload(), `"name"`, `"nome"`))
		for _, k := range signers {
			pub := loadKey(t, filepath.Join(dir, k.name+".pub.pem"))
			if err := e.Verify(pub); err != nil {
				t.Errorf("%s: toto rejects in-toto-golang's signature: %v", k.name, err)
			}
			if err := forged.Verify(pub); !errors.Is(err, envelope.ErrBadSignature) {
				t.Errorf("%s: forged payload: got %v, want ErrBadSignature", k.name, err)
			}
		}
		if err := e.Verify(stranger); !errors.Is(err, envelope.ErrNoSignature) {
			t.Errorf("a key that did not sign: got %v, want ErrNoSignature", err)
		}
		return e
	}

	for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
		for i, k := range ks {
			t.Run("link/"+format.String()+"/"+k.name, func(t *testing.T) {
				step := "go-" + k.name
				path := filepath.Join(dir, format.String()+"-"+linkFileName(step, k.key))
				goSign(t, path, format, goLink(step), gks[i])
				e := check(t, path, format, []testKey{k})
				if format == envelope.DSSE {
					return // parsed by TestGolangDSSEPayloadsParseInToto
				}
				l, err := link.Parse(e.Payload())
				if err != nil {
					t.Fatalf("link.Parse: %v", err)
				}
				if l.Name != step || len(l.Products) != 1 || l.Products["dist/a.tar.gz"]["sha512"] == "" {
					t.Errorf("link read back wrong: %+v", l)
				}
				if ids := e.SignerIDs(); len(ids) != 1 || ids[0] != k.key.ID() {
					t.Errorf("signature keyids %v, want [%s]", ids, k.key.ID())
				}
			})
		}
		t.Run("layout/"+format.String(), func(t *testing.T) {
			path := filepath.Join(dir, format.String()+".layout")
			if format == envelope.DSSE {
				// in-toto-golang v0.11's Envelope.Sign starts a new envelope
				// each time, keeping only the last signature, so a DSSE
				// layout gets one key here.
				goSign(t, path, format, goLayout(gks), gks[0])
				check(t, path, format, ks[:1])
				return // parsed by TestGolangDSSEPayloadsParseInToto
			}
			goSign(t, path, format, goLayout(gks), gks...)
			e := check(t, path, format, ks)
			l, err := layout.Parse(e.Payload())
			if err != nil {
				t.Fatalf("layout.Parse: %v", err)
			}
			for _, k := range ks {
				lk, ok := l.Keys[k.key.ID()]
				if !ok {
					t.Errorf("layout has no key %s (%s)", short(k.key.ID()), k.name)
					continue
				}
				if lk.ID() != k.key.ID() {
					t.Errorf("%s: embedded key has toto keyid %s, listed as %s", k.name, lk.ID(), k.key.ID())
				}
			}
		})
	}
}

// Links and layouts toto signs verify in in-toto-golang (LoadMetadata and
// VerifySignature), for every key kind and both envelopes; forgeries fail
// there too, so the oracle is not just saying yes.
func TestTotoSignedVerifiesInGolang(t *testing.T) {
	dir := t.TempDir()
	ks := generateKeys(t)
	writePEMKeys(t, dir, ks)
	gpubs := make([]intoto.Key, len(ks))
	for i, k := range ks {
		gpubs[i] = goKey(t, filepath.Join(dir, k.name+".pub.pem"), k.key)
	}
	verify := func(t *testing.T, path string, signers []int, wantOK bool) {
		t.Helper()
		md, err := intoto.LoadMetadata(path)
		if err != nil {
			if wantOK {
				t.Fatalf("in-toto-golang cannot load toto's %s: %v", filepath.Base(path), err)
			}
			return
		}
		for _, i := range signers {
			err := md.VerifySignature(gpubs[i])
			if wantOK && err != nil {
				t.Errorf("%s: in-toto-golang rejects toto's signature: %v", ks[i].name, err)
			}
			if !wantOK && err == nil {
				t.Errorf("%s: in-toto-golang accepts a forged payload", ks[i].name)
			}
		}
	}
	for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
		for i, k := range ks {
			t.Run("link/"+format.String()+"/"+k.name, func(t *testing.T) {
				step := "toto-" + k.name
				path := filepath.Join(dir, format.String()+"-"+linkFileName(step, k.key))
				e := signPayload(t, path, format, marshal(t, sampleLink(step)), k.key)
				verify(t, path, []int{i}, true)

				forged := filepath.Join(dir, "forged-"+filepath.Base(path))
				writeEnvelope(t, forged, resign(t, e, tamperPayload(t, e.Payload(), "/build", "/buiLd")))
				verify(t, forged, []int{i}, false)
			})
		}
	}
	t.Run("layout/dsse", func(t *testing.T) {
		path := filepath.Join(dir, "dsse.layout")
		signPayload(t, path, envelope.DSSE, layoutPayload(t, sampleLayout(t, ks)), keysOf(ks)...)
		all := make([]int, len(ks))
		for i := range ks {
			all[i] = i
		}
		verify(t, path, all, true)
	})
	// layout/metablock is TestTotoLayoutWithKeysVerifiesInGolang.
}

// A toto layout that embeds functionary keys, signed as a Metablock,
// verifies in in-toto-golang. in-toto-golang checks Metablock signatures
// over its own re-encoding of the payload, in which every embedded key has a
// "keyid" member (its Key struct has no omitempty on it), so toto must write
// that member, as Python does, or in-toto-golang sees different bytes.
// (layout.Payload writes it; (*layout.Layout).MarshalJSON alone does not.)
func TestTotoLayoutWithKeysVerifiesInGolang(t *testing.T) {
	dir := t.TempDir()
	ks := generateKeys(t)
	writePEMKeys(t, dir, ks)
	path := filepath.Join(dir, "root.layout")
	signPayload(t, path, envelope.Metablock, layoutPayload(t, sampleLayout(t, ks)), keysOf(ks)...)
	md, err := intoto.LoadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if err := md.VerifySignature(goKey(t, filepath.Join(dir, k.name+".pub.pem"), k.key)); err != nil {
			t.Errorf("%s: in-toto-golang rejects toto's layout signature: %v", k.name, err)
		}
	}
	gl, ok := md.GetPayload().(intoto.Layout)
	if !ok {
		t.Fatalf("in-toto-golang reads the payload as %T", md.GetPayload())
	}
	for id, k := range gl.Keys {
		if k.KeyID != id {
			t.Errorf("embedded key %s: in-toto-golang sees keyid %q (its layout validation requires it to equal the map key)", short(id), k.KeyID)
		}
	}
}

// DSSE payloads written by in-toto-golang parse in toto. in-toto-golang
// encodes them as OLPC canonical JSON, which escapes only '"' and '\\', so a
// recorded stdout ending in a newline, or a PEM public key in a layout, puts
// raw control characters inside JSON strings. toto must read what the
// reference writes.
func TestGolangDSSEPayloadsParseInToto(t *testing.T) {
	dir := t.TempDir()
	ks := generateKeys(t)
	writePEMKeys(t, dir, ks)
	gks := make([]intoto.Key, len(ks))
	for i, k := range ks {
		gks[i] = goKey(t, filepath.Join(dir, k.name+".pem"), k.key)
	}
	t.Run("link", func(t *testing.T) {
		path := filepath.Join(dir, "dsse.link")
		goSign(t, path, envelope.DSSE, goLink("go-dsse"), gks[0])
		e := parseEnvelopeFile(t, path)
		if err := e.Verify(ks[0].key.Public()); err != nil {
			t.Fatal(err)
		}
		l, err := link.Parse(e.Payload())
		if err != nil {
			t.Fatalf("link.Parse: %v", err)
		}
		if got := l.ByProducts["stdout"]; got != "made it\n" {
			t.Errorf("stdout %q, want %q", got, "made it\n")
		}
	})
	t.Run("layout", func(t *testing.T) {
		path := filepath.Join(dir, "dsse.layout")
		goSign(t, path, envelope.DSSE, goLayout(gks), gks[3])
		e := parseEnvelopeFile(t, path)
		if err := e.Verify(ks[3].key.Public()); err != nil {
			t.Fatal(err)
		}
		l, err := layout.Parse(e.Payload())
		if err != nil {
			t.Fatalf("layout.Parse: %v", err)
		}
		for _, k := range ks {
			if lk, ok := l.Keys[k.key.ID()]; !ok || lk.ID() != k.key.ID() {
				t.Errorf("%s: layout key %s missing or with another keyid", k.name, short(k.key.ID()))
			}
		}
	})
}

// A toto layout that embeds no keys (its functionaries are identified by
// certificate, or it only has inspections) verifies in in-toto-golang as a
// Metablock. Together with the layout/metablock case above this tells
// apart "toto signs layouts wrongly" from "embedded keys re-encode
// differently".
func TestTotoKeylessLayoutVerifiesInGolang(t *testing.T) {
	dir := t.TempDir()
	ks := generateKeys(t)
	writePEMKeys(t, dir, ks)
	l := sampleLayout(t, nil)
	l.Steps[0].PubKeys = nil
	path := filepath.Join(dir, "keyless.layout")
	signPayload(t, path, envelope.Metablock, layoutPayload(t, l), ks[0].key)
	md, err := intoto.LoadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := md.VerifySignature(goKey(t, filepath.Join(dir, ks[0].name+".pub.pem"), ks[0].key)); err != nil {
		t.Errorf("in-toto-golang rejects toto's keyless layout: %v", err)
	}
}

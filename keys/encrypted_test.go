package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/keys"
)

const fixturePassword = "toto-test"

func fixture(name string) string { return filepath.Join("testdata", "encrypted", name) }

func password(pw string) keys.LoadOptions {
	return keys.LoadOptions{Password: func() ([]byte, error) { return []byte(pw), nil }}
}

// Encrypted keys written by openssl and by cosign v2 and v3 load with their
// password, as the key whose public half sits beside them, and sign.
func TestLoadEncryptedKeysFromRealTools(t *testing.T) {
	for _, tc := range []struct {
		file, pub, typ string
	}{
		{"ecdsa-aes256-pbkdf2.pem", "ecdsa.pub", keys.ECDSA},
		{"ecdsa-des3.pem", "ecdsa.pub", keys.ECDSA},
		{"rsa-aes128-sha1.pem", "rsa.pub", keys.RSA},
		{"ed25519-scrypt.pem", "ed25519.pub", keys.Ed25519},
		{"cosign-v3-ecdsa.key", "cosign-v3-ecdsa.pub", keys.ECDSA},
		{"cosign-v2-ecdsa.key", "cosign-v2-ecdsa.pub", keys.ECDSA},
		{"cosign-v3-rsa.key", "rsa.pub", keys.RSA},
		{"cosign-v2-rsa.key", "rsa.pub", keys.RSA},
		{"cosign-v3-ed25519.key", "ed25519.pub", keys.Ed25519},
	} {
		t.Run(tc.file, func(t *testing.T) {
			calls := 0
			k, err := keys.LoadWith(fixture(tc.file), keys.LoadOptions{Password: func() ([]byte, error) {
				calls++
				return []byte(fixturePassword), nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if calls != 1 {
				t.Errorf("password asked %d times", calls)
			}
			pub, err := keys.Load(fixture(tc.pub))
			if err != nil {
				t.Fatal(err)
			}
			if !k.IsPrivate() || k.Type != tc.typ || k.ID() != pub.ID() {
				t.Fatalf("loaded %s/%s private=%v keyid %s, want %s keyid %s", k.Type, k.Scheme, k.IsPrivate(), k.ID(), tc.typ, pub.ID())
			}
			sig, err := k.Sign(context.Background(), []byte("m"))
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Verify([]byte("m"), sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadEncryptedErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		opts keys.LoadOptions
		want error
	}{
		{"cosign, no password", "cosign-v3-ecdsa.key", keys.LoadOptions{}, keys.ErrPasswordRequired},
		{"pkcs8, no password", "ecdsa-aes256-pbkdf2.pem", keys.LoadOptions{}, keys.ErrPasswordRequired},
		{"cosign, wrong password", "cosign-v2-ecdsa.key", password("nope"), keys.ErrWrongPassword},
		{"pkcs8, wrong password", "rsa-aes128-sha1.pem", password("nope"), keys.ErrWrongPassword},
		{"pkcs8 scrypt, wrong password", "ed25519-scrypt.pem", password("nope"), keys.ErrWrongPassword},
		{"pkcs8, empty password", "ecdsa-aes256-pbkdf2.pem", password(""), keys.ErrWrongPassword},
		{"callback fails", "cosign-v3-ecdsa.key", keys.LoadOptions{Password: func() ([]byte, error) { return nil, errTest }}, errTest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.LoadWith(fixture(tc.file), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
	// Load (no options) says what is wrong with an encrypted key.
	_, err := keys.Load(fixture("cosign-v3-ecdsa.key"))
	if !errors.Is(err, keys.ErrPasswordRequired) || !strings.Contains(err.Error(), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Fatalf("Load: %v", err)
	}
}

var errTest = errors.New("no terminal")

// Malformed encrypted keys are refused before a password is asked for,
// and never reach the decryption library with parameters it mishandles.
func TestEncryptedMalformed(t *testing.T) {
	good := func(name string) []byte {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		return blk.Bytes
	}
	pemOf := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	cosignJSON := good("cosign-v3-ecdsa.key")
	pkcs8DER := good("ecdsa-aes256-pbkdf2.pem")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"cosign not JSON", pemOf(keys.PEMSigstoreEncrypted, []byte("nope")), "malformed"},
		{"cosign other kdf", pemOf(keys.PEMSigstoreEncrypted, bytes.Replace(cosignJSON, []byte(`"scrypt"`), []byte(`"pbkdf2"`), 1)), "kdf"},
		{"cosign huge N", pemOf(keys.PEMSigstoreEncrypted, bytes.Replace(cosignJSON, []byte(`"N":65536`), []byte(`"N":1073741824`), 1)), "scrypt parameters"},
		{"cosign no nonce", pemOf(keys.PEMSigstoreEncrypted, []byte(`{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"AA=="},"cipher":{"name":"nacl/secretbox"},"ciphertext":"AA=="}`)), "nonce"},
		{"pkcs8 not DER", pemOf(keys.PEMEncryptedPKCS8, []byte("nope")), "EncryptedPrivateKeyInfo"},
		{"pkcs8 truncated", pemOf(keys.PEMEncryptedPKCS8, pkcs8DER[:len(pkcs8DER)-5]), "EncryptedPrivateKeyInfo"},
		{"pkcs8 ciphertext not whole blocks", pemOf(keys.PEMEncryptedPKCS8, shortenCiphertext(t, pkcs8DER)), "blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			_, err := keys.ParseWith(tc.data, keys.LoadOptions{Password: func() ([]byte, error) { asked = true; return []byte(fixturePassword), nil }})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
			if asked {
				t.Error("password asked for a malformed key")
			}
		})
	}
}

// shortenCiphertext drops the last byte of the encrypted data of a DER
// EncryptedPrivateKeyInfo whose data is its final OCTET STRING with a
// one-byte length (a P-256 key: 144 bytes).
func shortenCiphertext(t *testing.T, der []byte) []byte {
	t.Helper()
	n := len(der)
	// ... 04 81 90 <144 bytes>: the outer SEQUENCE length and the OCTET
	// STRING length both shrink by one.
	if der[n-144-3] != 0x04 || der[n-144-2] != 0x81 || der[n-144-1] != 0x90 {
		t.Fatalf("unexpected fixture layout % x", der[n-147:n-144])
	}
	out := append([]byte(nil), der[:n-1]...)
	out[n-144-1] = 0x8f
	if out[0] != 0x30 || out[1] != 0x81 {
		t.Fatalf("unexpected outer header % x", out[:3])
	}
	out[2]--
	return out
}

// toto writes both encrypted formats, and reads them back with the
// password.
func TestMarshalEncryptedRoundTrip(t *testing.T) {
	for _, typ := range []string{keys.Ed25519, keys.ECDSA, keys.RSA} {
		k, err := keys.Generate(typ, keys.GenerateOptions{RSABits: 2048})
		if err != nil {
			t.Fatal(err)
		}
		for name, marshal := range map[string]func([]byte) ([]byte, error){
			"pkcs8":    k.MarshalEncryptedPEM,
			"sigstore": k.MarshalSigstorePEM,
		} {
			t.Run(typ+"/"+name, func(t *testing.T) {
				b, err := marshal([]byte("s3cret"))
				if err != nil {
					t.Fatal(err)
				}
				if !keys.IsEncrypted(b) {
					t.Fatalf("not encrypted: %s", b)
				}
				back, err := keys.ParseWith(b, password("s3cret"))
				if err != nil {
					t.Fatal(err)
				}
				if back.ID() != k.ID() || !back.IsPrivate() {
					t.Fatalf("keyid %s, want %s", back.ID(), k.ID())
				}
				if _, err := keys.ParseWith(b, password("other")); !errors.Is(err, keys.ErrWrongPassword) {
					t.Fatalf("wrong password: %v", err)
				}
			})
		}
	}
}

// The hint is what cosign writes for its own public key: base64 of the
// SHA-256 of the DER SubjectPublicKeyInfo (checked against real cosign
// bundles in interop/cosign).
func TestSigstoreHint(t *testing.T) {
	for _, f := range []string{"cosign-v3-ecdsa.pub", "rsa.pub", "ed25519.pub"} {
		b, _ := os.ReadFile(fixture(f))
		blk, _ := pem.Decode(b)
		sum := sha256.Sum256(blk.Bytes)
		k, err := keys.Load(fixture(f))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := k.SigstoreHint(), base64.StdEncoding.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: hint %s, want %s", f, got, want)
		}
		if !k.HasID(k.SigstoreHint()) {
			t.Errorf("%s: HasID(hint) false", f)
		}
	}
}

// ForSigstore signs RSA with PKCS#1 v1.5 under the same keyids; the
// in-toto key keeps RSA-PSS, and neither verifies the other's signature.
func TestForSigstore(t *testing.T) {
	ctx := context.Background()
	k, err := keys.Generate(keys.RSA, keys.GenerateOptions{RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s := k.ForSigstore()
	if s.Scheme != keys.SchemeRSAPKCS1v15 || k.Scheme != keys.SchemeRSAPSS {
		t.Fatalf("schemes %s, %s", s.Scheme, k.Scheme)
	}
	if s.ID() != k.ID() || !s.HasID(k.ID()) || s.Public().ID() != k.ID() {
		t.Fatalf("ForSigstore changed the keyid: %s vs %s", s.ID(), k.ID())
	}
	w, err := k.WithScheme(keys.SchemeRSAPKCS1v15)
	if err != nil {
		t.Fatal(err)
	}
	if w.ID() == k.ID() {
		t.Error("WithScheme kept the keyid of another scheme")
	}
	if _, err := k.WithScheme(keys.SchemeEd25519); !errors.Is(err, keys.ErrUnsupported) {
		t.Errorf("RSA key with the ed25519 scheme: %v", err)
	}
	msg := []byte("m")
	sig, err := s.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Public().Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := k.Public().Verify(msg, sig); err == nil {
		t.Error("RSA-PSS key accepted a PKCS#1 v1.5 signature")
	}
	sum := sha256.Sum256(msg)
	if err := s.Public().VerifyDigest(crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("VerifyDigest: %v", err)
	}
	for _, typ := range []string{keys.Ed25519, keys.ECDSA} {
		o, _ := keys.Generate(typ, keys.GenerateOptions{})
		if o.ForSigstore() != o {
			t.Errorf("%s: ForSigstore made a copy", typ)
		}
	}
}

func TestVerifyDigest(t *testing.T) {
	ctx := context.Background()
	msg := []byte("artifact")
	sum := sha256.Sum256(msg)
	ec, _ := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	ed, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	ecSig, _ := ec.Sign(ctx, msg)
	edSig, _ := ed.Sign(ctx, msg)
	other := sha256.Sum256([]byte("other"))
	for _, tc := range []struct {
		name   string
		k      *keys.Key
		h      crypto.Hash
		digest []byte
		sig    []byte
		want   error
	}{
		{"ecdsa", ec, crypto.SHA256, sum[:], ecSig, nil},
		{"ecdsa other digest", ec, crypto.SHA256, other[:], ecSig, keys.ErrBadSignature},
		{"ecdsa wrong hash", ec, crypto.SHA512, make([]byte, 64), ecSig, keys.ErrDigestUnsupported},
		{"digest length", ec, crypto.SHA256, sum[:16], ecSig, keys.ErrDigestUnsupported},
		{"ed25519", ed, crypto.SHA256, sum[:], edSig, keys.ErrDigestUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.k.Public().VerifyDigest(tc.h, tc.digest, tc.sig)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParseEncrypted feeds arbitrary bytes in both encrypted PEM types to
// the parser with a password at hand: nothing may panic, and a key that
// parses is private. Seeds are real files, kept to the cheap ones (2048
// PBKDF2 iterations); the cosign seed's scrypt N is lowered to one
// go-securesystemslib refuses, so that it stops before the key derivation
// (which the unit tests run), and so does the scrypt PKCS#8 seed's.
func FuzzParseEncrypted(f *testing.F) {
	for _, name := range []string{"ecdsa-aes256-pbkdf2.pem", "ecdsa-des3.pem", "ed25519-scrypt.pem", "cosign-v3-ecdsa.key"} {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		body := bytes.Replace(blk.Bytes, []byte(`"N":65536`), []byte(`"N":16`), 1)
		// scrypt INTEGER 16384 (02 02 40 00) → 16 (02 02 00 10)
		body = bytes.Replace(body, []byte{2, 2, 0x40, 0}, []byte{2, 2, 0, 0x10}, 1)
		f.Add(body, blk.Type == keys.PEMSigstoreEncrypted)
	}
	f.Fuzz(func(t *testing.T, body []byte, sigstore bool) {
		typ := keys.PEMEncryptedPKCS8
		if sigstore {
			typ = keys.PEMSigstoreEncrypted
		}
		data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: body})
		k, err := keys.ParseWith(data, password(fixturePassword))
		if err != nil {
			return
		}
		if !k.IsPrivate() || k.ID() == "" {
			t.Fatalf("parsed a key that cannot sign: %s/%s", k.Type, k.Scheme)
		}
	})
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/simplesigning"
)

func init() {
	keyCmd := &cobra.Command{
		Use:   "key",
		Short: "Generate keys and show their keyids",
	}
	keyCmd.AddCommand(newKeyGenerateCmd(), newKeyIDCmd())
	rootCmd.AddCommand(keyCmd)
}

func newKeyGenerateCmd() *cobra.Command {
	var typ, out, format, uid string
	var bits int
	var encrypt, asJSON bool
	cmd := &cobra.Command{
		Use:   "generate --type ed25519|ecdsa|rsa|pgp|pgp-rsa|x509 -o NAME",
		Short: "Generate a key pair: NAME.key (private, mode 0600) and NAME.pub",
		Long: `Generate a key pair and write the private key to NAME.key (mode 0600) and
the public key to NAME.pub. Every command that takes a private key file
also finds NAME.key when given NAME, so --key alice works with alice.key (and
with a key file named alice, as toto wrote them before and Python in-toto
writes them).

--format pem (default) writes PKCS#8 / SubjectPublicKeyInfo PEM, which toto,
in-toto-golang and Python in-toto (for RSA) load. --format json writes
securesystemslib JSON keys, which Python in-toto expects for ed25519 and
ecdsa keys.

--encrypt (pem only) encrypts the private key as PKCS#8 PEM (ENCRYPTED
PRIVATE KEY: PBKDF2-HMAC-SHA256, 600000 iterations, AES-256-CBC), which
openssl, Python in-toto (through Python's cryptography) and toto read.
--format cosign writes the private key as cosign generate-key-pair does
(ENCRYPTED SIGSTORE PRIVATE KEY, always encrypted), for cosign sign-blob
and sign; the public key is PEM either way.

--type pgp (Ed25519) and pgp-rsa (--bits) make an OpenPGP key pair for
Red Hat simple signing (toto image sign --format simple-signing, skopeo,
podman): NAME is the armored secret key (unencrypted, mode 0600), NAME.pub
the armored public key, as gpg --export-secret-keys/--export --armor write
them; --uid sets the user ID ("Name <email>").

--type x509 makes a CA and an ECDSA P-256 signing certificate issued by it,
usable by the Notary Project (codeSigning extended key usage,
digitalSignature key usage): NAME.key (PKCS#8, mode 0600), NAME.crt (the
chain, leaf first, for toto image sign --format notation --cert-chain) and
NAME.ca.crt (for a notation trust store); --uid sets the subject (a common
name, or a full "C=US,ST=WA,O=Example,CN=release").

The password comes from TOTO_PASSWORD, else COSIGN_PASSWORD, else it is
asked twice on the terminal. Every command that takes a private key reads
both encrypted formats with the password found the same way.`,
		Example: "  toto key generate --type ed25519 -o alice",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("-o NAME is required")
			}
			if asJSON && (typ == "x509" || typ == "pgp" || typ == "pgp-rsa") {
				return fmt.Errorf("--json is for ed25519, ecdsa and rsa keys; --type %s prints what it wrote as text", typ)
			}
			if typ == "x509" {
				if format != "pem" || encrypt {
					return fmt.Errorf("--type x509 writes PEM keys and certificates; --format and --encrypt do not apply")
				}
				return generateX509(cmd, out, uid)
			}
			if typ == "pgp" || typ == "pgp-rsa" {
				if format != "pem" || encrypt {
					return fmt.Errorf("--type %s writes armored OpenPGP keys; --format and --encrypt do not apply", typ)
				}
				return generatePGP(cmd, typ, out, uid, bits)
			}
			k, err := keys.Generate(typ, keys.GenerateOptions{RSABits: bits})
			if err != nil {
				return err
			}
			privPath, pubPath := keyFileNames(out)
			if encrypt && format != "pem" {
				return fmt.Errorf("--encrypt applies to --format pem (--format cosign is always encrypted)")
			}
			if err := refuseOverwrite(privPath, pubPath); err != nil {
				return err
			}
			var priv, pub []byte
			switch format {
			case "pem", "cosign":
				var pw []byte
				switch {
				case format == "cosign":
					if pw, err = newKeyPassword(privPath); err == nil {
						priv, err = k.MarshalSigstorePEM(pw)
					}
				case encrypt:
					if pw, err = newKeyPassword(privPath); err == nil {
						priv, err = k.MarshalEncryptedPEM(pw)
					}
				default:
					priv, err = k.MarshalPEM(true)
				}
				if err == nil {
					pub, err = k.MarshalPEM(false)
				}
			case "json":
				if priv, err = k.MarshalPrivateJSON(); err == nil {
					pub, err = json.Marshal(k.Public())
				}
			default:
				return fmt.Errorf("--format %q: want pem, json or cosign", format)
			}
			if err != nil {
				return err
			}
			if err := atomicfile.Write(privPath, priv, 0o600); err != nil {
				return err
			}
			if err := atomicfile.Write(pubPath, pub, 0o644); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd, map[string]any{"private": privPath, "public": pubPath, "keyid": k.ID(), "keytype": k.Type, "scheme": k.Scheme})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (keyid %s)\n", privPath, pubPath, k.ID())
			return nil
		},
	}
	cmd.Flags().StringVarP(&typ, "type", "t", keys.Ed25519, "key type: ed25519, ecdsa, rsa, pgp, pgp-rsa or x509")
	cmd.Flags().StringVarP(&out, "output", "o", "", "base name of the key files")
	cmd.Flags().StringVar(&format, "format", "pem", "file format: pem, json (securesystemslib) or cosign (encrypted, as cosign generate-key-pair)")
	cmd.Flags().BoolVar(&encrypt, "encrypt", false, "encrypt the private key (PKCS#8 PEM; password from TOTO_PASSWORD, COSIGN_PASSWORD or the terminal)")
	cmd.Flags().IntVar(&bits, "bits", 3072, "RSA modulus size")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the files written and the keyid as JSON")
	cmd.Flags().StringVar(&uid, "uid", "toto signer", `OpenPGP user ID of --type pgp keys ("Name <email>"), or the subject of --type x509 certificates`)
	return cmd
}

func refuseOverwrite(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s already exists; refusing to overwrite a key", p)
		}
	}
	return nil
}

func newKeyIDCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "id KEYFILE...",
		Short: "Print the keyid of each key (and the other keyids references may use for it)",
		Long: `Print the keyid of each key file, its keytype and scheme. With --json, also
the other keyids the references may use for it and the Sigstore public-key
hint (sigstore_hint): what cosign and toto write in a keyed bundle's
verificationMaterial.publicKey.hint for this key. Encrypted private keys
need their password (TOTO_PASSWORD, COSIGN_PASSWORD or the terminal).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			type row struct {
				File    string   `json:"file"`
				KeyID   string   `json:"keyid"`
				AltIDs  []string `json:"alternative_keyids"`
				Type    string   `json:"keytype"`
				Scheme  string   `json:"scheme"`
				Private bool     `json:"private"`
				// Hint is the public-key hint cosign writes for
				// this key in a Sigstore bundle (toto writes the
				// same), for comparing bundles.
				Hint string `json:"sigstore_hint,omitempty"`
			}
			var rows []row
			for _, a := range args {
				k, err := loadKey(a)
				if err != nil {
					return err
				}
				ids := k.IDs()
				rows = append(rows, row{a, ids[0], ids[1:], k.Type, k.Scheme, k.IsPrivate(), k.SigstoreHint()})
			}
			if asJSON {
				return writeJSON(cmd, rows)
			}
			for _, r := range rows {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %s  %s/%s\n", r.KeyID, r.File, r.Type, r.Scheme)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

// writeJSON prints v as indented JSON on stdout.
func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// generatePGP writes an OpenPGP key pair for simple signing.
func generatePGP(cmd *cobra.Command, typ, out, uid string, bits int) error {
	if err := refuseOverwrite(out, out+".pub"); err != nil {
		return err
	}
	opts := simplesigning.KeyOptions{Name: uid}
	if name, email, ok := strings.Cut(uid, "<"); ok {
		opts.Name, opts.Email = strings.TrimSpace(name), strings.TrimSuffix(strings.TrimSpace(email), ">")
	}
	if typ == "pgp-rsa" {
		opts.RSABits = bits
	}
	e, err := simplesigning.GenerateKey(opts)
	if err != nil {
		return err
	}
	priv, err := simplesigning.ArmorPrivateKey(e)
	if err != nil {
		return err
	}
	pub, err := simplesigning.ArmorPublicKey(e)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(out, priv, 0o600); err != nil {
		return err
	}
	if err := atomicfile.Write(out+".pub", pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s.pub (OpenPGP fingerprint %s)\n", out, out, simplesigning.Fingerprint(e))
	return nil
}

// keyFileNames are the files a key pair named NAME is written to:
// NAME.key (private) and NAME.pub, so that the private one is recognisable
// by its name. -o NAME.key gives the same.
func keyFileNames(name string) (private, public string) {
	base := strings.TrimSuffix(name, ".key")
	return base + ".key", base + ".pub"
}

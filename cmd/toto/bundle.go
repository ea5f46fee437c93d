package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/timestamp"
	"github.com/toto-dev/toto/transparency"
)

func init() {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Verify and create Sigstore bundles",
		Long: `Verify Sigstore bundles offline against a trusted_root.json (keyless,
with identity and issuer policy) or trusted keys, and create keyed v0.3
bundles holding a DSSE-signed in-toto statement, link or layout.`,
	}
	cmd.AddCommand(newBundleVerifyCmd(), newBundleCreateCmd())
	rootCmd.AddCommand(cmd)
}

// trustFlags are the keyless trust options shared by the verify commands.
type trustFlags struct {
	trustedRoot              string
	identity, identityRegexp string
	issuer, issuerRegexp     string
}

func (f *trustFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json (for keyless bundles and log entries)")
	cmd.Flags().StringVar(&f.identity, "identity", "", "expected certificate identity (SAN), exact")
	cmd.Flags().StringVar(&f.identityRegexp, "identity-regexp", "", "expected certificate identity, regular expression matching the whole identity (anchored as ^(?:RE)$)")
	cmd.Flags().StringVar(&f.issuer, "issuer", "", "expected OIDC issuer, exact")
	cmd.Flags().StringVar(&f.issuerRegexp, "issuer-regexp", "", "expected OIDC issuer, regular expression matching the whole issuer (anchored as ^(?:RE)$)")
}

func (f *trustFlags) apply(root *[]byte, id, idRe, iss, issRe *string) error {
	if f.trustedRoot != "" {
		b, err := readBounded(f.trustedRoot)
		if err != nil {
			return err
		}
		*root = b
	} else if f.identity != "" || f.identityRegexp != "" || f.issuer != "" || f.issuerRegexp != "" {
		return errors.New("--identity and --issuer need --trusted-root")
	}
	*id, *idRe, *iss, *issRe = f.identity, f.identityRegexp, f.issuer, f.issuerRegexp
	return nil
}

// logFlags are the transparency-log and timestamp options of the commands
// that create bundles (bundle create, image sign, image attest).
type logFlags struct {
	rekorURL, tsaURL string
}

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.rekorURL, "rekor-url", "", "record the signature in this Rekor v2 transparency log (base URL) and embed the inclusion proof and checkpoint")
	cmd.Flags().StringVar(&f.tsaURL, "tsa-url", "", "have this RFC 3161 timestamp authority (full endpoint URL, e.g. https://timestamp.sigstore.dev/api/v1/timestamp) timestamp the signature and embed the response")
}

// options returns the bundle options the flags ask for.
func (f *logFlags) options() (bundle.CreateOptions, error) {
	var o bundle.CreateOptions
	if f.rekorURL != "" {
		r, err := transparency.NewRekor(transparency.Options{URL: f.rekorURL})
		if err != nil {
			return o, fmt.Errorf("--rekor-url: %w", err)
		}
		o.Log = r
	}
	if f.tsaURL != "" {
		c, err := timestamp.New(timestamp.Options{URL: f.tsaURL})
		if err != nil {
			return o, fmt.Errorf("--tsa-url: %w", err)
		}
		o.Timestamps = c
	}
	return o, nil
}

// signingWith is what image sign, attest and migrate sign with: the
// bundle options the flags ask for, then the private key at keyPath (a
// bad --rekor-url fails before a password prompt).
func (f *logFlags) signingWith(keyPath string) (bundle.CreateOptions, *keys.Key, error) {
	bo, err := f.options()
	if err != nil {
		return bo, nil, err
	}
	k, err := loadPrivate(keyPath)
	return bo, k, err
}

// requireFlags are the verifier's requirements on log entries and
// timestamps.
type requireFlags struct {
	tlog, timestamp bool
}

func (f *requireFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.tlog, "require-tlog", false, "require a transparency-log entry verified against a log of --trusted-root (also for keyed bundles)")
	cmd.Flags().BoolVar(&f.timestamp, "require-timestamp", false, "require an RFC 3161 timestamp verified against a timestamp authority of --trusted-root")
}

type bundleResultJSON struct {
	Bundle      string   `json:"bundle"`
	Verified    bool     `json:"verified"`
	MediaType   string   `json:"mediaType,omitempty"`
	Content     string   `json:"content,omitempty"`
	PayloadType string   `json:"payloadType,omitempty"`
	Identity    string   `json:"identity,omitempty"`
	Issuer      string   `json:"issuer,omitempty"`
	KeyID       string   `json:"keyid,omitempty"`
	KeyHint     string   `json:"keyHint,omitempty"`
	Timestamps  []string `json:"timestamps,omitempty"`
	TlogEntries int      `json:"tlogEntries,omitempty"`
	Error       string   `json:"error,omitempty"`
}

func newBundleVerifyCmd() *cobra.Command {
	var bundlePath, artifact, artifactDigest string
	var keyPaths []string
	var noArtifact, asJSON bool
	var tf trustFlags
	var rf requireFlags
	cmd := &cobra.Command{
		Use:   "verify --bundle B [--trusted-root TR [--require-tlog] [--require-timestamp]] [--key PUB...] (--artifact F | --artifact-digest ALG:HEX) [--identity ID --issuer URL]",
		Short: "Verify a Sigstore bundle offline",
		Long: `Verify a Sigstore bundle (v0.1 to v0.3) without network access.

Keyless bundles (Fulcio certificate) need --trusted-root and an identity and
issuer (exact, or --identity-regexp / --issuer-regexp, which must match the
whole value: unlike cosign, toto anchors them as ^(?:RE)$, so
alice@example\.com does not admit malice@example.com.evil); their transparency
log entry, timestamps, certificate chain and SCTs are checked as the
trusted root allows. Keyed bundles need --key; with --trusted-root their log
entries and timestamps are checked too. --require-tlog and
--require-timestamp make a Rekor log entry (inclusion proof and checkpoint)
and an RFC 3161 timestamp mandatory, each verified against a log and a
timestamp authority listed in --trusted-root (see docs/transparency.md).

The artifact is the signed file for a message signature, or a subject of
the DSSE in-toto statement; --no-artifact checks only the signature.

Exit codes: 0 verified, 1 verification failed, 2 usage or input error.`,
		Example: "  toto bundle verify --bundle app.sigstore.json --trusted-root trusted_root.json \\\n      --artifact app.tar.gz --identity https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main \\\n      --issuer https://token.actions.githubusercontent.com\n  toto bundle verify --bundle link.sigstore.json --key build.pub --no-artifact",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if bundlePath == "" {
				return errors.New("--bundle is required")
			}
			b, err := readBounded(bundlePath)
			if err != nil {
				return err
			}
			p := bundle.Policy{ArtifactDigest: artifactDigest, SkipArtifact: noArtifact, RequireTlog: rf.tlog, RequireTimestamp: rf.timestamp}
			var root []byte
			if err := tf.apply(&root, &p.Identity, &p.IdentityRegexp, &p.Issuer, &p.IssuerRegexp); err != nil {
				return err
			}
			for _, kp := range keyPaths {
				k, err := loadKey(kp)
				if err != nil {
					return err
				}
				p.Keys = append(p.Keys, k.Public())
			}
			if artifact != "" {
				f, err := os.Open(artifact)
				if err != nil {
					return err
				}
				defer f.Close()
				p.Artifact = f
			}
			res, verr := bundle.Verify(cmd.Context(), b, root, p)
			if errors.Is(verr, bundle.ErrPolicy) {
				return verr // usage: exit 2
			}
			out := bundleResultJSON{Bundle: bundlePath, Verified: verr == nil}
			if verr != nil {
				out.Error = verr.Error()
			} else {
				out.MediaType, out.Content = res.MediaType, res.Content
				out.Identity, out.Issuer = res.Identity, res.Issuer
				if res.Envelope != nil {
					out.PayloadType = res.Envelope.PayloadType
				}
				if res.Key != nil {
					out.KeyID, out.KeyHint = res.Key.ID(), res.Key.SigstoreHint()
				}
				for _, ts := range res.Timestamps {
					out.Timestamps = append(out.Timestamps, fmt.Sprintf("%s %s", ts.Kind, ts.Time.UTC().Format("2006-01-02T15:04:05Z")))
				}
				if root != nil {
					out.TlogEntries = res.TlogEntries
				}
			}
			if asJSON {
				if err := writeJSON(cmd, out); err != nil {
					return err
				}
			} else if verr == nil {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "verified %s (%s, %s)\n", bundlePath, out.MediaType, out.Content)
				if out.Identity != "" {
					fmt.Fprintf(w, "  identity %s\n  issuer   %s\n", out.Identity, out.Issuer)
				}
				if out.KeyID != "" {
					fmt.Fprintf(w, "  key      %s\n  hint     %s\n", out.KeyID, out.KeyHint)
				}
				for _, ts := range out.Timestamps {
					fmt.Fprintf(w, "  time     %s\n", ts)
				}
				if out.TlogEntries > 0 {
					fmt.Fprintf(w, "  tlog     %d entry(ies), inclusion verified\n", out.TlogEntries)
				}
			}
			if verr != nil {
				return failed(fmt.Errorf("%s: %w", bundlePath, verr))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&bundlePath, "bundle", "b", "", "Sigstore bundle JSON file")
	cmd.Flags().StringArrayVarP(&keyPaths, "key", "k", nil, "trusted public key for keyed bundles (repeatable)")
	cmd.Flags().StringVar(&artifact, "artifact", "", "the signed artifact (or a statement subject)")
	cmd.Flags().StringVar(&artifactDigest, "artifact-digest", "", "the artifact's digest, ALG:HEX (sha256, sha384, sha512)")
	cmd.Flags().BoolVar(&noArtifact, "no-artifact", false, "check the signature only, not what it covers")
	tf.register(cmd)
	rf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func newBundleCreateCmd() *cobra.Command {
	var keyPath, stmtPath, payloadType, out string
	var createJSON bool
	var lf logFlags
	cmd := &cobra.Command{
		Use:   "create --key KEY --statement FILE [--rekor-url URL] [--tsa-url URL] [-o OUT]",
		Short: "Sign a statement, link or layout into a keyed Sigstore v0.3 bundle",
		Long: `Sign the JSON document in FILE (an in-toto Statement, link or layout) with KEY
as a DSSE envelope inside a Sigstore v0.3 bundle whose verification material
is a public-key hint, the one cosign writes for the same key (base64 of the
SHA-256 of its DER public key; toto key id --json prints it). Verifiers
trust the key itself (toto bundle verify --key, cosign
verify-blob-attestation --key, or a layout).

--rekor-url records the signature in a Rekor v2 transparency log and embeds
the entry, its inclusion proof and the log's checkpoint; --tsa-url embeds an
RFC 3161 timestamp of the signature. Verifiers check both offline against a
trusted_root.json listing the log and the TSA (docs/transparency.md). A
logged signature must be pre-hashed: ECDSA keys, or RSA keys for
statements; Ed25519 keys and RSA-signed links and layouts cannot be logged.

An RSA key signs statements with PKCS#1 v1.5 (SHA-256), as cosign does,
and in-toto links and layouts with RSA-PSS, the scheme a layout checks
them with. KEY may be encrypted (cosign's format or encrypted PKCS#8): the
password comes from TOTO_PASSWORD, COSIGN_PASSWORD or the terminal.

FILE may also be a DSSE envelope already; its payload is re-signed.
Writes OUT atomically, or stdout.`,
		Example: "  toto bundle create --key build.key --statement sbom.statement.json -o sbom.sigstore.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if stmtPath == "" {
				return errors.New("--statement is required")
			}
			// Checked before the key is unlocked and the signature is
			// logged: a Rekor entry is permanent.
			if createJSON && (out == "" || out == "-") {
				return errors.New("--json prints a summary on stdout: give -o FILE for the bundle")
			}
			opts, err := lf.options()
			if err != nil {
				return err
			}
			k, err := loadPrivate(keyPath)
			if err != nil {
				return err
			}
			data, err := readBounded(stmtPath)
			if err != nil {
				return err
			}
			pt := payloadType
			if env, err := envelope.Parse(data); err == nil && env.Format == envelope.DSSE {
				data, pt = env.Payload(), env.PayloadType
			} else if !jsonObject(data) {
				return fmt.Errorf("%s: not a JSON document", stmtPath)
			}
			b, err := bundle.CreateWith(cmd.Context(), k, pt, data, opts)
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			if err := atomicfile.Write(out, b, 0o644); err != nil {
				return err
			}
			if createJSON {
				return writeJSON(cmd, map[string]any{"file": out, "keyid": k.ID(), "keyHint": k.SigstoreHint(),
					"tlog": opts.Log != nil, "timestamped": opts.Timestamps != nil})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: bundle signed by key %s (hint %s)\n", out, keys.ShortID(k.ID()), k.SigstoreHint())
			return nil
		},
	}
	cmd.Flags().StringVarP(&keyPath, "key", "k", "", "private key file")
	cmd.Flags().StringVar(&stmtPath, "statement", "", "JSON document to sign (statement, link, layout)")
	cmd.Flags().StringVar(&payloadType, "payload-type", envelope.PayloadTypeInToto, "DSSE payloadType")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (default stdout)")
	cmd.Flags().BoolVar(&createJSON, "json", false, "print a summary of the bundle written as JSON (needs -o)")
	lf.register(cmd)
	return cmd
}

func jsonObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

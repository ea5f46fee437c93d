package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/dct"
	"github.com/toto-dev/toto/image"
)

// migrationJSON is one tag in migrate-dct's --json output.
type migrationJSON struct {
	dct.Migration
	Error     string `json:"error,omitempty"`
	Signature string `json:"signature,omitempty"`
}

func newImageMigrateDCTCmd() *cobra.Command {
	var df dctVerifyFlags
	var keyPath, format string
	var lf logFlags
	var nf notationSignFlags
	var tuf tufFlags
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate-dct --dct-server URL (--key KEY [--rekor-url URL] [--tsa-url URL] | --format notation --key KEY --cert-chain CHAIN [--envelope jws|cose] [--tsa-url URL --tsa-root-cert PEM] [--expiry D] | --dry-run) [--dct-trust-dir DIR] [--dct-root-cert PEM] [--dct-signer NAME]... REPOSITORY",
		Short: "Re-sign every Docker Content Trust signed tag of a repository as a Sigstore bundle or a notation signature",
		Long: `Docker Content Trust (Notary v1) is being retired by registries. migrate-dct
lists every tag REPOSITORY's trust data signs (in targets/releases or
targets), verifies each exactly as image verify --dct-server does (the
signed digest must be what the registry serves; --dct-signer and
--dct-root-cert apply), and signs each verified image's manifest digest
as toto image sign does, in the --format given:

  sigstore (the default): a keyed Sigstore bundle by KEY attached as an
  OCI 1.1 referrer, which toto image verify --key and cosign verify read;
  --rekor-url and --tsa-url log and timestamp it.
  notation: a Notary Project signature by KEY and its --cert-chain
  attached as notation attaches it, which toto image verify
  --notation-policy and notation verify read.

The digest signed is the one DCT vouched for, never what the tag names
later. Tags that do not verify are listed with the reason and not signed;
--dry-run only verifies.

Exit codes: 0 every signed tag verified and was re-signed, 1 some did not,
2 usage or input error (no trust data server, a key that does not load).`,
		Example: "  toto image migrate-dct --dct-server https://notary.docker.io --key release.key docker.io/acme/app\n" +
			"  toto image migrate-dct --dct-server https://notary.example --format notation --key signer.key --cert-chain signer.crt registry.example/app\n" +
			"  toto image migrate-dct --dct-server https://notary.example --dct-signer alice --dry-run registry.example/app",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !df.selected() {
				return errors.New("give the trust data: --dct-server URL, or --dct-offline")
			}
			opts, err := df.options()
			if err != nil {
				return err
			}
			df.tuf = &tuf
			if repo, err := name.NewRepository(args[0]); err == nil {
				if err := df.pinFromTUF(cmd, repo, &opts); err != nil {
					return err
				}
			}
			if keyPath == "" && !dryRun {
				return errors.New("give --key KEY to sign with, or --dry-run")
			}
			if keyPath != "" && dryRun {
				return errors.New("--key does not apply with --dry-run")
			}
			if dryRun {
				if err := flagsNotFor(cmd, "with --dry-run (nothing is signed)", slices.Concat([]string{"rekor-url", "tsa-url"}, notationSignFlagNames)...); err != nil {
					return err
				}
			}
			switch format {
			case formatSigstore:
				if err := flagsNotFor(cmd, "to --format sigstore (they are for --format notation)", notationSignFlagNames...); err != nil {
					return err
				}
			case formatNotation:
				if err := flagsNotFor(cmd, "to --format notation", "rekor-url"); err != nil {
					return err
				}
			default:
				return fmt.Errorf("--format %q: want %s or %s", format, formatSigstore, formatNotation)
			}
			// signatures records each re-signed tag's new signature
			// manifest digest, for the report.
			signatures := map[string]string{}
			var sign dct.Signer
			switch {
			case dryRun:
			case format == formatNotation:
				nf.keyPath, nf.tsaURL = keyPath, lf.tsaURL
				ns, err := nf.signer()
				if err != nil {
					return err
				}
				sign = func(ctx context.Context, t *image.Target, res *dct.Result) error {
					s, err := ns(ctx, t)
					if err != nil {
						return err
					}
					signatures[res.Tag] = s.Manifest.Digest.String()
					return nil
				}
			default:
				bo, k, err := lf.signingWith(keyPath)
				if err != nil {
					return err
				}
				sign = func(ctx context.Context, t *image.Target, res *dct.Result) error {
					a, err := image.Sign(ctx, t, k, image.SignOptions{Bundle: bo})
					if err != nil {
						return err
					}
					signatures[res.Tag] = a.Manifest.Digest.String()
					return nil
				}
			}
			ms, err := dct.Migrate(cmd.Context(), args[0], opts, sign)
			if err != nil {
				if errors.Is(err, dct.ErrNotSigned) || errors.Is(err, dct.ErrTrustData) {
					return failed(err)
				}
				return err
			}
			ok := true
			var out []migrationJSON
			for _, m := range ms {
				j := migrationJSON{Migration: m, Signature: signatures[m.Tag]}
				if m.Err != nil {
					ok = false
					j.Error = m.Err.Error()
				}
				out = append(out, j)
				if asJSON {
					continue
				}
				switch {
				case m.Err != nil:
					fmt.Fprintf(cmd.OutOrStdout(), "FAILED %s: %v\n", m.Tag, m.Err)
				case m.Signed:
					fmt.Fprintf(cmd.OutOrStdout(), "re-signed %s → %s (DCT %s; %s signature %s)\n", m.Tag, m.Result.Ref(), m.Result.Role, format, signatures[m.Tag])
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "verified %s → %s (DCT %s; --dry-run, not signed)\n", m.Tag, m.Result.Ref(), m.Result.Role)
				}
			}
			if asJSON {
				if out == nil {
					out = []migrationJSON{}
				}
				if err := writeJSON(cmd, out); err != nil {
					return err
				}
			}
			if !ok {
				return failed(errors.New("some DCT-signed tags did not verify or could not be re-signed"))
			}
			return nil
		},
	}
	df.register(cmd)
	cmd.Flags().StringVar(&format, "format", formatSigstore, "signature format: sigstore (a Sigstore bundle attached as a referrer) or notation (a Notary Project signature attached as a referrer)")
	cmd.Flags().StringVarP(&keyPath, "key", "k", "", "private key to sign with (as toto image sign --key)")
	lf.register(cmd)
	nf.register(cmd)
	tuf.register(cmd, "pin the repository's DCT root certificate to its target toto/dct/GUN/root.pem")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only verify every signed tag")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one entry per tag as JSON")
	return cmd
}

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/layout"
)

func init() { rootCmd.AddCommand(newSignCmd()) }

// maxMetadataSize bounds how much of a metadata file the CLI reads.
const maxMetadataSize = 64 << 20

func newSignCmd() *cobra.Command {
	var keyPaths []string
	var out string
	var dsse, asJSON bool
	cmd := &cobra.Command{
		Use:   "sign --key KEY [--key KEY...] FILE",
		Short: "Add signatures to a layout or link, keeping the ones already there",
		Long: `Add a signature by each --key to FILE, a signed layout or link in either
envelope, or an unsigned layout/link payload (which is wrapped in a Metablock,
or in DSSE with --dsse). Existing signatures by other keys are kept; a key
that already signed has its signature replaced. Several owners can sign one
layout this way, one after the other.

The result replaces FILE atomically unless -o is given.`,
		Example: "  toto sign --key owner1 root.layout\n  toto sign --key owner2 root.layout",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(keyPaths) == 0 {
				return fmt.Errorf("at least one --key is required")
			}
			in := args[0]
			data, err := readBounded(in)
			if err != nil {
				return err
			}
			env, err := envelopeOrWrap(data, dsse)
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			typ, err := env.PayloadTypeField()
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			if typ == layout.Type {
				warnExpired(cmd.ErrOrStderr(), in, env.Payload())
			}
			if err := signWithKeyFiles(cmd.Context(), env, keyPaths); err != nil {
				return err
			}
			b, err := env.Encode()
			if err != nil {
				return err
			}
			if out == "" {
				out = in
			}
			if err := atomicfile.Write(out, b, 0o644); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd, map[string]any{"file": out, "format": env.Format.String(), "signatures": len(env.Signatures), "keyids": env.SignerIDs()})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d signature(s) (%s)\n", out, len(env.Signatures), env.Format)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&keyPaths, "key", "k", nil, "private key file (repeatable)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write here instead of replacing FILE")
	cmd.Flags().BoolVar(&dsse, "dsse", false, "wrap an unsigned payload in DSSE instead of a Metablock")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON on stdout")
	return cmd
}

// signWithKeyFiles adds a signature to env by each private key file.
func signWithKeyFiles(ctx context.Context, env *envelope.Envelope, keyPaths []string) error {
	for _, kp := range keyPaths {
		k, err := loadKey(kp)
		if err != nil {
			return err
		}
		if err := env.Sign(ctx, k); err != nil {
			return fmt.Errorf("%s: %w", kp, err)
		}
	}
	return nil
}

// envelopeOrWrap parses data as an envelope, or wraps a bare payload.
func envelopeOrWrap(data []byte, dsse bool) (*envelope.Envelope, error) {
	env, err := envelope.Parse(data)
	if err == nil {
		if dsse && env.Format != envelope.DSSE {
			return nil, fmt.Errorf("already a %s envelope; --dsse only applies to unsigned payloads", env.Format)
		}
		return env, nil
	}
	format := envelope.Metablock
	if dsse {
		format = envelope.DSSE
	}
	wrapped, werr := envelope.New(format, envelope.PayloadTypeInToto, data)
	if werr != nil {
		return nil, err // report why it is not an envelope
	}
	if _, terr := wrapped.PayloadTypeField(); terr != nil {
		return nil, err
	}
	return wrapped, nil
}

// readBounded reads a metadata file, refusing absurd sizes whatever kind of
// file it is (--layout /dev/zero).
func readBounded(path string) ([]byte, error) {
	return boundedio.ReadFile(path, maxMetadataSize)
}

// warnExpired warns when a layout about to be signed has already expired:
// every verification of it will fail. Signing still goes ahead (a layout
// may be signed now and its expiry fixed by whoever edits it next).
func warnExpired(stderr io.Writer, name string, payload []byte) {
	l, err := layout.Parse(payload)
	if err != nil || !l.Expired(time.Now()) {
		return
	}
	fmt.Fprintf(stderr, "toto: warning: %s expired on %s; every verification of it will fail until it is renewed (toto layout create, or edit \"expires\")\n",
		name, l.Expires.UTC().Format(layout.TimeFormat))
}

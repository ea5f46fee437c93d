package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/dct"
	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/trust"
)

// dctVerifyFlags are image verify's Docker Content Trust flags.
type dctVerifyFlags struct {
	server, trustDir, rootCert string
	signers                    []string
	offline                    bool
	username                   string
	passwordStdin              bool
	cmd                        *cobra.Command
	// tuf, when its --tuf-root is given, delivers the repository's root
	// certificate (trust.DCTRootTarget) instead of --dct-root-cert.
	tuf *tufFlags
}

// pinFromTUF sets opts.RootCert to the root certificate the TUF
// repository delivers for repository's GUN, through trust.TUF (the one
// path): a TUF-distributed pin instead of trust on first use.
func (f *dctVerifyFlags) pinFromTUF(cmd *cobra.Command, repository name.Repository, opts *dct.Options) error {
	if f.tuf == nil || f.tuf.root == "" {
		return nil
	}
	if f.rootCert != "" {
		return errors.New("--dct-root-cert and --tuf-root: give one (the TUF repository delivers the root certificate)")
	}
	r, err := f.tuf.material(cmd)
	if err != nil {
		return err
	}
	gun := dct.GUN(repository)
	pem, ok := r.DCTRoots[gun]
	if !ok {
		return fmt.Errorf("TUF %s: %w: %s (the root certificate of %s)", f.tuf.url, trust.ErrNoTarget, trust.DCTRootTarget(gun), gun)
	}
	opts.RootCert = pem
	return nil
}

// dctVerifyFlagNames are the flags only DCT mode takes (besides
// --dct-server and --dct-offline, which select it).
var dctVerifyFlagNames = []string{"dct-trust-dir", "dct-root-cert", "dct-signer", "dct-username", "dct-password-stdin"}

func (f *dctVerifyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "dct-server", "", "notary server URL: verify IMAGE:TAG with Docker Content Trust (Notary v1) instead")
	cmd.Flags().BoolVar(&f.offline, "dct-offline", false, "Docker Content Trust from the trust directory's cached metadata only, without a notary server")
	cmd.Flags().StringVar(&f.trustDir, "dct-trust-dir", "", "with --dct-server/--dct-offline: notary trust directory (default $DOCKER_CONFIG/trust or ~/.docker/trust)")
	cmd.Flags().StringVar(&f.rootCert, "dct-root-cert", "", "with --dct-server/--dct-offline: PEM root certificate the repository's root must use (default: trust on first use)")
	cmd.Flags().StringArrayVar(&f.signers, "dct-signer", nil, "with --dct-server/--dct-offline: delegation role that must sign the tag, NAME or targets/NAME (repeatable)")
	cmd.Flags().StringVar(&f.username, "dct-username", "", "with --dct-server: user name for a private repository's notary server (password from --dct-password-stdin; default: NOTARY_AUTH, else the Docker configuration's credentials for the server)")
	cmd.Flags().BoolVar(&f.passwordStdin, "dct-password-stdin", false, "with --dct-username: read the password (or token) from standard input")
	f.cmd = cmd
}

// credentials are the notary server credentials, in the order the
// notary CLI and docker look for them: --dct-username with
// --dct-password-stdin; NOTARY_AUTH (base64 of USER:PASSWORD, the notary
// CLI's variable); else what the Docker configuration
// (~/.docker/config.json, its credential helpers) holds for the notary
// server's host — for notary.docker.io, Docker Hub's, as docker uses.
func (f *dctVerifyFlags) credentials() (func(ctx context.Context, host string) (dct.Credential, error), error) {
	switch {
	case f.username != "" && !f.passwordStdin:
		return nil, errors.New("--dct-username needs --dct-password-stdin (a password on the command line would show in the process list)")
	case f.username == "" && f.passwordStdin:
		return nil, errors.New("--dct-password-stdin needs --dct-username")
	case f.username != "":
		b, err := io.ReadAll(io.LimitReader(f.cmd.InOrStdin(), 64<<10))
		if err != nil {
			return nil, fmt.Errorf("--dct-password-stdin: %w", err)
		}
		c := dct.Credential{Username: f.username, Password: strings.TrimRight(string(b), "\r\n")}
		if c.Password == "" {
			return nil, errors.New("--dct-password-stdin: empty password on standard input")
		}
		return func(context.Context, string) (dct.Credential, error) { return c, nil }, nil
	}
	if v, ok := os.LookupEnv("NOTARY_AUTH"); ok {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		user, pass, found := strings.Cut(string(raw), ":")
		if err != nil || !found || user == "" {
			return nil, errors.New("NOTARY_AUTH: want base64 of USER:PASSWORD, as the notary CLI reads it")
		}
		c := dct.Credential{Username: user, Password: pass}
		return func(context.Context, string) (dct.Credential, error) { return c, nil }, nil
	}
	return func(ctx context.Context, host string) (dct.Credential, error) {
		if host == "notary.docker.io" {
			host = name.DefaultRegistry
		}
		reg, err := name.NewRegistry(host)
		if err != nil {
			return dct.Credential{}, nil
		}
		a, err := authn.DefaultKeychain.Resolve(reg)
		if err != nil {
			return dct.Credential{}, fmt.Errorf("docker configuration: %w", err)
		}
		cfg, err := authn.Authorization(ctx, a)
		if err != nil {
			return dct.Credential{}, fmt.Errorf("docker configuration: %w", err)
		}
		return dct.Credential{Username: cfg.Username, Password: cfg.Password, IdentityToken: cfg.IdentityToken}, nil
	}, nil
}

// selected reports whether DCT mode was asked for.
func (f *dctVerifyFlags) selected() bool { return f.server != "" || f.offline }

// defaultTrustDir is docker's: $DOCKER_CONFIG/trust, else ~/.docker/trust.
func defaultTrustDir() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "trust"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("--dct-trust-dir: %w", err)
	}
	return filepath.Join(home, ".docker", "trust"), nil
}

// options makes the library's options from the flags, and silences
// notary's logging: notary logs through logrus's standard logger; toto
// reports errors itself.
func (f *dctVerifyFlags) options() (dct.Options, error) {
	opts := dct.Options{Server: f.server, TrustDir: f.trustDir, Signers: f.signers}
	if f.server != "" && f.offline {
		return opts, errors.New("--dct-server and --dct-offline: give one")
	}
	logrus.SetOutput(io.Discard)
	if opts.TrustDir == "" {
		d, err := defaultTrustDir()
		if err != nil {
			return opts, err
		}
		opts.TrustDir = d
	}
	if f.rootCert != "" {
		b, err := readBounded(f.rootCert)
		if err != nil {
			return opts, err
		}
		opts.RootCert = b
	}
	for _, s := range f.signers {
		if s == "" || strings.ContainsAny(s, " \t") {
			return opts, fmt.Errorf("--dct-signer %q: not a role name", s)
		}
	}
	if f.server == "" && (f.username != "" || f.passwordStdin) {
		return opts, errors.New("--dct-username and --dct-password-stdin need --dct-server (offline reads no server)")
	}
	if f.server != "" {
		creds, err := f.credentials()
		if err != nil {
			return opts, err
		}
		opts.Credentials = creds
	}
	return opts, nil
}

// dctReport is the --json output of DCT mode.
type dctReport struct {
	Verified bool              `json:"verified"`
	Error    string            `json:"error,omitempty"`
	Result   *dct.Result       `json:"result,omitempty"`
	Decision decision.Decision `json:"decision"`
}

// dctVerify verifies ref with Docker Content Trust: exit 0 when the tag's
// signed digest is the one the registry serves (and every --dct-signer
// signed it), 1 when not, 2 for usage and input errors.
func dctVerify(cmd *cobra.Command, ref string, f *dctVerifyFlags, asJSON bool) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	if r, perr := name.ParseReference(ref); perr == nil {
		if err := f.pinFromTUF(cmd, r.Context(), &opts); err != nil {
			return err
		}
	}
	res, err := dct.Verify(cmd.Context(), ref, opts)
	if err != nil && (errors.Is(err, dct.ErrUsage) || errors.Is(err, dct.ErrRegistry)) {
		return err
	}
	if err != nil && res == nil {
		// The pinned root certificate is unusable: an input error.
		return err
	}
	d := dct.Decision(ref, res, err)
	if asJSON {
		rep := dctReport{Verified: err == nil, Result: res, Decision: d}
		if err != nil {
			rep.Error = err.Error()
		}
		if werr := writeJSON(cmd, rep); werr != nil {
			return werr
		}
	} else {
		printDCTResult(cmd.OutOrStdout(), ref, res, err)
	}
	if err != nil {
		return failed(err)
	}
	return nil
}

func printDCTResult(w io.Writer, ref string, res *dct.Result, err error) {
	if err == nil {
		fmt.Fprintf(w, "verified: %s → %s (Docker Content Trust, %s)\n", ref, res.Ref(), res.Role)
	} else {
		fmt.Fprintf(w, "FAILED: %s: %v\n", ref, err)
	}
	if res == nil {
		return
	}
	fmt.Fprintf(w, "  trust data: %s\n", res.GUN)
	if res.Digest != "" {
		fmt.Fprintf(w, "  signed digest: %s (%d bytes, from %s)\n", res.Digest, res.Size, res.Role)
	}
	if res.RegistryDigest != "" {
		fmt.Fprintf(w, "  registry digest: %s\n", res.RegistryDigest)
	}
	for _, s := range res.Signatures {
		fmt.Fprintf(w, "  signed by %s: %s (keys %s)\n", s.Role, s.Digest, strings.Join(s.KeyIDs, ", "))
	}
	for _, r := range res.RequiredSigners {
		fmt.Fprintf(w, "  required signer: %s\n", r)
	}
}

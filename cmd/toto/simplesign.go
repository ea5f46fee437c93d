package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/containerspolicy"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/lookaside"
	"github.com/toto-dev/toto/simplesigning"
)

// systemRegistriesD is where containers/image reads registries.d when no
// directory is given (the system-wide one; per-user files are not read).
const systemRegistriesD = "/etc/containers/registries.d"

// storeFlags are where signatures live: a lookaside base or registries.d.
type storeFlags struct {
	lookaside, registriesD string
}

func (f *storeFlags) add(cmd *cobra.Command, write bool) {
	prefix, lookasideHelp, verb := "with --containers-policy: ", "a directory, file:// or http(s):// URL", "to read from for"
	if write {
		prefix, lookasideHelp, verb = "simple-signing: ", "a directory or file:// URL", "to write to for"
	}
	cmd.Flags().StringVar(&f.lookaside, "lookaside", "", prefix+"lookaside base, "+lookasideHelp+"; the repository path is appended, as registries.d bases are")
	cmd.Flags().StringVar(&f.registriesD, "registries-d", "", prefix+"registries.d directory saying which lookaside "+verb+" each registry (default "+systemRegistriesD+"; where none is configured, containers/image's built-in lookaside directory)")
}

// config is the registries.d configuration in effect: nil with
// --lookaside, empty when there is no directory.
func (f *storeFlags) config() (*lookaside.Config, error) {
	if f.lookaside != "" && f.registriesD != "" {
		return nil, errors.New("--lookaside and --registries-d are exclusive")
	}
	if f.lookaside != "" {
		return nil, nil
	}
	dir := f.registriesD
	if dir == "" {
		if _, err := os.Stat(systemRegistriesD); err != nil {
			return &lookaside.Config{}, nil
		}
		dir = systemRegistriesD
	}
	return lookaside.LoadDir(dir)
}

// repositoryBase resolves the signature base of name (the repository
// whose path the store uses) under c, the store's config.
func (f *storeFlags) repositoryBase(c *lookaside.Config, name reference.Named, write bool) (*url.URL, error) {
	if c == nil {
		top, err := baseURL(f.lookaside)
		if err != nil {
			return nil, err
		}
		return lookaside.RepositoryURL(top, name)
	}
	return c.RepositoryBase(name, write)
}

// baseURL takes a URL or a directory path.
func baseURL(s string) (*url.URL, error) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("--lookaside %q: %w", s, err)
		}
		return u, nil
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
}

// simpleImage is an image as simple signing sees it: its digest, its
// policy identity, and the name its signatures are stored and signed
// under.
type simpleImage struct {
	target *image.Target
	policy containerspolicy.Image
	// name is the docker reference of a registry image, or --identity
	// for a layout; nil when neither is known.
	name reference.Named
	// identity is the identity flag's reference, tagged "latest" when it
	// has no tag; nil when the flag is not given.
	identity reference.Named
}

// openSimpleImage opens ref; identity (given as the flag named flag) is
// the reference a layout is signed as.
func openSimpleImage(cmd *cobra.Command, ref, identity, flag string) (*simpleImage, error) {
	t, err := openImage(cmd, ref)
	if err != nil {
		return nil, err
	}
	si := &simpleImage{target: t}
	if rest, ok := strings.CutPrefix(ref, image.LayoutPrefix); ok {
		dir := rest
		if i := strings.LastIndex(dir, "@"); i >= 0 {
			dir = dir[:i]
		} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			if i := strings.LastIndex(dir, ":"); i > strings.LastIndex(dir, "/") {
				dir = dir[:i]
			}
		}
		if si.policy, err = containerspolicy.LayoutImage("oci", dir); err != nil {
			return nil, err
		}
	} else {
		if si.policy, err = containerspolicy.DockerImage(ref); err != nil {
			return nil, withCode(exitUsageOrData, err)
		}
		si.name = si.policy.Docker
	}
	if identity != "" {
		n, err := reference.ParseNormalizedNamed(identity)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flag, identity, err)
		}
		si.identity = reference.TagNameOnly(n)
		if si.name == nil {
			si.name = si.identity
		}
	}
	return si, nil
}

// simpleSignFlags are the flags of toto image sign --format
// simple-signing.
type simpleSignFlags struct {
	keyPath, fingerprint, identity string
	store                          storeFlags
}

// simpleSignFlagNames are the flags only --format simple-signing takes.
var simpleSignFlagNames = []string{"gpg-key", "fingerprint", "identity", "lookaside", "registries-d"}

func (f *simpleSignFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.keyPath, "gpg-key", "", "simple-signing: OpenPGP secret key file (armored or binary)")
	cmd.Flags().StringVar(&f.fingerprint, "fingerprint", "", "simple-signing: which key of the keyring signs (primary or subkey fingerprint), when it holds several")
	cmd.Flags().StringVar(&f.identity, "identity", "", "simple-signing: docker reference to sign the image as (default: the image reference; required for an OCI layout)")
	f.store.add(cmd, true)
}

type simpleSignedJSON struct {
	Image       string `json:"image"`
	Identity    string `json:"identity"`
	Fingerprint string `json:"fingerprint"`
	Signature   string `json:"signature"`
	Index       int    `json:"index"`
}

// simpleSign is toto image sign --format simple-signing: sign ref's
// manifest digest as a simple signing payload with the OpenPGP key and
// write it as the next free signature-N of its lookaside directory.
func simpleSign(cmd *cobra.Command, ref string, f *simpleSignFlags, asJSON bool) error {
	if f.keyPath == "" {
		return errors.New("--format simple-signing needs --gpg-key")
	}
	data, err := os.ReadFile(f.keyPath)
	if err != nil {
		return err
	}
	ring, err := simplesigning.ReadKeyring(data)
	if err != nil {
		return fmt.Errorf("%s: %w", f.keyPath, err)
	}
	signer, err := simplesigning.SigningKey(ring, f.fingerprint, passwordFor(f.keyPath))
	if err != nil {
		return fmt.Errorf("%s: %w", f.keyPath, err)
	}
	si, err := openSimpleImage(cmd, ref, f.identity, "identity")
	if err != nil {
		return err
	}
	if si.name == nil {
		return fmt.Errorf("%s is an OCI layout: give --identity, the reference the image is signed as", ref)
	}
	warnTag(cmd, si.target)
	signed := si.name.String()
	if si.identity != nil {
		signed = si.identity.String()
	}
	payload, err := (&simplesigning.Payload{
		DockerReference: signed,
		ManifestDigest:  si.target.Digest(),
		Creator:         "toto " + version(),
		Timestamp:       time.Now().Unix(),
	}).MarshalJSON()
	if err != nil {
		return err
	}
	sig, err := simplesigning.Sign(payload, signer, simplesigning.Options{})
	if err != nil {
		return err
	}
	c, err := f.store.config()
	if err != nil {
		return err
	}
	base, err := f.store.repositoryBase(c, si.name, true)
	if err != nil {
		return err
	}
	n, path, err := lookaside.WriteNext(base, si.target.Digest(), sig)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cmd, simpleSignedJSON{Image: si.target.String(), Identity: signed, Fingerprint: simplesigning.Fingerprint(signer), Signature: path, Index: n})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signed %s as %s by %s: %s (signature-%d)\n", si.target.Digest(), signed, simplesigning.Fingerprint(signer), path, n)
	return nil
}

// policyFlags are the flags of toto image verify --containers-policy.
type policyFlags struct {
	policyPath, reference string
	attachments           bool
	store                 storeFlags
	// readKey reads a keyPath; nil reads the file (set for --tuf-root).
	readKey func(string) ([]byte, error)
}

// policyOnlyFlagNames are the flags only --containers-policy takes.
var policyOnlyFlagNames = []string{"registries-d", "lookaside", "sigstore-attachments", "reference"}

func (f *policyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.policyPath, "containers-policy", "", "evaluate this containers-policy.json(5) file instead of verifying against keys")
	cmd.Flags().StringVar(&f.reference, "reference", "", "with --containers-policy, for an OCI layout: the docker reference whose repository holds its signatures")
	cmd.Flags().BoolVar(&f.attachments, "sigstore-attachments", false, "with --containers-policy: read cosign signatures (the sha256-HEX.sig tag) for sigstoreSigned requirements even where registries.d does not set use-sigstore-attachments")
	f.store.add(cmd, false)
}

// policyVerify is toto image verify --containers-policy: evaluate the
// policy for ref with its lookaside (and, where enabled, cosign)
// signatures, as containers/image does.
func policyVerify(cmd *cobra.Command, ref string, f *policyFlags, asJSON bool) error {
	data, err := os.ReadFile(f.policyPath)
	if err != nil {
		return err
	}
	policy, err := containerspolicy.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", f.policyPath, err)
	}
	si, err := openSimpleImage(cmd, ref, f.reference, "reference")
	if errors.Is(err, image.ErrDigestMismatch) {
		return failed(err)
	} else if err != nil {
		return err
	}
	res, nsigs, err := f.evaluate(cmd.Context(), policy, policy.LoadKeys(f.readKey), si, 0)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(cmd, res); err != nil {
			return err
		}
	} else {
		printPolicyResult(cmd, res, nsigs)
	}
	if !res.Allowed {
		return failed(fmt.Errorf("%s is not accepted by %s", si.target, f.policyPath))
	}
	return nil
}

// maxBaseDepth bounds how many base images deep signedBaseLayer follows
// (a base built on a base ...).
const maxBaseDepth = 4

// evaluate reads the image's signatures (lookaside, and cosign's where
// enabled) and, when a signedBaseLayer requirement applies, its base image
// (whose own verdict is this evaluation again, for the base), and
// evaluates the policy. It returns the result and the number of
// signatures read.
func (f *policyFlags) evaluate(ctx context.Context, policy *containerspolicy.Policy, keys *containerspolicy.Keys, si *simpleImage, depth int) (*containerspolicy.Result, int, error) {
	var sigs containerspolicy.Signatures
	if si.name != nil { // a registry image (si.policy.Docker), or a layout given --reference
		c, err := f.store.config()
		if err != nil {
			return nil, 0, err
		}
		base, err := f.store.repositoryBase(c, si.name, false)
		if err != nil {
			return nil, 0, err
		}
		if sigs.Simple, err = lookaside.Read(ctx, base, si.target.Digest(), lookaside.ReadOptions{}); err != nil {
			return nil, 0, err
		}
		if si.policy.Docker != nil && (f.attachments || c.UseSigstoreAttachments(si.policy.Docker)) {
			cs, err := si.target.CosignSignatures(ctx)
			if err != nil {
				return nil, 0, fmt.Errorf("cosign signatures: %w", err)
			}
			for _, c := range cs {
				sigs.Sigstore = append(sigs.Sigstore, containerspolicy.SigstoreSignature{Payload: c.Payload, Signature: c.Signature})
			}
		}
	}
	reqs, _ := policy.RequirementsFor(si.policy)
	for _, r := range reqs {
		if _, ok := r.(*containerspolicy.SignedBaseLayer); !ok {
			continue
		}
		if depth >= maxBaseDepth {
			break // the requirement fails: no evidence read
		}
		b, bt, err := containerspolicy.ReadBaseImage(ctx, si.target, image.Options{})
		if err != nil {
			return nil, 0, err
		}
		if bt != nil {
			bi, err := containerspolicy.DockerImage(b.Name)
			if err != nil {
				return nil, 0, fmt.Errorf("base image of %s: %w", si.target, err)
			}
			bres, _, err := f.evaluate(ctx, policy, keys, &simpleImage{target: bt, policy: bi, name: bi.Docker}, depth+1)
			if err != nil {
				return nil, 0, err
			}
			b.Result = bres
		}
		sigs.Base = b
		break
	}
	res := containerspolicy.EvaluateSignatures(policy, keys, si.policy, si.target.Digest(), sigs, containerspolicy.Options{})
	return res, len(sigs.Simple) + len(sigs.Sigstore), nil
}

// flagsNotFor is the usage error for flags given that do not apply to
// what: nil when none of names was given.
func flagsNotFor(cmd *cobra.Command, what string, names ...string) error {
	var given []string
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			given = append(given, "--"+n)
		}
	}
	switch len(given) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s does not apply %s", given[0], what)
	}
	return fmt.Errorf("%s do not apply %s", strings.Join(given, ", "), what)
}

func printPolicyResult(cmd *cobra.Command, res *containerspolicy.Result, nsigs int) {
	w := cmd.OutOrStdout()
	scope := fmt.Sprintf("transports.%s[%q]", res.Transport, res.Scope)
	if res.Scope == "default" {
		scope = "default"
	}
	fmt.Fprintf(w, "%s@%s: policy section %s, %d signature(s)\n", res.Image, res.ManifestDigest, scope, nsigs)
	for _, rr := range res.Requirements {
		mark := "FAIL"
		if rr.Satisfied {
			mark = "ok  "
		}
		label := "signature-" // a lookaside signature-N
		if rr.Type == "sigstoreSigned" {
			label = "cosign signature " // a layer of the .sig tag
		}
		fmt.Fprintf(w, "  %s requirement %d %s", mark, rr.Index, rr.Type)
		if rr.Satisfied && rr.SatisfiedBy >= 0 {
			s := rr.Signatures[rr.SatisfiedBy]
			fmt.Fprintf(w, ": %s%d by %s for %s", label, rr.SatisfiedBy+1, s.Fingerprint, s.DockerReference)
		}
		fmt.Fprintln(w)
		if !rr.Satisfied && len(rr.Signatures) == 0 && rr.Err != nil {
			fmt.Fprintf(w, "       %v\n", rr.Err)
		}
		for _, s := range rr.Signatures {
			if !s.Accepted {
				fmt.Fprintf(w, "       %s%d: %v\n", label, s.Index+1, s.Err)
			}
		}
	}
	if res.Allowed {
		fmt.Fprintln(w, "accepted")
	} else {
		fmt.Fprintln(w, "rejected")
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/trust"
)

func init() {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Sign, attest and verify container images by digest",
		Long: `Sign container images and attach in-toto attestations to them, then check
both before use. IMAGE is a registry reference (registry.example/app:1.0,
registry.example/app@sha256:...) or an OCI image layout directory
(oci-layout:DIR, oci-layout:DIR@sha256:..., oci-layout:DIR:TAG).

A tag is resolved to its manifest digest once, by fetching and hashing the
manifest (never from the registry's Docker-Content-Digest header), and shown
as "TAG → DIGEST" on stderr; everything is signed and checked against that
digest. Signing by tag warns: name the image by digest to sign what you built. Signatures and attestations are keyed Sigstore
bundles attached as OCI 1.1 referrers, as cosign v3 does (see docs/images.md);
image sign --format simple-signing writes Red Hat simple signing signatures
to a lookaside store instead, and image verify --containers-policy checks
images against containers-policy.json as podman, skopeo and CRI-O do (see
docs/simple-signing.md).`,
	}
	cmd.AddCommand(newImageSignCmd(), newImageAttestCmd(), newImageVerifyCmd(), newImageMigrateDCTCmd())
	rootCmd.AddCommand(cmd)
}

// openImage resolves ref and, when it is a tag, says on stderr which
// digest it named ("tag → digest"): everything after uses that digest, and
// the user can pin it.
func openImage(cmd *cobra.Command, ref string) (*image.Target, error) {
	t, err := image.Open(cmd.Context(), ref, image.Options{})
	if err != nil {
		return nil, err
	}
	if t.Tag != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s → %s\n", ref, t)
	}
	return t, nil
}

// warnTag is cosign's warning for signing by tag: the tag may have named
// another image than the one the user built by the time it was resolved.
func warnTag(cmd *cobra.Command, t *image.Target) {
	if t.Tag == "" {
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "toto: warning: %s was named by tag %q, not by digest: what is signed is the image the tag named when it was resolved, which may not be the one you built. Sign %s to be sure.\n", t.Reference, t.Tag, t)
}

// attachFailed gives exit code 1 to a signature or attestation that was
// written but could not be recorded where readers list referrers (the
// registry's sha256-HEX index, or index.json): the command did not do what
// it says, and a script must not go on as if it had.
func attachFailed(err error) error {
	if errors.Is(err, image.ErrNotAttached) {
		return failed(err)
	}
	return err
}

type attachedJSON struct {
	Image         string `json:"image"`
	Referrer      string `json:"referrer"`
	PredicateType string `json:"predicateType"`
	KeyID         string `json:"keyid"`
}

func reportAttached(cmd *cobra.Command, asJSON bool, t *image.Target, a *image.Attached, what string) error {
	if asJSON {
		return writeJSON(cmd, attachedJSON{Image: t.String(), Referrer: a.Manifest.Digest.String(), PredicateType: a.PredicateType, KeyID: a.KeyID})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n  referrer %s (%s, key %s)\n", what, t, a.Manifest.Digest, a.PredicateType, keys.ShortID(a.KeyID))
	return nil
}

// Signature formats of toto image sign.
const (
	formatSigstore      = "sigstore"
	formatSimpleSigning = "simple-signing"
	formatNotation      = "notation"
)

func newImageSignCmd() *cobra.Command {
	var keyPath, format string
	var asJSON bool
	var lf logFlags
	var ss simpleSignFlags
	var nf notationSignFlags
	cmd := &cobra.Command{
		Use:   "sign (--key KEY [--rekor-url URL] [--tsa-url URL] | --format simple-signing --gpg-key KEY [--identity REF] [--lookaside DIR|URL | --registries-d DIR] | --format notation --key KEY --cert-chain CHAIN [--envelope jws|cose] [--tsa-url URL --tsa-root-cert PEM] [--expiry D]) IMAGE",
		Short: "Sign an image's manifest digest: a Sigstore bundle referrer, or a simple signing lookaside signature",
		Long: `Resolve IMAGE to its manifest digest and sign it, in one of two formats.

--format sigstore (the default): sign an in-toto Statement about that
digest (predicate type https://sigstore.dev/cosign/sign/v1, predicate the
simple-signing document) with KEY into a keyed Sigstore bundle, and attach it
to the image as an OCI 1.1 referrer. --rekor-url and --tsa-url log and
timestamp the signature (see toto bundle create --help).

--format simple-signing: Red Hat simple signing, as podman, skopeo, buildah
and CRI-O use it (containers-signature(5); see docs/simple-signing.md).
Sign the digest as a simple signing payload naming --identity (default: the
image reference, fully expanded, e.g. docker.io/library/app:1), as an
OpenPGP signed message with the private key in --gpg-key (gpg
--export-secret-keys, armored or binary; toto key generate --type pgp; an
encrypted key takes its passphrase from TOTO_PASSWORD, COSIGN_PASSWORD or the
terminal), and write it as the next free signature-N of the image's
lookaside directory (<base>/<repository>@sha256=<hex>/signature-N):
--lookaside DIR, or the lookaside-staging (else lookaside) base that
registries.d gives the image. Writing needs a file:// base. A layout image
has no registry name: give --identity, the reference consumers will pull it
as; its signatures are stored under that repository. Verify them with toto
image verify --containers-policy.

--format notation: a Notary Project signature (JWS, or COSE with --envelope
cose) by KEY and its X.509 --cert-chain (PEM, leaf first; toto key generate
--type x509 makes a CA and a leaf), attached as notation attaches it (see
docs/notation.md); --tsa-url with --tsa-root-cert timestamps it, --expiry
makes it expire. Verify with toto image verify --notation-policy.

Flags of the other formats are a usage error.`,
		Example: "  toto image sign --key release.key registry.example/app:1.4\n" +
			"  toto image sign --key release.key oci-layout:./out\n" +
			"  toto image sign --format simple-signing --gpg-key release.gpg --lookaside /srv/sigstore registry.example/app@sha256:...\n" +
			"  toto image sign --format simple-signing --gpg-key release.gpg --identity registry.example/app:1.4 --registries-d /etc/containers/registries.d oci-layout:./out\n" +
			"  toto image sign --format notation --key signer.key --cert-chain signer.crt registry.example/app@sha256:...",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case formatSimpleSigning:
				if err := flagsNotFor(cmd, "to --format simple-signing (sign with --gpg-key)", slices.Concat([]string{"key", "rekor-url", "tsa-url"}, notationSignFlagNames)...); err != nil {
					return err
				}
				return simpleSign(cmd, args[0], &ss, asJSON)
			case formatNotation:
				if err := flagsNotFor(cmd, "to --format notation", slices.Concat([]string{"rekor-url"}, simpleSignFlagNames)...); err != nil {
					return err
				}
				nf.keyPath, nf.tsaURL = keyPath, lf.tsaURL
				return notationSign(cmd, args[0], &nf, asJSON)
			case formatSigstore:
			default:
				return fmt.Errorf("--format %q: want %s, %s or %s", format, formatSigstore, formatSimpleSigning, formatNotation)
			}
			if err := flagsNotFor(cmd, "to --format sigstore (they are for the other formats)", slices.Concat(simpleSignFlagNames, notationSignFlagNames)...); err != nil {
				return err
			}
			bo, k, err := lf.signingWith(keyPath)
			if err != nil {
				return err
			}
			t, err := openImage(cmd, args[0])
			if err != nil {
				return err
			}
			warnTag(cmd, t)
			a, err := image.Sign(cmd.Context(), t, k, image.SignOptions{Bundle: bo})
			if err != nil {
				return attachFailed(err)
			}
			return reportAttached(cmd, asJSON, t, a, "signed")
		},
	}
	cmd.Flags().StringVar(&format, "format", formatSigstore, "signature format: sigstore (a Sigstore bundle attached as a referrer), simple-signing (Red Hat simple signing into a lookaside store) or notation (a Notary Project signature attached as a referrer)")
	cmd.Flags().StringVarP(&keyPath, "key", "k", "", "sigstore, notation: private key file")
	lf.register(cmd)
	ss.register(cmd)
	nf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func newImageAttestCmd() *cobra.Command {
	var keyPath, predType, predPath string
	var asJSON bool
	var lf logFlags
	cmd := &cobra.Command{
		Use:   "attest --key KEY --predicate-type TYPE --predicate FILE IMAGE",
		Short: "Attach a signed in-toto attestation (SBOM, provenance, link) to an image",
		Long: `Wrap the JSON object in FILE as the predicate of an in-toto Statement v1
whose subject is IMAGE's manifest digest, sign it with KEY into a keyed
Sigstore bundle, and attach it to the image as an OCI 1.1 referrer.

Common predicate types: https://spdx.dev/Document, https://cyclonedx.org/bom,
https://slsa.dev/provenance/v1, https://in-toto.io/attestation/link/v0.3.`,
		Example: "  toto image attest --key build.key --predicate-type https://spdx.dev/Document \\\n      --predicate sbom.spdx.json registry.example/app@sha256:...",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if predType == "" || predPath == "" {
				return errors.New("--predicate-type and --predicate are required")
			}
			bo, k, err := lf.signingWith(keyPath)
			if err != nil {
				return err
			}
			pred, err := readBounded(predPath)
			if err != nil {
				return err
			}
			if !json.Valid(pred) {
				return fmt.Errorf("%s: not valid JSON", predPath)
			}
			t, err := openImage(cmd, args[0])
			if err != nil {
				return err
			}
			warnTag(cmd, t)
			a, err := image.Attest(cmd.Context(), t, k, predType, pred, image.SignOptions{Bundle: bo})
			if err != nil {
				return attachFailed(fmt.Errorf("%s: %w", predPath, err))
			}
			return reportAttached(cmd, asJSON, t, a, "attested")
		},
	}
	cmd.Flags().StringVarP(&keyPath, "key", "k", "", "private key file")
	cmd.Flags().StringVar(&predType, "predicate-type", "", "predicate type URI")
	cmd.Flags().StringVar(&predPath, "predicate", "", "predicate JSON file")
	lf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func newImageVerifyCmd() *cobra.Command {
	var keyPaths []string
	var layoutPath string
	var layoutKeys []string
	var tf trustFlags
	var rf requireFlags
	var asJSON, requireAll bool
	var types []string
	var sbomPolicy string
	var pf policyFlags
	var nv notationVerifyFlags
	var df dctVerifyFlags
	var tuf tufFlags
	var imgPolicy string
	var sf setFlags
	cmd := &cobra.Command{
		Use:   "verify (--key PUB... | --layout LAYOUT --layout-key OWNER.pub... | --containers-policy policy.json [--registries-d DIR | --lookaside DIR|URL] | --notation-policy trustpolicy.json --trust-store DIR | --dct-server URL [--dct-signer NAME]...) [--trusted-root TR [--require-tlog] [--require-timestamp]] IMAGE",
		Short: "Check an image's signatures and attestations against trusted keys, containers-policy.json, or a notation trust policy",
		Long: `Find the signatures and attestations of IMAGE's manifest digest and verify
them: OCI 1.1 referrers holding Sigstore bundles (cosign v3, cosign v2 with
--new-bundle-format, toto), and cosign v2's sha256-HEX.sig and .att tags (or
cosign save's entries in an OCI layout). In-toto Statements v1 and v0.1 are
read. The trusted keys are the --key files, or the functionary keys of a
signed layout (--layout, whose signature is checked with --layout-key).

The image passes when at least one signature by a trusted key verifies, as
with cosign. Entries that do not verify (an unknown key, a stale referrers
entry, junk pushed by anyone with write access) are listed as ignored with
the reason; --require-all makes each of them fail the image instead.
--type requires a verified attestation of a predicate type (a URI, or
cosign's names: spdxjson, cyclonedx, slsaprovenance, slsaprovenance1, ...);
--sbom-policy applies an SBOM policy file (as toto sbom check) to the
image's verified SBOM attestations. Keyless (Fulcio) bundles are accepted
with --trusted-root and an identity and issuer; --identity-regexp and
--issuer-regexp must match the whole value (anchored as ^(?:RE)$).

With --tuf-root ROOT.json --tuf-url URL, the trusted keys (targets
toto/keys/*.pub) and, unless --trusted-root is given, the Sigstore trusted
root (toto/sigstore/trusted_root.json) come from that TUF repository, as
refreshed and verified by go-tuf (see docs/trust.md); --key adds to them.
With --dct-server, --tuf-root pins the repository's DCT root certificate
to the TUF target toto/dct/GUN/root.pem instead of trusting the first root
seen. With --containers-policy, --tuf-root makes every keyPath read from the TUF
target toto/keyrings/BASENAME instead of the file; with --notation-policy,
tuf:SET as the policy or --trust-store reads them from the targets under
toto/notation/SET/.

With --trusted-root, the log entries and timestamps a bundle carries must
verify against the logs and timestamp authorities it lists.
--require-tlog and --require-timestamp make a transparency-log entry
(Rekor inclusion proof and checkpoint) and an RFC 3161 timestamp part of
what it takes for a signature or attestation to verify: one without them
is ignored with the reason (or fails the image with --require-all), and
cosign v2 .sig/.att layers, which toto checks without a log, never meet
them. Each verified entry lists the log entry and timestamps that
verified (see docs/transparency.md).

The image's manifest and every manifest and blob read are checked against
their digests; a tag is resolved by fetching and hashing the manifest, and
printed as "TAG → DIGEST" on stderr.

With --containers-policy, image verify evaluates that policy file
(containers-policy.json(5)) for IMAGE instead, as podman, skopeo and CRI-O
do (containers/image's rules; see docs/simple-signing.md): the most specific
scope of its transport (docker for registries, oci for layouts), else the
transport's "" scope, else "default". signedBy requirements check the image's Red Hat simple
signing signatures, read from its lookaside store (registries.d, or
--lookaside); an OCI layout's are read under the repository of --reference.
sigstoreSigned requirements (keyPath, keyPaths, keyData or keyDatas; not yet
fulcio, pki or Rekor keys) read cosign's signatures from the image's
sha256-HEX.sig tag where registries.d sets use-sigstore-attachments, or with
--sigstore-attachments. The report gives, per requirement, the signature
that satisfied it or why each failed (wrong key, expired or revoked key,
corrupt, another digest, identity not accepted). The keys are the policy's:
--key, --layout, --trusted-root and the other key-based flags are a usage
error with it, as the policy flags are without it.

With --notation-policy trustpolicy.json --trust-store DIR, image verify
checks the image's Notary Project signatures with notation-go under that
trust policy instead (see docs/notation.md): every check (integrity,
authenticity, authentic timestamp, expiry, revocation) is reported with the
action the policy's level gives it; revocation is checked offline unless
--revocation online; --scope picks the policy statement (default: the
image's repository, or local/NAME for oci-layout:DIR).

With --dct-server URL (or --dct-offline), image verify checks IMAGE:TAG
with Docker Content Trust (Notary v1) instead, as docker pull does with
DOCKER_CONTENT_TRUST=1 (see docs/dct.md): the tag's digest is taken from
the repository's trust data (targets/releases, else targets), the registry
must serve exactly that manifest, and the roles that signed the tag are
listed. --dct-signer NAME requires the delegation targets/NAME to have
signed the same digest; --dct-root-cert pins the repository's root
certificate instead of trusting the first root seen; --dct-trust-dir is the
trust directory (default docker's, ~/.docker/trust), and --dct-offline
reads only its cached metadata. Key and policy flags are a usage error in
this mode.

Exit codes: 0 verified (the policy accepts the image), 1 verification failed
(it does not), 2 usage or input error (such as an unreadable policy or a
lookaside server error).`,
		Example: "  toto image verify --key release.pub registry.example/app@sha256:...\n" +
			"  toto image verify --key build.pub --type slsaprovenance1 --sbom-policy sbom-policy.yaml registry.example/app@sha256:...\n" +
			"  toto image verify --layout root.layout --layout-key owner.pub oci-layout:./out\n" +
			"  toto image verify --containers-policy /etc/containers/policy.json --registries-d /etc/containers/registries.d registry.example/app:1.4\n" +
			"  toto image verify --notation-policy trustpolicy.json --trust-store ~/.config/notation/truststore registry.example/app@sha256:...\n" +
			"  toto image verify --tuf-root root.json --tuf-url https://trust.example/ --notation-policy tuf:prod --trust-store tuf:prod registry.example/app@sha256:...\n" +
			"  toto image verify --dct-server https://notary.docker.io --dct-signer alice docker.io/library/alpine:3.20\n" +
			"  toto image verify --containers-policy policy.json --reference registry.example/app:1.4 --lookaside /srv/sigstore oci-layout:./out",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keyModeFlags := []string{"key", "layout", "layout-key", "require-all", "type", "sbom-policy",
				"trusted-root", "identity", "identity-regexp", "issuer", "issuer-regexp",
				"require-tlog", "require-timestamp"}
			if df.selected() {
				if err := flagsNotFor(cmd, "with --dct-server/--dct-offline: the trust data names the signers",
					slices.Concat(keyModeFlags, policyOnlyFlagNames, notationVerifyFlagNames, []string{"containers-policy", "notation-policy", "policy"})...); err != nil {
					return err
				}
				df.tuf = &tuf
				return dctVerify(cmd, args[0], &df, asJSON)
			}
			if err := flagsNotFor(cmd, "without --dct-server or --dct-offline", dctVerifyFlagNames...); err != nil {
				return err
			}
			if imgPolicy == "" {
				if err := flagsNotFor(cmd, "without --policy", setFlagNames...); err != nil {
					return err
				}
			}
			if imgPolicy != "" {
				if err := flagsNotFor(cmd, "with --policy: the policy names the keys and requirements",
					slices.Concat(keyModeFlags, tufFlagNames, policyOnlyFlagNames, notationVerifyFlagNames, []string{"containers-policy", "notation-policy"})...); err != nil {
					return err
				}
				return imagePolicyVerify(cmd, args[0], imgPolicy, &sf, asJSON)
			}
			if pf.policyPath != "" && nv.policyPath != "" {
				return errors.New("--containers-policy and --notation-policy: give one")
			}
			if pf.policyPath != "" {
				if err := flagsNotFor(cmd, "with --containers-policy: the policy names the keys and requirements",
					slices.Concat(keyModeFlags, notationVerifyFlagNames)...); err != nil {
					return err
				}
				if err := keyringsFromTUF(cmd, &pf, &tuf); err != nil {
					return err
				}
				return policyVerify(cmd, args[0], &pf, asJSON)
			}
			if nv.policyPath != "" {
				if err := flagsNotFor(cmd, "with --notation-policy: the trust policy and store name the keys and requirements",
					slices.Concat(keyModeFlags, policyOnlyFlagNames)...); err != nil {
					return err
				}
				cleanup, err := notationFromTUF(cmd, &nv, &tuf)
				if err != nil {
					return err
				}
				defer cleanup()
				return notationVerify(cmd, args[0], &nv, asJSON)
			}
			if err := flagsNotFor(cmd, "without --containers-policy or --notation-policy", slices.Concat(policyOnlyFlagNames, notationVerifyFlagNames)...); err != nil {
				return err
			}
			root, err := trust.Files{Keys: keyPaths}.Root(cmd.Context())
			if err != nil {
				return err
			}
			trusted := root.Keys
			if layoutPath != "" {
				ks, err := layoutFunctionaryKeys(layoutPath, layoutKeys)
				if err != nil {
					return err
				}
				trusted = append(trusted, ks...)
			} else if len(layoutKeys) > 0 {
				return errors.New("--layout-key needs --layout")
			}
			opts := image.VerifyOptions{Keys: trusted, RequireAll: requireAll, RequireTlog: rf.tlog, RequireTimestamp: rf.timestamp}
			if err := tf.apply(&opts.TrustedRoot, &opts.Identity, &opts.IdentityRegexp, &opts.Issuer, &opts.IssuerRegexp); err != nil {
				return err
			}
			// Trust material from TUF: its trusted keys, and its Sigstore
			// trusted root unless --trusted-root gave one.
			src, err := tuf.source(trust.TargetLayout, true)
			if err != nil {
				return err
			}
			if src != nil {
				tr, err := src.Root(cmd.Context())
				if err != nil {
					return fmt.Errorf("TUF %s: %w", tuf.url, err)
				}
				opts.Keys = append(opts.Keys, tr.Keys...)
				if opts.TrustedRoot == nil {
					opts.TrustedRoot = tr.SigstoreTrustedRoot
				}
			}
			if err := opts.Check(); err != nil {
				return fmt.Errorf("--require-tlog/--require-timestamp need --trusted-root: %w", err)
			}
			if len(opts.Keys) == 0 && opts.TrustedRoot == nil {
				return errors.New("give trusted keys with --key, --layout and --layout-key, or --tuf-root and --tuf-url")
			}
			for _, ty := range types {
				if ty == "" {
					return errors.New("--type: empty predicate type")
				}
				u, _ := image.PredicateType(ty)
				opts.PredicateTypes = append(opts.PredicateTypes, u)
			}
			if sbomPolicy != "" {
				p, err := sbom.LoadPolicy(sbomPolicy)
				if err != nil {
					return err
				}
				opts.SBOMPolicy = &p
			}
			t, err := openImage(cmd, args[0])
			if errors.Is(err, image.ErrDigestMismatch) {
				// Content that is not what its digest names is a
				// failed verification, not a usage error.
				if asJSON {
					rep := &image.Report{SchemaVersion: image.ReportSchemaVersion, Image: args[0], Findings: []image.Finding{}, Error: err.Error()}
					var de *image.DigestError
					if errors.As(err, &de) {
						rep.Digest = de.Want.String()
					}
					if err := writeJSON(cmd, rep); err != nil {
						return err
					}
				}
				return failed(err)
			} else if err != nil {
				return err
			}
			rep, verr := image.Verify(cmd.Context(), t, opts)
			if rep == nil || (verr != nil && !errors.Is(verr, image.ErrVerification)) {
				return verr
			}
			if asJSON {
				if err := writeJSON(cmd, rep); err != nil {
					return err
				}
			} else {
				printImageReport(cmd.OutOrStdout(), t, rep)
			}
			if verr != nil {
				return failed(verr)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&keyPaths, "key", "k", nil, "trusted public key file (repeatable)")
	cmd.Flags().StringVar(&layoutPath, "layout", "", "signed layout whose functionary keys are trusted")
	cmd.Flags().StringArrayVar(&layoutKeys, "layout-key", nil, "layout owner's public key (repeatable; all must have signed)")
	cmd.Flags().BoolVar(&requireAll, "require-all", false, "fail the image when any signature or attestation found does not verify")
	cmd.Flags().StringArrayVar(&types, "type", nil, "require a verified attestation of this predicate type: a URI or a cosign name (repeatable)")
	cmd.Flags().StringVar(&sbomPolicy, "sbom-policy", "", "SBOM policy file (YAML or JSON) applied to the image's SBOM attestations")
	tf.register(cmd)
	rf.register(cmd)
	pf.register(cmd)
	cmd.Flags().StringVar(&imgPolicy, "policy", "", "toto image policy (YAML or JSON; see docs/policy.md): evaluate it for IMAGE instead (requirements across Sigstore, notation, simple signing and DCT signatures); a directory (or --namespace) evaluates every toto and Portieris policy in it as admission does")
	sf.register(cmd)
	tuf.register(cmd, "trust the keys it delivers (targets toto/keys/*.pub) and its Sigstore trusted root (toto/sigstore/trusted_root.json)")
	cmd.Flags().StringVar(&nv.policyPath, "notation-policy", "", "notation trust policy (trustpolicy.json): verify the image's Notary Project signatures under it and --trust-store instead")
	nv.register(cmd, "with --notation-policy: ")
	df.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// layoutFunctionaryKeys loads a layout, checks it is signed by every owner
// key and unexpired, and returns its functionary keys.
func layoutFunctionaryKeys(path string, ownerPaths []string) ([]*keys.Key, error) {
	if len(ownerPaths) == 0 {
		return nil, errors.New("--layout needs at least one --layout-key to check its signature")
	}
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	root, err := trust.Files{LayoutOwners: ownerPaths}.Root(context.Background())
	if err != nil {
		return nil, err
	}
	return functionaryKeysOf(data, path, root.LayoutOwners)
}

// functionaryKeysOf checks a signed layout (named path in errors) against
// its owners' keys and returns its functionary keys.
func functionaryKeysOf(data []byte, path string, owners []*keys.Key) ([]*keys.Key, error) {
	if len(owners) == 0 {
		return nil, fmt.Errorf("%s: no layout owner keys to check its signature", path)
	}
	env, err := envelope.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	lv, err := layout.Verify(env, owners, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := lv.Err(); err != nil {
		return nil, failed(fmt.Errorf("layout %s: %w", path, err))
	}
	out := lv.Layout.FunctionaryKeys()
	if len(out) == 0 {
		return nil, fmt.Errorf("layout %s lists no functionary keys", path)
	}
	return out, nil
}

func printImageReport(w io.Writer, t *image.Target, rep *image.Report) {
	fmt.Fprintf(w, "image %s\n", t)
	for _, f := range rep.Findings {
		status := "ok  "
		switch f.Status {
		case image.StatusIgnored:
			status = "skip"
		case image.StatusFailed:
			status = "FAIL"
		}
		who := ""
		if f.KeyID != "" {
			who = " key " + keys.ShortID(f.KeyID)
		}
		if f.Identity != "" {
			who = " identity " + f.Identity
		}
		pt := f.PredicateType
		if f.Kind == image.KindIgnored {
			pt = f.ArtifactType
		}
		where := f.Referrer
		if f.Storage == image.StorageTag {
			where = f.Tag + " layer " + f.Layer
		}
		fmt.Fprintf(w, "  %s %-11s %s %s%s\n", status, f.Kind, where, pt, who)
		for _, e := range f.Tlog {
			fmt.Fprintf(w, "       tlog %s index %d (log id %s), inclusion verified\n", e.Log, e.Index, shortLogID(e.LogID))
		}
		for _, ts := range f.Timestamps {
			src := ts.URI
			if src == "" {
				src = ts.Kind
			}
			fmt.Fprintf(w, "       time %s (%s)\n", ts.Time.UTC().Format(time.RFC3339), src)
		}
		switch {
		case f.Status == image.StatusIgnored && f.Error != "":
			fmt.Fprintf(w, "       ignored: %s\n", f.Error)
		case f.Status == image.StatusIgnored:
			fmt.Fprintf(w, "       ignored: %s\n", f.Reason)
		case f.Error != "":
			fmt.Fprintf(w, "       %s\n", f.Error)
		}
	}
	for _, pt := range rep.PredicateTypes {
		ok := "ok  "
		if slices.Contains(rep.MissingPredicateTypes, pt) {
			ok = "FAIL"
		}
		fmt.Fprintf(w, "  %s required attestation of type %s\n", ok, pt)
	}
	if rep.SBOM != nil {
		ok := "ok  "
		if !rep.SBOM.OK() {
			ok = "FAIL"
		}
		fmt.Fprintf(w, "  %s SBOM policy: %d SBOM(s) checked, %d violation(s)\n", ok, len(rep.SBOM.SBOMs), len(rep.SBOM.Violations))
		for _, v := range rep.SBOM.Violations {
			fmt.Fprintf(w, "       %s\n", v.Message)
		}
	}
	verdict := "VERIFIED"
	if !rep.OK() {
		verdict = "FAILED"
	}
	var flags []string
	if rep.RequireAll {
		flags = append(flags, "--require-all")
	}
	if rep.RequireTlog {
		flags = append(flags, "--require-tlog")
	}
	if rep.RequireTimestamp {
		flags = append(flags, "--require-timestamp")
	}
	mode := ""
	if len(flags) > 0 {
		mode = " (" + strings.Join(flags, " ") + ")"
	}
	fmt.Fprintf(w, "%s%s: %d signature(s), %d attestation(s) verified, %d did not verify, %d ignored\n", verdict, mode, rep.Signatures, rep.Attestations, rep.Failures, rep.Ignored)
}

// shortLogID shortens a hex log id for text output.
func shortLogID(id string) string {
	if len(id) > 16 {
		return id[:16] + "…"
	}
	return id
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/containerspolicy"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/lookaside"
	"github.com/toto-dev/toto/simplesigning"
)

// systemRegistriesD is where containers/image reads registries.d when no
// directory is given (the system-wide one; per-user files are not read).
const systemRegistriesD = "/etc/containers/registries.d"

// newSimpleSigningCmd is `toto simple-signing`: Red Hat simple signing
// (containers-signature(5)) with lookaside storage and
// containers-policy.json, as podman, skopeo and CRI-O use them.
func newSimpleSigningCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simple-signing",
		Short: "Sign and verify images with Red Hat simple signing (OpenPGP), as podman, skopeo and CRI-O do",
		Long: `Sign an image's manifest digest with an OpenPGP key into a lookaside
signature store (<base>/<repository>@sha256=<hex>/signature-N), and verify an
image against containers-policy.json with the signatures found there, as
podman, skopeo, buildah and CRI-O do (see docs/simple-signing.md).

IMAGE is a registry reference (registry.example/app:1.0, ...@sha256:HEX) or
oci-layout:DIR[:TAG|@DIGEST].`,
	}
	cmd.AddCommand(newSimpleSignCmd(), newSimpleVerifyCmd())
	return cmd
}

// storeFlags are where signatures live: a lookaside base or registries.d.
type storeFlags struct {
	lookaside, registriesD string
}

func (f *storeFlags) add(cmd *cobra.Command, verb string) {
	cmd.Flags().StringVar(&f.lookaside, "lookaside", "", "lookaside base: a directory, file://, or (for verify) http(s):// URL; the repository path is appended, as registries.d bases are")
	cmd.Flags().StringVar(&f.registriesD, "registries-d", "", "registries.d directory saying which lookaside "+verb+" each registry (default "+systemRegistriesD+" if present, else containers/image's built-in directory)")
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
// whose path the store uses).
func (f *storeFlags) repositoryBase(name reference.Named, write bool) (*url.URL, error) {
	c, err := f.config()
	if err != nil {
		return nil, err
	}
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
}

func openSimpleImage(cmd *cobra.Command, ref, identity string) (*simpleImage, error) {
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
			return nil, fmt.Errorf("--identity %q: %w", identity, err)
		}
		if si.name == nil {
			si.name = reference.TagNameOnly(n)
		}
	}
	return si, nil
}

func newSimpleSignCmd() *cobra.Command {
	var keyPath, fingerprint, identity string
	var store storeFlags
	cmd := &cobra.Command{
		Use:   "sign --gpg-key KEY [--identity REF] [--lookaside DIR|URL | --registries-d DIR] IMAGE",
		Short: "Sign an image's manifest digest into a lookaside store (the next free signature-N)",
		Long: `Sign the image's manifest digest as a simple signing payload naming
--identity (default: the image reference, fully expanded, e.g.
docker.io/library/app:1), as an OpenPGP signed message with the private key
in KEY (gpg --export-secret-keys, armored or binary; an encrypted key takes
its passphrase from TOTO_PASSWORD, COSIGN_PASSWORD or the terminal), and
write it as the next free signature-N of the image's lookaside directory:
--lookaside DIR, or the lookaside-staging (else lookaside) base that
registries.d gives the image. Writing needs a file:// base.

A layout image has no registry name: give --identity (the reference
consumers will pull it as); signatures are stored under its repository.`,
		Example: "  toto simple-signing sign --gpg-key release.gpg --lookaside /srv/sigstore registry.example/app@sha256:...",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" {
				return errors.New("--gpg-key is required")
			}
			data, err := os.ReadFile(keyPath)
			if err != nil {
				return err
			}
			ring, err := simplesigning.ReadKeyring(data)
			if err != nil {
				return fmt.Errorf("%s: %w", keyPath, err)
			}
			signer, err := simplesigning.SigningKey(ring, fingerprint, passwordFor(keyPath))
			if err != nil {
				return fmt.Errorf("%s: %w", keyPath, err)
			}
			si, err := openSimpleImage(cmd, args[0], identity)
			if err != nil {
				return err
			}
			if si.name == nil {
				return fmt.Errorf("%s is an OCI layout: give --identity, the reference the image is signed as", args[0])
			}
			warnTag(cmd, si.target)
			signed := si.name.String()
			if identity != "" {
				n, _ := reference.ParseNormalizedNamed(identity)
				signed = reference.TagNameOnly(n).String()
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
			base, err := store.repositoryBase(si.name, true)
			if err != nil {
				return err
			}
			n, path, err := lookaside.WriteNext(base, si.target.Digest(), sig)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s as %s by %s: %s (signature-%d)\n", si.target.Digest(), signed, simplesigning.Fingerprint(signer), path, n)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "gpg-key", "", "OpenPGP secret key file (armored or binary)")
	cmd.Flags().StringVar(&fingerprint, "fingerprint", "", "which key of the keyring signs (primary or subkey fingerprint), when it holds several")
	cmd.Flags().StringVar(&identity, "identity", "", "docker reference to sign the image as (default: the image reference)")
	store.add(cmd, "to write to for")
	return cmd
}

func newSimpleVerifyCmd() *cobra.Command {
	var policyPath, identity string
	var asJSON, attachments bool
	var store storeFlags
	cmd := &cobra.Command{
		Use:   "verify --containers-policy policy.json [--registries-d DIR | --lookaside DIR|URL] IMAGE",
		Short: "Check an image against containers-policy.json with its lookaside signatures",
		Long: `Evaluate containers-policy.json for the image as containers/image does
(the most specific scope of its transport — docker for registries, oci for
layouts — else the transport's "" scope, else "default"), with the image's
simple signing signatures read from its lookaside store (registries.d, or
--lookaside), and report per requirement which signature satisfied it or why
each signature failed (wrong key, expired or revoked key, corrupt, another
digest, identity not accepted).

A layout's signatures are read under the repository of --identity.

sigstoreSigned requirements (with keyPath, keyPaths, keyData or keyDatas;
not yet fulcio, pki or Rekor keys) read cosign's signatures from the
image's sha256-HEX.sig tag where registries.d sets use-sigstore-attachments
(as containers/image), or with --sigstore-attachments.

Exit codes: 0 the policy accepts the image, 1 it does not, 2 usage or input
error (an unreadable policy, a lookaside server error).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if policyPath == "" {
				return errors.New("--containers-policy is required")
			}
			data, err := os.ReadFile(policyPath)
			if err != nil {
				return err
			}
			policy, err := containerspolicy.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", policyPath, err)
			}
			si, err := openSimpleImage(cmd, args[0], identity)
			if err != nil {
				return err
			}
			var sigs containerspolicy.Signatures
			if si.name != nil {
				base, err := store.repositoryBase(si.name, false)
				if err != nil {
					return err
				}
				if sigs.Simple, err = lookaside.Read(cmd.Context(), base, si.target.Digest(), lookaside.ReadOptions{}); err != nil {
					return err
				}
			}
			if si.policy.Docker != nil {
				c, err := store.config()
				if err != nil {
					return err
				}
				if attachments || c.UseSigstoreAttachments(si.policy.Docker) {
					if sigs.Sigstore, err = cosignSignatures(cmd.Context(), si.policy.Docker, si.target.Digest()); err != nil {
						return err
					}
				}
			}
			res := containerspolicy.EvaluateSignatures(policy, policy.LoadKeys(nil), si.policy, si.target.Digest(), sigs, containerspolicy.Options{})
			if asJSON {
				if err := writeJSON(cmd, res); err != nil {
					return err
				}
			} else {
				printPolicyResult(cmd, res, len(sigs.Simple)+len(sigs.Sigstore))
			}
			if !res.Allowed {
				return failed(fmt.Errorf("%s is not accepted by %s", si.target, policyPath))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&policyPath, "containers-policy", "", "containers-policy.json(5) file")
	cmd.Flags().StringVar(&identity, "identity", "", "for an OCI layout: the reference whose repository holds its signatures")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	cmd.Flags().BoolVar(&attachments, "sigstore-attachments", false, "read cosign signatures (the sha256-HEX.sig tag) for sigstoreSigned requirements even where registries.d does not set use-sigstore-attachments")
	store.add(cmd, "to read from for")
	return cmd
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

// Bounds of a .sig tag read.
const (
	maxCosignLayers  = 128
	maxCosignPayload = 1 << 20
)

// cosignSignatures reads cosign v2's signatures of the image: the layers
// of the sha256-HEX.sig tag in its repository, each a simple-signing
// payload with its signature in an annotation. No tag: no signatures.
func cosignSignatures(ctx context.Context, ref reference.Named, digest string) ([]containerspolicy.SigstoreSignature, error) {
	repo, err := name.NewRepository(reference.Domain(ref) + "/" + reference.Path(ref))
	if err != nil {
		return nil, err
	}
	tag := repo.Tag(strings.Replace(digest, ":", "-", 1) + ".sig")
	desc, err := remote.Get(tag, remote.WithContext(ctx))
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("cosign signatures %s: %w", tag, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("cosign signatures %s: %w", tag, err)
	}
	if len(m.Layers) > maxCosignLayers {
		return nil, fmt.Errorf("cosign signatures %s: %d layers, more than %d", tag, len(m.Layers), maxCosignLayers)
	}
	var out []containerspolicy.SigstoreSignature
	for _, l := range m.Layers {
		if string(l.MediaType) != image.MediaTypeSimpleSigning {
			continue
		}
		if l.Size > maxCosignPayload {
			return nil, fmt.Errorf("cosign signature layer %s: %d bytes, more than %d", l.Digest, l.Size, maxCosignPayload)
		}
		layer, err := remote.Layer(repo.Digest(l.Digest.String()), remote.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("cosign signature layer %s: %w", l.Digest, err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, fmt.Errorf("cosign signature layer %s: %w", l.Digest, err)
		}
		payload, err := io.ReadAll(io.LimitReader(rc, maxCosignPayload+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("cosign signature layer %s: %w", l.Digest, err)
		}
		if h, _, _ := v1.SHA256(bytes.NewReader(payload)); h != l.Digest || int64(len(payload)) > maxCosignPayload {
			return nil, fmt.Errorf("cosign signature layer %s: content does not match its digest or is too large", l.Digest)
		}
		out = append(out, containerspolicy.SigstoreSignature{Payload: payload, Signature: l.Annotations[image.AnnotationCosignSignature]})
	}
	return out, nil
}

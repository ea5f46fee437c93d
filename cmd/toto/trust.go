package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust/repository"
	"github.com/toto-dev/toto/trust/tufoci"
)

func newTrustCmd() *cobra.Command {
	var expires []string
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Maintain a TUF repository of layout owners' keys and root layouts",
		Long: `Create and maintain a TUF repository (The Update Framework) that delivers
toto's trust material to consumers: layout owners' public keys
(toto/owners/NAME.pub), the signed root layout (toto/root.layout), keys
trusted to sign directly (toto/keys/NAME.pub), a Sigstore trusted root
(toto/sigstore/trusted_root.json), or any other file.

A repository folder holds staged/ (what is being prepared and signed) and
public/ (what a web server serves; consumers run
'toto verify --tuf-root root.json --tuf-url URL-of-public').

  init        stage root version 1 and an empty targets version 1
  add-target  stage a target (or --remove one), in targets or a delegated role
  delegate    delegate target paths to a role with its own keys (or --remove it)
  rotate      stage a new root version with a role's keys changed
  sign        add a holder's signature to the staged root or targets
  publish     check thresholds, then publish with the online snapshot and
              timestamp keys (also run it regularly: the timestamp lasts a week)
  status      versions, signatures, and warnings before metadata lapses

Root and targets keys are held offline by several people: the staged
root.json or targets.json travels to each holder, who runs 'toto trust sign'
on their own machine. docs/trust.md describes the ceremony.`,
		Example: `  toto trust init repo --root-key alice.pub --root-key bob.pub --root-key carol.pub --root-threshold 2 \
      --targets-key dave.pub --targets-key erin.pub --targets-threshold 2 \
      --snapshot-key snapshot.pub --timestamp-key timestamp.pub
  toto trust add-target repo toto/owners/olivia.pub olivia.pub
  toto trust add-target repo toto/root.layout root.layout
  toto trust sign repo --role root --key alice     # each holder, on their machine
  toto trust sign repo --role targets --key dave
  toto trust delegate repo --role keys --paths 'toto/keys/*' --key frank.pub   # then sign targets
  toto trust add-target repo --role keys toto/keys/app.pub app.pub
  toto trust sign repo --role keys --key frank
  toto trust publish repo --snapshot-key snapshot --timestamp-key timestamp
  toto trust status repo`,
	}
	cmd.PersistentFlags().StringArrayVar(&expires, "expires", nil, "ROLE=DURATION: lifetime of root, targets, snapshot or timestamp metadata signed now (e.g. timestamp=24h; defaults: root 8760h, targets 4320h, snapshot 720h, timestamp 168h)")
	open := func(dir string) (*repository.Repository, error) {
		r := &repository.Repository{Dir: dir}
		for _, e := range expires {
			role, v, ok := strings.Cut(e, "=")
			d, err := time.ParseDuration(v)
			if !ok || err != nil || d <= 0 {
				return nil, fmt.Errorf("--expires %q: want ROLE=DURATION, e.g. timestamp=24h", e)
			}
			switch role {
			case "root":
				r.Expiries.Root = d
			case "targets":
				r.Expiries.Targets = d
			case "snapshot":
				r.Expiries.Snapshot = d
			case "timestamp":
				r.Expiries.Timestamp = d
			default:
				return nil, fmt.Errorf("--expires %q: role is root, targets, snapshot or timestamp", e)
			}
		}
		return r, nil
	}
	cmd.AddCommand(newTrustInitCmd(open), newTrustAddTargetCmd(open), newTrustDelegateCmd(open), newTrustRotateCmd(open),
		newTrustSignCmd(open), newTrustPublishCmd(open), newTrustStatusCmd(open))
	return cmd
}

type openRepo func(dir string) (*repository.Repository, error)

func loadPublicKeys(flag string, paths []string) ([]*keys.Key, error) {
	var out []*keys.Key
	for _, p := range paths {
		k, err := keys.Load(p)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		out = append(out, k.Public())
	}
	return out, nil
}

func newTrustInitCmd(open openRepo) *cobra.Command {
	var rootKeys, targetsKeys []string
	var rootTh, targetsTh int
	var snap, ts string
	cmd := &cobra.Command{
		Use:   "init DIR --root-key PUB... --targets-key PUB... --snapshot-key PUB --timestamp-key PUB",
		Short: "Stage root version 1 and an empty targets version 1 (unsigned)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := open(args[0])
			if err != nil {
				return err
			}
			opts := repository.InitOptions{Root: repository.RoleKeys{Threshold: rootTh}, Targets: repository.RoleKeys{Threshold: targetsTh}}
			if opts.Root.Keys, err = loadPublicKeys("root-key", rootKeys); err != nil {
				return err
			}
			if opts.Targets.Keys, err = loadPublicKeys("targets-key", targetsKeys); err != nil {
				return err
			}
			snapKeys, err := loadPublicKeys("snapshot-key", []string{snap})
			if err != nil {
				return err
			}
			tsKeys, err := loadPublicKeys("timestamp-key", []string{ts})
			if err != nil {
				return err
			}
			opts.Snapshot, opts.Timestamp = snapKeys[0], tsKeys[0]
			if err := r.Init(opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "staged root.json and targets.json version 1 in %s/%s: have them signed with 'toto trust sign', then publish\n", args[0], repository.StagedDir)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&rootKeys, "root-key", nil, "public key of a root holder (repeatable)")
	fl.IntVar(&rootTh, "root-threshold", 1, "root signatures required")
	fl.StringArrayVar(&targetsKeys, "targets-key", nil, "public key of a targets holder (repeatable)")
	fl.IntVar(&targetsTh, "targets-threshold", 1, "targets signatures required")
	fl.StringVar(&snap, "snapshot-key", "", "public key of the online snapshot key")
	fl.StringVar(&ts, "timestamp-key", "", "public key of the online timestamp key")
	for _, f := range []string{"root-key", "targets-key", "snapshot-key", "timestamp-key"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func newTrustAddTargetCmd(open openRepo) *cobra.Command {
	var custom, notationSet, role string
	var remove bool
	cmd := &cobra.Command{
		Use:   "add-target DIR NAME FILE | add-target DIR --remove NAME | add-target DIR --notation SET FOLDER",
		Short: "Stage a target (a new unsigned targets version), or remove one",
		Long: `Stage FILE as the target NAME, or with --remove take NAME out. Either way the
staged targets.json becomes a new, unsigned version that the targets holders
sign.

Names toto reads: toto/owners/NAME.pub (a layout owner's public key),
toto/root.layout (the signed root layout), toto/keys/NAME.pub,
toto/sigstore/trusted_root.json, toto/keyrings/NAME (an OpenPGP public
keyring: the key a containers-policy.json keyPath names, by base name),
toto/notation/SET/trustpolicy.json and
toto/notation/SET/truststore/x509/TYPE/STORE/FILE (a notation trust policy
and trust store). Keys must be public keys, keyrings public OpenPGP keys,
layouts signed envelopes, trust policies what notation accepts and trust
store files certificates. --custom sets the target's custom field; on a
layout, {"toto":{"owners":["toto/owners/a.pub",...]}} names its owners when
a repository carries several layouts.

--notation SET FOLDER stages a whole notation configuration folder (its
trustpolicy.json and truststore/x509/, as ~/.config/notation holds them)
or a trust store folder (x509/) as the targets of SET, and removes the
set's targets the folder no longer holds. Consumers use it with toto image
verify --tuf-root ... --notation-policy tuf:SET --trust-store tuf:SET.`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := open(args[0])
			if err != nil {
				return err
			}
			if notationSet != "" {
				if remove || custom != "" || len(args) != 2 {
					return fmt.Errorf("--notation takes DIR FOLDER (and neither --remove nor --custom)")
				}
				names, err := r.AddNotationDirTo(role, notationSet, args[1])
				if err != nil {
					return err
				}
				for _, n := range names {
					fmt.Fprintf(cmd.OutOrStdout(), "staged %s\n", n)
				}
				return nil
			}
			if remove {
				if len(args) != 2 {
					return fmt.Errorf("--remove takes DIR NAME")
				}
				return r.RemoveTargetFrom(role, args[1])
			}
			if len(args) != 3 {
				return fmt.Errorf("want DIR NAME FILE")
			}
			data, err := readBounded(args[2])
			if err != nil {
				return err
			}
			return r.AddTargetTo(role, args[1], data, json.RawMessage(custom))
		},
	}
	cmd.Flags().StringVar(&custom, "custom", "", "JSON object for the target's custom field")
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the target NAME")
	cmd.Flags().StringVar(&role, "role", "targets", "targets, or a delegated role (toto trust delegate) whose paths cover NAME")
	cmd.Flags().StringVar(&notationSet, "notation", "", "stage a notation configuration or trust store FOLDER as the targets of this set (toto/notation/SET/)")
	return cmd
}

func newTrustDelegateCmd(open openRepo) *cobra.Command {
	var role string
	var paths, keyPaths []string
	var threshold int
	var terminating, remove bool
	cmd := &cobra.Command{
		Use:   "delegate DIR --role NAME --paths PATTERN... --key KEY.pub... [--threshold N] [--terminating] | delegate DIR --role NAME --remove",
		Short: "Delegate target paths to a role with its own keys, or remove the delegation",
		Long: `Stage a targets version that trusts the delegated role NAME, and only it with
its keys, for targets whose names match --paths (TUF's shell-style patterns,
matched element by element: 'toto/keys/*' covers toto/keys/a.pub, not
toto/keys/x/a.pub). The targets holders sign that version as usual; the
role's own key holders then stage targets into it (toto trust add-target
--role NAME) and sign NAME.json (toto trust sign --role NAME).

Running delegate again for NAME replaces its paths and keys: a key left out
is revoked, and publish refuses the role until a threshold of the new keys
signs a new version of it. --remove drops the delegation: once published,
consumers no longer trust anything the role lists. A role listing a target
outside its paths is never trusted for it (add-target refuses it; consumers
ignore it, as the TUF specification says).`,
		Example: `  toto trust delegate repo --role team-keys --paths 'toto/keys/*' --key frank.pub --key grace.pub --threshold 2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := open(args[0])
			if err != nil {
				return err
			}
			if remove {
				if err := flagsNotFor(cmd, "with --remove", "paths", "key", "threshold", "terminating"); err != nil {
					return err
				}
				if err := r.Undelegate(role); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "staged targets.json without the delegated role %s: sign it with --role targets\n", role)
				return nil
			}
			ks, err := loadPublicKeys("key", keyPaths)
			if err != nil {
				return err
			}
			if err := r.Delegate(repository.DelegateOptions{Role: role, Paths: paths, Keys: ks, Threshold: threshold, Terminating: terminating}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "staged targets.json delegating %s to %s: sign it with --role targets; %s.json with --role %s\n", strings.Join(paths, ", "), role, role, role)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "delegated role name (lower-case letters, digits, '.', '_', '-')")
	cmd.Flags().StringArrayVar(&paths, "paths", nil, "target path pattern the role is trusted for (repeatable)")
	cmd.Flags().StringArrayVar(&keyPaths, "key", nil, "public key of a holder of the role (repeatable)")
	cmd.Flags().IntVar(&threshold, "threshold", 1, "signatures of the role's keys required")
	cmd.Flags().BoolVar(&terminating, "terminating", false, "consumers stop searching later delegations for paths this role matches")
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the delegation")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newTrustRotateCmd(open openRepo) *cobra.Command {
	var role string
	var add, revoke []string
	var threshold int
	cmd := &cobra.Command{
		Use:   "rotate DIR --role ROLE [--add PUB]... [--revoke PUB]... [--threshold N]",
		Short: "Stage a new root version with a role's keys or threshold changed",
		Long: `Stage a new, unsigned root version in which ROLE (root, targets, snapshot or
timestamp) gains the --add keys and loses the --revoke keys. A new root must
be signed by a threshold of the previous root's root keys and of its own
('toto trust sign --role root' accepts either); clients that trusted the old
root follow to the new one. Rotating targets also stages a new targets
version, to be signed by the new targets keys.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := open(args[0])
			if err != nil {
				return err
			}
			opts := repository.RotateOptions{Role: role, Threshold: threshold}
			if opts.Add, err = loadPublicKeys("add", add); err != nil {
				return err
			}
			if opts.Revoke, err = loadPublicKeys("revoke", revoke); err != nil {
				return err
			}
			return r.Rotate(opts)
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "root, targets, snapshot or timestamp")
	cmd.Flags().StringArrayVar(&add, "add", nil, "public key to add (repeatable)")
	cmd.Flags().StringArrayVar(&revoke, "revoke", nil, "public key to revoke (repeatable)")
	cmd.Flags().IntVar(&threshold, "threshold", 0, "new threshold (0: unchanged)")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newTrustSignCmd(open openRepo) *cobra.Command {
	var role, key string
	cmd := &cobra.Command{
		Use:   "sign DIR --role root|targets|DELEGATED --key KEY",
		Short: "Add a holder's signature to the staged root.json, targets.json or a delegated role's ROLE.json",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := open(args[0])
			if err != nil {
				return err
			}
			k, err := loadPrivate(key)
			if err != nil {
				return err
			}
			if err := r.Sign(cmd.Context(), role, k); err != nil {
				return err
			}
			id, _ := repository.KeyID(k)
			fmt.Fprintf(cmd.OutOrStdout(), "signed staged %s.json with key %s\n", role, keys.ShortID(id))
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "root, targets, or a delegated role")
	cmd.Flags().StringVarP(&key, "key", "k", "", "private key of a holder of the role")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newTrustPublishCmd(open openRepo) *cobra.Command {
	var snap, ts, ociRef string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "publish DIR --snapshot-key KEY --timestamp-key KEY [--oci REGISTRY/REPO[:TAG]]",
		Short: "Check thresholds and publish staged metadata with new snapshot and timestamp",
		Long: `Check the staged root, targets and delegated roles against their thresholds,
then write what is new into DIR/public with a new snapshot and timestamp
signed by the online keys. Serve DIR/public with any web server.

--oci REGISTRY/REPO[:TAG] (tag default "tuf") also pushes DIR/public to a
registry as one OCI artifact (artifact type
application/vnd.toto.tuf.repository.v1; each file a layer named by its path,
as oras push names files, so 'oras pull' writes the same tree), and moves
the tag to it in one step. Consumers then use --tuf-url
oci://REGISTRY/REPO[:TAG]. Credentials come from the Docker configuration
(~/.docker/config.json and its credential helpers), as docker and oras
read them; registries on localhost and 127.0.0.1 are reached over plain
HTTP, as by every toto image command.`,
		Example: `  toto trust publish repo --snapshot-key snapshot --timestamp-key timestamp
  toto trust publish repo --snapshot-key snapshot --timestamp-key timestamp --oci registry.example/acme/trust`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := open(args[0])
			if err != nil {
				return err
			}
			sk, err := loadPrivate(snap)
			if err != nil {
				return fmt.Errorf("--snapshot-key: %w", err)
			}
			tk, err := loadPrivate(ts)
			if err != nil {
				return fmt.Errorf("--timestamp-key: %w", err)
			}
			p, err := r.Publish(cmd.Context(), repository.PublishOptions{Snapshot: sk, Timestamp: tk})
			if err != nil {
				return err
			}
			st, err := r.Status()
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), st.Warnings)
			var pushed *tufoci.Pushed
			if ociRef != "" {
				if pushed, err = tufoci.Push(cmd.Context(), filepath.Join(args[0], repository.PublicDir), ociRef, tufoci.Options{}); err != nil {
					return fmt.Errorf("published in %s, but not pushed to the registry: %w", filepath.Join(args[0], repository.PublicDir), err)
				}
			}
			if asJSON {
				return writeJSON(cmd, struct {
					*repository.Published
					OCI *tufoci.Pushed `json:"oci,omitempty"`
				}{p, pushed})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published root v%d, targets v%d, snapshot v%d, timestamp v%d (%d files)\n", p.Root, p.Targets, p.Snapshot, p.Timestamp, len(p.Written))
			if pushed != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "pushed %d files (%d new blobs) to %s@%s\n", len(pushed.Files), pushed.Uploaded, pushed.Reference, pushed.Manifest.Digest)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&snap, "snapshot-key", "", "private snapshot key (online)")
	cmd.Flags().StringVar(&ts, "timestamp-key", "", "private timestamp key (online)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was published as JSON")
	cmd.Flags().StringVar(&ociRef, "oci", "", "also push the published repository to this registry repository (REGISTRY/REPO[:TAG]) as an OCI artifact")
	_ = cmd.MarkFlagRequired("snapshot-key")
	_ = cmd.MarkFlagRequired("timestamp-key")
	return cmd
}

func newTrustStatusCmd(open openRepo) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status DIR",
		Short: "Show versions, expiries and signatures; warn before metadata lapses",
		Long: `Show each role's published and staged versions, expiry, threshold and the
signatures the staged version has. Warnings (on stderr) name roles that
expired or expire soon (within a fifth of their default lifetime: root 73
days, targets 36 days, snapshot 6 days, timestamp 33 hours) and staged
versions short of signatures. Exit 1 when a published role has expired.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := open(args[0])
			if err != nil {
				return err
			}
			st, err := r.Status()
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(cmd, st); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ROLE\tPUBLISHED\tSTAGED\tEXPIRES\tSIGNED")
				for _, rs := range st.Roles {
					exp := "-"
					if !rs.Expires.IsZero() {
						exp = rs.Expires.Format(time.RFC3339)
					}
					signed := "online"
					if rs.Role == "root" || rs.Role == "targets" {
						signed = fmt.Sprintf("%d of %d (threshold %d)", len(rs.Signed), len(rs.KeyIDs), rs.Threshold)
					}
					fmt.Fprintf(tw, "%s\tv%d\tv%d\t%s\t%s\n", rs.Role, rs.Published, rs.Staged, exp, signed)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			printWarnings(cmd.ErrOrStderr(), st.Warnings)
			if st.Expired() {
				return failed(fmt.Errorf("published metadata has expired"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func printWarnings(w io.Writer, warnings []string) {
	for _, s := range warnings {
		fmt.Fprintln(w, "toto: warning:", s)
	}
}

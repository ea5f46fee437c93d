package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/verifier"
)

// image_links.go sorts after image.go, whose init made the image command.
func init() {
	for _, c := range rootCmd.Commands() {
		if c.Name() == "image" {
			c.AddCommand(newImageAttachLinksCmd())
			return
		}
	}
	panic("toto image: no image command to add attach-links to")
}

// linkFileJSON is one attached link file in attach-links --json.
type linkFileJSON struct {
	File      string `json:"file"`
	Step      string `json:"step"`
	Sublayout string `json:"sublayout,omitempty"`
	Referrer  string `json:"referrer"`
}

func newImageAttachLinksCmd() *cobra.Command {
	var linksDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "attach-links --links DIR IMAGE",
		Short: "Attach the signed links of the supply chain that built an image to it",
		Long: `Attach every link file of a links folder (as toto run writes them:
STEP.KEYID8.link, and for a step delegated to a sublayout, the sublayout's
links in the subfolder STEP.KEYID8) to IMAGE as OCI 1.1 referrers, one
referrer per file, the file's bytes unchanged (artifact type
application/vnd.dev.toto.link.v1+json; annotations dev.toto.link.step and
dev.toto.link.sublayout file it). An image policy's intoto requirement
verifies the chain from them (docs/policy.md).

The links are not checked here: verification does that, against the
layout the policy trusts.`,
		Example: "  toto run --step build --key bob.key --products out -- make image\n" +
			"  toto image attach-links --links . oci-layout:./out",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if linksDir == "" {
				return fmt.Errorf("--links is required")
			}
			files, err := linkFilesIn(linksDir, "")
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return fmt.Errorf("%s: no *.link files", linksDir)
			}
			t, err := openImage(cmd, args[0])
			if err != nil {
				return err
			}
			warnTag(cmd, t)
			var out []linkFileJSON
			for _, f := range files {
				data, err := boundedio.ReadFile(filepath.Join(linksDir, filepath.FromSlash(f.rel)), verifier.DefaultMaxLinkSize)
				if err != nil {
					return err
				}
				d, err := image.AttachLink(cmd.Context(), t, image.LinkEvidence{Step: f.step, Sublayout: f.sub, Name: path.Base(f.rel), Data: data})
				if err != nil {
					return attachFailed(fmt.Errorf("%s: %w", f.rel, err))
				}
				out = append(out, linkFileJSON{File: f.rel, Step: f.step, Sublayout: f.sub, Referrer: d.Digest.String()})
			}
			if asJSON {
				return writeJSON(cmd, map[string]any{"image": t.String(), "links": out})
			}
			for _, l := range out {
				fmt.Fprintf(cmd.OutOrStdout(), "attached %s (step %s) to %s as %s\n", l.File, l.Step, t, l.Referrer)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&linksDir, "links", "", "links folder (STEP.KEYID8.link files, sublayout links in STEP.KEYID8/)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the attached links as JSON")
	return cmd
}

type linkFileRef struct{ rel, step, sub string }

// linkFilesIn lists the link files of a links folder and, recursively,
// of its sublayout subfolders (named like a link file without ".link").
func linkFilesIn(dir, sub string) ([]linkFileRef, error) {
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(sub)))
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	var out []linkFileRef
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(n, ".link") {
			continue
		}
		base := strings.TrimSuffix(n, ".link")
		i := strings.LastIndexByte(base, '.')
		if i <= 0 {
			continue // not STEP.KEYID8.link
		}
		out = append(out, linkFileRef{rel: path.Join(sub, n), step: base[:i], sub: sub})
		if st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(sub), base)); err == nil && st.IsDir() && names[base] {
			// A real folder (not a symlink, as the verifier's own
			// folder reader requires): the sublayout's links.
			nested, err := linkFilesIn(dir, path.Join(sub, base))
			if err != nil {
				return nil, err
			}
			out = append(out, nested...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

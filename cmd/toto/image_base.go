package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/image"
)

// image_base.go sorts after image.go, whose init made the image command.
func init() {
	for _, c := range rootCmd.Commands() {
		if c.Name() == "image" {
			c.AddCommand(newImageAnnotateBaseCmd())
			return
		}
	}
	panic("toto image: no image command to add annotate-base to")
}

func newImageAnnotateBaseCmd() *cobra.Command {
	var (
		baseRef string
		tag     string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "annotate-base --base BASE IMAGE",
		Short: "Record in an image's manifest the base image it was built on",
		Long: `Write a copy of IMAGE's manifest annotated with the image-spec's
org.opencontainers.image.base.name (BASE fully qualified, tag kept) and
org.opencontainers.image.base.digest (BASE's digest, resolved once), in
IMAGE's repository, and print it by its new digest (annotations are part of
the manifest; config and layers are unchanged). --tag also points TAG at it.

IMAGE's layers must begin with all of BASE's layers (of one of its platform
manifests, when BASE is an index): the annotation never claims a base the
image is not built on. containers-policy.json's signedBaseLayer requirement
reads these annotations (toto image verify --containers-policy, see
docs/build.md). Registry images only.

Exit codes: 0 written, 1 IMAGE is not built on BASE, 2 bad input.`,
		Example: `  toto image annotate-base --base registry.example/base:3 registry.example/app@sha256:... --tag 1.0`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if baseRef == "" {
				return errors.New("--base is required")
			}
			t, err := openImage(cmd, args[0])
			if err != nil {
				return err
			}
			base, err := openImage(cmd, baseRef)
			if err != nil {
				return err
			}
			out, err := image.AnnotateBase(cmd.Context(), t, baseRef, base, image.BaseOptions{Tag: tag})
			if errors.Is(err, image.ErrNotOnBase) {
				if asJSON {
					// A verdict, so JSON on stdout as for a success: the
					// image left unannotated, and why.
					bn, _ := image.BaseName(baseRef)
					if werr := writeJSON(cmd, map[string]string{"image": t.String(), "baseName": bn, "baseDigest": base.Digest(), "error": err.Error()}); werr != nil {
						return werr
					}
				}
				return failed(err)
			} else if err != nil {
				return err
			}
			if asJSON {
				bn, _ := image.BaseName(baseRef) // AnnotateBase parsed it
				return writeJSON(cmd, map[string]string{"image": out.String(), "baseName": bn, "baseDigest": base.Digest()})
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&baseRef, "base", "", "the base image `REF` IMAGE was built from (recorded fully qualified)")
	cmd.Flags().StringVar(&tag, "tag", "", "also tag the annotated image `TAG` in IMAGE's repository")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {image, baseName, baseDigest} as JSON (docs/schema/image-annotate-base.schema.json)")
	return cmd
}

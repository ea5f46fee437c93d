package main

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/notation/notationtest"
)

// jsonOutputs names, for every command with --json, the schema its output
// follows (besides error.schema.json on exit 2).
// TestEveryJSONCommandIsListed keeps it complete: a new --json command
// must be listed with its schema.
var jsonOutputs = map[string]string{
	"toto verify":              verifySchema,
	"toto verify-attestation":  attRepSchema,
	"toto attest":              attestSchema,
	"toto image verify":        imageSchema + ", " + imagePolicySchema + ", " + containersSchema + ", " + notationSchema + ", " + dctSchema,
	"toto notation verify":     notationSchema,
	"toto dockerfile verify":   dockerfileSchema,
	"toto run":                 runSchema,
	"toto record start":        runSchema,
	"toto record stop":         runSchema,
	"toto key generate":        keyGenerateSchema,
	"toto key id":              keyIDSchema,
	"toto sign":                signSchema,
	"toto layout create":       layoutCreateSchema,
	"toto version":             versionSchema,
	"toto bundle create":       bundleCreateSchema,
	"toto bundle verify":       bundleVerifySchema,
	"toto image attest":        imageSignSchema,
	"toto image sign":          imageSignSchema,
	"toto sbom":                sbomSchema,
	"toto sbom check":          sbomCheckSchema,
	"toto layout lint":         layoutLintSchema,
	"toto layout show":         layoutShowSchema,
	"toto notation sign":       imageSignSchema,
	"toto image migrate-dct":   migrateDCTSchema,
	"toto image attach-links":  attachLinksSchema,
	"toto image annotate-base": annotateBaseSchema,
	"toto trust publish":       trustPublishSchema,
	"toto trust status":        trustStatusSchema,
}

func TestEveryJSONCommandIsListed(t *testing.T) {
	var found []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("json") != nil {
			found = append(found, c.CommandPath())
			if _, ok := jsonOutputs[c.CommandPath()]; !ok {
				t.Errorf("%s has --json but is not in jsonOutputs", c.CommandPath())
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(rootCmd)
	for cmd := range jsonOutputs {
		if !slices.Contains(found, cmd) {
			t.Errorf("jsonOutputs lists %s, which has no --json", cmd)
		}
	}
	// Every one has a published schema (issue 19), one that exists.
	var missing []string
	for _, c := range found {
		if jsonOutputs[c] == "" {
			missing = append(missing, c)
		}
		for _, name := range strings.Split(jsonOutputs[c], ", ") {
			if name != "" && !slices.Contains(allSchemas, name) {
				t.Errorf("%s: %s is not among the published schemas", c, name)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d --json commands have no published schema: %v", len(missing), len(found), missing)
	}
}

// The summaries of the commands that write keys, links and layouts
// validate against their schemas, as the binary writes them.
func TestSummaryJSONSchemas(t *testing.T) {
	dir, _ := runDir(t)
	validateAgainst(t, keyGenerateSchema, mustToto(t, dir, "key", "generate", "-t", "ecdsa", "-o", "owner", "--json").Stdout)
	validateAgainst(t, keyIDSchema, mustToto(t, dir, "key", "id", "--json", "owner.pub", "k.key").Stdout)
	validateAgainst(t, versionSchema, mustToto(t, dir, "version", "--json").Stdout)

	validateAgainst(t, runSchema, mustToto(t, dir, "run", "-n", "build", "-k", "k", "-m", "src", "-p", "src", "--json", "--provenance", "--", "true").Stdout)
	validateAgainst(t, runSchema, mustToto(t, dir, "run", "-n", "review", "-k", "k", "-m", "src", "--json", "--attest", "-p", "src").Stdout)
	validateAgainst(t, runSchema, mustToto(t, dir, "record", "start", "-n", "edit", "-k", "k", "-m", "src", "--json").Stdout)
	validateAgainst(t, runSchema, mustToto(t, dir, "record", "stop", "-n", "edit", "-k", "k", "-p", "src", "--json").Stdout)

	// The example's keys are found relative to it.
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "layout", "layout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, layoutCreateSchema, mustToto(t, dir, "layout", "create", src, "-o", "root.layout", "--json").Stdout)
	validateAgainst(t, signSchema, mustToto(t, dir, "sign", "--key", "owner", "root.layout", "--json").Stdout)
}

// notation sign and image sign --format notation write the third shape of
// image-sign.schema.json.
func TestNotationSignJSONSchema(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "notation", "generate-cert", "--out", "pki", "--subject", "C=US,ST=WA,O=Example,CN=release")
	ref := "oci-layout:" + notationtest.Layout(t, "app")
	validateAgainst(t, imageSignSchema, mustToto(t, dir, "notation", "sign", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", "--json", ref).Stdout)
	validateAgainst(t, imageSignSchema, mustToto(t, dir, "image", "sign", "--format", "notation", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", "--envelope", "cose", "--json", ref).Stdout)
}

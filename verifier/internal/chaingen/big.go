package chaingen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/toto-dev/toto/link"
)

// Big builds a four-step chain in which the main steps carry n artifacts
// each, for benchmarks: fetch creates n sources, build matches them and
// adds binaries, test consumes everything and writes a report, package
// takes the binaries under another prefix. Its rules mix wildcard and
// literal patterns, MATCH with prefixes, CREATE, DELETE, REQUIRE and
// DISALLOW. It verifies.
func Big(n int) *Builder {
	b := NewBuilder()
	digest := func(i int, salt string) string {
		s := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", salt, i)))
		return hex.EncodeToString(s[:])
	}
	nDocs := n / 10
	nBins := n / 100
	if nBins == 0 {
		nBins = 1
	}
	sources := link.Artifacts{}
	for i := 0; i < n-nDocs; i++ {
		sources[fmt.Sprintf("src/pkg%03d/file%06d.go", i%1000, i)] = link.DigestSet{"sha256": digest(i, "src")}
	}
	for i := 0; i < nDocs; i++ {
		sources[fmt.Sprintf("docs/page%06d.md", i)] = link.DigestSet{"sha256": digest(i, "doc")}
	}
	built := link.Artifacts{}
	for p, d := range sources {
		built[p] = d
	}
	bins := link.Artifacts{}
	for i := 0; i < nBins; i++ {
		p := fmt.Sprintf("out/bin%05d", i)
		d := link.DigestSet{"sha256": digest(i, "bin")}
		built[p] = d
		bins[fmt.Sprintf("app/bin%05d", i)] = d
	}
	report := link.Artifacts{"report.xml": {"sha256": digest(0, "report")}}
	tarball := link.Artifacts{"app.tar.gz": {"sha256": digest(0, "tar")}}

	b.Step("fetch", 1, []string{"alice"}, nil,
		Rules([]string{"CREATE", "src/*"}, []string{"CREATE", "docs/*.md"}, []string{"DISALLOW", "*"}))
	b.Step("build", 1, []string{"bob"},
		Rules([]string{"MATCH", "*.go", "WITH", "PRODUCTS", "FROM", "fetch"}, []string{"MATCH", "docs/*", "WITH", "PRODUCTS", "FROM", "fetch"}, []string{"DISALLOW", "*"}),
		Rules([]string{"MATCH", "*", "WITH", "MATERIALS", "FROM", "build"}, []string{"CREATE", "out/bin*"}, []string{"DISALLOW", "*"}))
	b.Step("test", 1, []string{"carol"},
		Rules([]string{"MATCH", "src/*", "WITH", "PRODUCTS", "FROM", "build"}, []string{"MATCH", "*", "IN", "out", "WITH", "PRODUCTS", "IN", "out", "FROM", "build"}, []string{"DELETE", "docs/*"}, []string{"DISALLOW", "*"}),
		Rules([]string{"REQUIRE", "report.xml"}, []string{"CREATE", "report.xml"}, []string{"DISALLOW", "*"}))
	b.Step("package", 1, []string{"dave"},
		Rules([]string{"MATCH", "*", "IN", "app", "WITH", "PRODUCTS", "IN", "out", "FROM", "build"}, []string{"DISALLOW", "*"}),
		Rules([]string{"CREATE", "app.tar.gz"}, []string{"DELETE", "*"}, []string{"DISALLOW", "*"}))

	b.Link("fetch", "alice", &link.Link{Products: sources})
	b.Link("build", "bob", &link.Link{Materials: sources, Products: built})
	testMaterials := link.Artifacts{}
	for p, d := range built {
		testMaterials[p] = d
	}
	b.Link("test", "carol", &link.Link{Materials: testMaterials, Products: report})
	b.Link("package", "dave", &link.Link{Materials: bins, Products: tarball})
	return b
}

// WriteDir lays the builder's chain out in dir like Chain.Write:
// root.layout signed by "owner", owner.pub (securesystemslib JSON),
// owner.pem, and links/.
func (b *Builder) WriteDir(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "links"), 0o755); err != nil {
		return err
	}
	// Keys carry their "keyid" member, which the Python reference needs.
	p, err := b.Layout.MarshalJSON()
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		return err
	}
	for id, k := range m["keys"].(map[string]any) {
		k.(map[string]any)["keyid"] = id
	}
	if p, err = json.Marshal(m); err != nil {
		return err
	}
	env := b.Sign(p, "owner")
	data, err := env.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "root.layout"), data, 0o644); err != nil {
		return err
	}
	pub, err := b.Public("owner").MarshalJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pub"), pub, 0o644); err != nil {
		return err
	}
	pemb, err := b.Public("owner").MarshalPEM(false)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pem"), pemb, 0o644); err != nil {
		return err
	}
	for _, files := range b.links {
		for _, f := range files {
			data, err := f.Envelope.Encode()
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "links", f.Name), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

package sbom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// goEnv asks the go command, as the tests must agree with it.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Skipf("go command unavailable: %v", err)
	}
	return strings.TrimSpace(string(out))
}

type fixtureModule struct {
	dir, bin       string
	modVersion     string // of golang.org/x/mod, taken from the repository's go.mod
	modSum         string // its module h1 hash, from the go.sum the go command wrote
	modCache       string
	buildErr       error
	binSHA256      string
	stdlibVersion  string
	localLicenseID string
}

var (
	fixtureOnce sync.Once
	fixture     fixtureModule
)

// goFixture builds, once per test binary, a real module and binary: module
// example.com/hello requires golang.org/x/mod (at the version this
// repository uses, so it is in the module cache) and example.com/local,
// replaced by a directory holding an MIT LICENSE. GOPROXY=off keeps it
// offline.
func goFixture(t *testing.T) *fixtureModule {
	t.Helper()
	fixtureOnce.Do(func() { fixture = buildFixture(t) })
	if fixture.buildErr != nil {
		t.Fatalf("build fixture: %v", fixture.buildErr)
	}
	return &fixture
}

func buildFixture(t *testing.T) (f fixtureModule) {
	f.modCache = goEnv(t, "GOMODCACHE")
	repoMod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		f.buildErr = err
		return
	}
	mf, err := modfile.Parse("go.mod", repoMod, nil)
	if err != nil {
		f.buildErr = err
		return
	}
	for _, r := range mf.Require {
		if r.Mod.Path == "golang.org/x/mod" {
			f.modVersion = r.Mod.Version
		}
	}
	// os.MkdirTemp rather than t.TempDir: the fixture outlives this test.
	dir, err := os.MkdirTemp("", "sbom-gofixture-")
	if err != nil {
		f.buildErr = err
		return
	}
	f.dir = dir
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.buildErr = err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.buildErr = err
		}
	}
	write("go.sum", "")
	write("go.mod", "module example.com/hello\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/mod "+f.modVersion+
		"\n\texample.com/local v0.0.0\n)\n\nreplace example.com/local => ./local\n")
	write("main.go", "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/local\"\n\t\"golang.org/x/mod/semver\"\n)\n\n"+
		"func main() { fmt.Println(semver.IsValid(local.Version)) }\n")
	write("local/go.mod", "module example.com/local\n\ngo 1.22\n")
	write("local/local.go", "package local\n\nconst Version = \"v1.0.0\"\n")
	mit, err := os.ReadFile(filepath.Join("testdata", "licenses", "MIT.txt"))
	if err != nil {
		f.buildErr = err
		return
	}
	write("local/LICENSE", string(mit))
	f.localLicenseID = "MIT"
	if f.buildErr != nil {
		return
	}
	f.bin = filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-o", f.bin, ".")
	cmd.Dir = dir
	// Offline: x/mod comes from the module cache (this package's own
	// build put it there), and the go command writes go.sum from the
	// cached, already verified files (GOSUMDB=off only skips asking the
	// checksum database again).
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		f.buildErr = &buildError{err: err, out: string(out)}
		return
	}
	goSum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		f.buildErr = err
		return
	}
	for _, line := range strings.Split(string(goSum), "\n") {
		if fl := strings.Fields(line); len(fl) == 3 && fl[0] == "golang.org/x/mod" && fl[1] == f.modVersion {
			f.modSum = fl[2]
		}
	}
	data, err := os.ReadFile(f.bin)
	if err != nil {
		f.buildErr = err
		return
	}
	sum := sha256.Sum256(data)
	f.binSHA256 = hex.EncodeToString(sum[:])
	f.stdlibVersion = runtime.Version()
	return f
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ":\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

func componentByName(inv *Inventory, name string) *Component {
	for i := range inv.Components {
		if inv.Components[i].Name == name {
			return &inv.Components[i]
		}
	}
	return nil
}

func TestFromGoBinary(t *testing.T) {
	fx := goFixture(t)
	inv, err := FromGoBinary(context.Background(), fx.bin, WithModCache(fx.modCache))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Root == nil || inv.Root.Name != "example.com/hello" || inv.Root.Type != TypeApplication {
		t.Fatalf("root = %+v, want application example.com/hello", inv.Root)
	}
	if inv.Root.Hashes[SHA256] != fx.binSHA256 {
		t.Errorf("root sha256 = %s, want the binary's %s", inv.Root.Hashes[SHA256], fx.binSHA256)
	}
	if inv.Root.PURL != "pkg:golang/example.com/hello" {
		t.Errorf("root purl = %q", inv.Root.PURL)
	}
	if len(inv.Components) != 3 {
		t.Fatalf("got %d components, want x/mod, the local module and stdlib: %+v", len(inv.Components), inv.Components)
	}
	xm := componentByName(inv, "golang.org/x/mod")
	if xm == nil || xm.Version != fx.modVersion {
		t.Fatalf("golang.org/x/mod@%s missing: %+v", fx.modVersion, inv.Components)
	}
	if xm.Properties["go:sum"] != fx.modSum || fx.modSum == "" {
		t.Errorf("x/mod go:sum = %q, want go.sum's %q", xm.Properties["go:sum"], fx.modSum)
	}
	if xm.License != "BSD-3-Clause" {
		t.Errorf("x/mod license from module cache = %q, want BSD-3-Clause", xm.License)
	}
	if want := "pkg:golang/golang.org/x/mod@" + fx.modVersion; xm.PURL != want {
		t.Errorf("x/mod purl = %q, want %q", xm.PURL, want)
	}
	local := componentByName(inv, "example.com/local")
	if local == nil || local.Version != "" || local.Properties["go:replace-dir"] != "./local" {
		t.Errorf("local replacement = %+v, want no version and go:replace-dir ./local", local)
	}
	std := componentByName(inv, "stdlib")
	if std == nil || std.Version != fx.stdlibVersion || std.PURL != "pkg:golang/stdlib@"+strings.TrimPrefix(fx.stdlibVersion, "go") || std.License != "BSD-3-Clause" {
		t.Errorf("stdlib = %+v, want %s", std, fx.stdlibVersion)
	}

	// Without a module cache holding x/mod there is no license to find.
	inv, err = FromGoBinary(context.Background(), fx.bin, WithModCache(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if l := componentByName(inv, "golang.org/x/mod").License; l != "" {
		t.Errorf("license with an empty module cache = %q, want unknown", l)
	}
}

func TestFromGoBinaryRejectsNonGoFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(p, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := FromGoBinary(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("want an error naming %s, got %v", p, err)
	}
}

func TestFromGoModule(t *testing.T) {
	fx := goFixture(t)
	inv, err := FromGoModule(context.Background(), fx.dir, WithModCache(fx.modCache))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Root == nil || inv.Root.Name != "example.com/hello" {
		t.Fatalf("root = %+v", inv.Root)
	}
	if len(inv.Components) != 2 {
		t.Fatalf("got %d components, want 2: %+v", len(inv.Components), inv.Components)
	}
	xm := componentByName(inv, "golang.org/x/mod")
	if xm == nil || xm.Version != fx.modVersion || xm.Properties["go:sum"] != fx.modSum || xm.License != "BSD-3-Clause" {
		t.Errorf("x/mod = %+v, want version %s, sum %s, BSD-3-Clause", xm, fx.modVersion, fx.modSum)
	}
	local := componentByName(inv, "example.com/local")
	if local == nil || local.License != fx.localLicenseID || local.Properties["go:replaces"] != "example.com/local@v0.0.0" {
		t.Errorf("local = %+v, want license %s read from the replacement directory", local, fx.localLicenseID)
	}
}

// The repository's own go.mod is a real, larger input.
func TestFromGoModuleOnThisRepository(t *testing.T) {
	inv, err := FromGoModule(context.Background(), filepath.Join("..", "go.mod"), WithModCache(goEnv(t, "GOMODCACHE")))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Root.Name != "github.com/toto-dev/toto" {
		t.Errorf("root = %q", inv.Root.Name)
	}
	for _, want := range []string{"github.com/spdx/tools-golang", "github.com/CycloneDX/cyclonedx-go", "golang.org/x/mod"} {
		c := componentByName(inv, want)
		if c == nil {
			t.Errorf("%s missing", want)
			continue
		}
		if !strings.HasPrefix(c.Properties["go:sum"], "h1:") {
			t.Errorf("%s has no go.sum hash: %+v", want, c.Properties)
		}
	}
	if c := componentByName(inv, "github.com/CycloneDX/cyclonedx-go"); c != nil && c.License != "Apache-2.0" {
		t.Errorf("cyclonedx-go license = %q, want Apache-2.0 (module cache)", c.License)
	}
}

func TestFromGoModuleErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := FromGoModule(context.Background(), dir); err == nil {
		t.Error("want error for a directory without go.mod")
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\nrequire (\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FromGoModule(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("want a parse error naming go.mod, got %v", err)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "go.sum"), []byte("only two\n"), 0o644)
	if _, err := FromGoModule(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "go.sum:1") {
		t.Errorf("want an error naming go.sum line 1, got %v", err)
	}
}

func TestFromNPMLock(t *testing.T) {
	for _, file := range []string{"lock-v2.json", "lock-v3.json"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", "npm", file)
			inv, err := FromNPMLock(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Root == nil || inv.Root.Ref() != "toto-sbom-fixture@1.0.0" || inv.Root.License != "Apache-2.0" {
				t.Fatalf("root = %+v", inv.Root)
			}
			var refs []string
			for _, c := range inv.Components {
				refs = append(refs, c.Ref())
			}
			want := "@sindresorhus/is@4.6.0 debug@4.3.4 is-number@7.0.0 ms@2.1.2 ms@2.1.3 type-fest@0.21.3"
			if got := strings.Join(refs, " "); got != want {
				t.Errorf("components = %s\nwant %s", got, want)
			}
			is := componentByName(inv, "@sindresorhus/is")
			if is.PURL != "pkg:npm/%40sindresorhus/is@4.6.0" || is.License != "MIT" {
				t.Errorf("@sindresorhus/is = %+v", is)
			}
			for _, c := range inv.Components {
				if c.Ref() == "ms@2.1.3" && c.Hashes[SHA512] != "e85973b9b4cb646dc9d9afcd542025784863ceae68c601f268253dc985ef70bb2fa1568726afece715c8ebf5d73fab73ed1f7100eb479d23bfb57b45dd645394" {
					t.Errorf("ms@2.1.3 sha512 = %q", c.Hashes[SHA512])
				}
			}
			if c := componentByName(inv, "is-number"); c.Properties["npm:dev"] != "true" {
				t.Errorf("is-number is a dev dependency: %+v", c.Properties)
			}
			if c := componentByName(inv, "type-fest"); c.License != "(MIT OR CC0-1.0)" {
				t.Errorf("type-fest license = %q", c.License)
			}
			wantLoc := file == "lock-v3.json"
			if got := componentByName(inv, "debug").DownloadLocation; (got != "") != wantLoc {
				t.Errorf("debug download location = %q (lockfile has resolved: %v)", got, wantLoc)
			}

			inv, err = FromNPMLock(context.Background(), path, WithoutDevDependencies())
			if err != nil {
				t.Fatal(err)
			}
			if componentByName(inv, "is-number") != nil || len(inv.Components) != 5 {
				t.Errorf("without dev dependencies: %d components, is-number present: %v", len(inv.Components), componentByName(inv, "is-number") != nil)
			}
		})
	}
}

func TestParseNPMLockErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`[]`, "invalid package-lock.json"},
		{`{"packages":{}}`, "lockfileVersion"},
		{`{"lockfileVersion":1,"dependencies":{}}`, "lockfileVersion 1 is not supported"},
		{`{"lockfileVersion":4,"packages":{}}`, "unsupported version 4"},
		{`{"lockfileVersion":3}`, `"packages" missing`},
		{`{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"1.0.0","integrity":"sha512-!!"}}}`, `entry "node_modules/a": field "integrity"`},
		{`{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"1.0.0","integrity":"sha512-AAAA"}}}`, "has 3 bytes, want 64"},
		{`{"lockfileVersion":3,"packages":{"weird":{"version":"1.0.0"}}}`, `entry "weird": cannot tell the package name`},
	} {
		_, err := ParseNPMLock([]byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.data, err, tc.want)
		}
	}
}

func TestNPMWorkspacesAndAliases(t *testing.T) {
	lock := `{"name":"mono","version":"0.0.0","lockfileVersion":3,"packages":{
		"":{"name":"mono","version":"0.0.0","workspaces":["packages/*"]},
		"node_modules/app":{"resolved":"packages/app","link":true},
		"packages/app":{"name":"app","version":"2.0.0","license":{"type":"ISC"}},
		"node_modules/lodash-old":{"name":"lodash","version":"3.10.1","license":[{"type":"MIT"},{"type":"BSD-3-Clause"}]}}}`
	inv, err := ParseNPMLock([]byte(lock))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Components) != 2 {
		t.Fatalf("want the workspace and the aliased package, got %+v", inv.Components)
	}
	app := componentByName(inv, "app")
	if app == nil || app.Version != "2.0.0" || app.License != "ISC" || app.Properties["npm:workspace"] != "packages/app" {
		t.Errorf("workspace = %+v", app)
	}
	lo := componentByName(inv, "lodash")
	if lo == nil || lo.PURL != "pkg:npm/lodash@3.10.1" || lo.License != "(MIT OR BSD-3-Clause)" {
		t.Errorf("alias = %+v", lo)
	}
}

func TestFromDirAndFromFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.bin"), []byte{0, 1, 2}, 0o644)
	if err := os.Symlink("a.txt", filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "sub", "loop")); err != nil {
		t.Fatal(err)
	}
	inv, err := FromDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range inv.Components {
		names = append(names, c.Name)
		if c.Type != TypeFile || len(c.Hashes) != 3 {
			t.Errorf("%s: type %s, %d hashes", c.Name, c.Type, len(c.Hashes))
		}
	}
	if got := strings.Join(names, " "); got != "a.txt link.txt sub/b.bin" {
		t.Errorf("files = %q", got)
	}
	// sha256("hello\n")
	const helloSHA256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if inv.Components[0].Hashes[SHA256] != helloSHA256 || inv.Components[1].Hashes[SHA256] != helloSHA256 {
		t.Errorf("sha256 of a.txt / link.txt = %s / %s", inv.Components[0].Hashes[SHA256], inv.Components[1].Hashes[SHA256])
	}

	inv, err = FromFiles(context.Background(), []string{filepath.Join(dir, "a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Components) != 1 || inv.Name != "a.txt" {
		t.Errorf("FromFiles = %+v", inv)
	}
	if _, err := FromFiles(context.Background(), []string{filepath.Join(dir, "nope")}); err == nil {
		t.Error("want error for a missing file")
	}
	if _, err := FromFiles(context.Background(), []string{dir}); err == nil {
		t.Error("want error for a directory")
	}
}

func TestFromDirCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644)
	if _, err := FromDir(ctx, dir); err == nil {
		t.Error("want an error from a cancelled context")
	}
}

func TestForArtifacts(t *testing.T) {
	fx := goFixture(t)
	dir := t.TempDir()
	copyFile(t, fx.bin, filepath.Join(dir, "hello"))
	copyFile(t, filepath.Join("testdata", "npm", "lock-v3.json"), filepath.Join(dir, "package-lock.json"))
	os.WriteFile(filepath.Join(dir, "README"), []byte("readme\n"), 0o644)

	inv, err := ForArtifacts(context.Background(), []string{dir}, WithModCache(fx.modCache))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Root != nil {
		t.Errorf("several artifacts have no single root: %+v", inv.Root)
	}
	counts := map[ComponentType]int{}
	for _, c := range inv.Components {
		counts[c.Type]++
	}
	// 3 files; applications: the Go main module and the npm project;
	// libraries: x/mod, local, stdlib + 6 npm packages.
	if counts[TypeFile] != 3 || counts[TypeApplication] != 2 || counts[TypeLibrary] != 9 {
		t.Errorf("counts = %v, want 3 files, 2 applications, 9 libraries", counts)
	}
	app := componentByName(inv, "example.com/hello")
	if app == nil || app.Hashes[SHA256] != fx.binSHA256 {
		t.Errorf("Go main module should carry the binary's digest: %+v", app)
	}
	// Real inventories validate against the official schemas too.
	for _, f := range Formats {
		doc, err := inv.Encode(f, EncodeOptions{Created: fixedTime})
		if err != nil {
			t.Errorf("encode %s: %v", f, err)
			continue
		}
		if f == SPDXJSON || f == CycloneDXJSON {
			validateJSON(t, f, doc)
		}
	}
}

func TestAttestProductsForARunnerStep(t *testing.T) {
	fx := goFixture(t)
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "dist"), 0o755)
	copyFile(t, fx.bin, filepath.Join(base, "dist", "hello"))
	os.WriteFile(filepath.Join(base, "dist", "README"), []byte("readme\n"), 0o644)
	products := link.Artifacts{}
	for _, p := range []string{"dist/hello", "dist/README"} {
		subs, err := SubjectsForFiles(context.Background(), filepath.Join(base, p))
		if err != nil {
			t.Fatal(err)
		}
		products[p] = link.DigestSet{SHA256: subs[0].Digest[SHA256]}
	}
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env, err := AttestProducts(context.Background(), base, products, SPDXJSON, k, EncodeOptions{Created: fixedTime}, WithModCache(fx.modCache))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(k.Public()); err != nil {
		t.Fatal(err)
	}
	st, err := statement.Parse(env.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 2 || st.Subject[0].Name != "dist/README" || st.Subject[1].Digest[SHA256] != fx.binSHA256 {
		t.Errorf("subjects = %+v, want the products as the link recorded them", st.Subject)
	}
	inv, err := ParsePredicate(st.PredicateType, st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	if c := componentByName(inv, "dist/hello"); c == nil || c.Type != TypeFile {
		t.Errorf("product file named relative to the base: %+v", inv.Components)
	}
	if c := componentByName(inv, "golang.org/x/mod"); c == nil || c.License != "BSD-3-Clause" {
		t.Errorf("the binary's modules are in the SBOM: %+v", c)
	}
	r := CheckProducts(Policy{RequireSBOM: true, DenyComponents: []string{"golang.org/x/mod"}}, products,
		[]Attestation{{Source: "build.sbom", Statement: st}})
	if len(r.SBOMs) != 1 || len(r.Violations) != 1 || r.Violations[0].Rule != RuleDenyComponent {
		t.Errorf("policy over the step's SBOM: %+v", r)
	}
	if _, err := AttestProducts(context.Background(), base, nil, SPDXJSON, k, EncodeOptions{}); err == nil {
		t.Error("a step without products has nothing to attest")
	}
}

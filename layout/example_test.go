package layout_test

import (
	"context"
	"fmt"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

func ExampleBuilder() {
	alice, _ := keys.Load("testdata/keys/alice.pub")
	bob, _ := keys.Load("testdata/keys/bob.pub")

	l, err := layout.NewBuilder(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)).
		Readme("app: built twice, packaged once").
		AddFunctionary("alice", alice).
		AddFunctionary("bob", bob).
		AddStep("build",
			layout.Functionaries("alice", "bob"),
			layout.Threshold(2),
			layout.Command("go", "build", "-o", "app", "./cmd/app"),
			layout.MaterialRules(`ALLOW "*.go"`, `DISALLOW "*"`),
			layout.ProductRules(`CREATE app`, `DISALLOW "*"`)).
		AddInspection("smoke-test",
			layout.Run("./app", "--version"),
			layout.MaterialRules(`MATCH app WITH PRODUCTS FROM build`, `DISALLOW "*"`)).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	s := l.Steps[0]
	fmt.Printf("step %s: %d of %d functionaries\n", s.Name, s.Threshold, len(s.PubKeys))
	for _, r := range s.ExpectedProducts {
		fmt.Println("  product rule:", r)
	}
	fmt.Println("expires", l.Expires.Format(layout.TimeFormat))
	// Output:
	// step build: 2 of 2 functionaries
	//   product rule: CREATE app
	//   product rule: DISALLOW *
	// expires 2027-01-01T00:00:00Z
}

func ExampleBuilder_Build_errors() {
	alice, _ := keys.Load("testdata/keys/alice.pub")
	_, err := layout.NewBuilder(time.Now().AddDate(0, 1, 0)).
		AddFunctionary("alice", alice).
		AddStep("build", layout.Functionaries("alice", "mallory"),
			layout.ProductRules(`CREATE "app`)).
		Build()
	fmt.Println(err)
	// Output:
	// step "build": products[0]: rule "CREATE \"app": unterminated " quote
	// step "build": unknown functionary "mallory" (add it with AddFunctionary first)
}

func ExampleLint() {
	alice, _ := keys.Load("testdata/keys/alice.pub")
	l, _ := layout.NewBuilder(time.Now().AddDate(1, 0, 0)).
		AddFunctionary("alice", alice).
		AddStep("package", layout.Functionaries("alice"), layout.Threshold(2),
			layout.MaterialRules(`MATCH app WITH PRODUCTS FROM biuld`, `DISALLOW "*"`),
			layout.ProductRules(`CREATE app.tar.gz`)).
		Build()
	for _, f := range layout.Lint(l, layout.LintOptions{}) {
		fmt.Println(f)
	}
	// Output:
	// error: steps[0] "package": threshold: threshold 2 is larger than the number of functionary keys (1); the step can never be satisfied [threshold]
	// error: steps[0] "package": expected_materials[0]: MATCH app WITH PRODUCTS FROM biuld: no step named "biuld", so the rule matches nothing [unknown-step]
	// warning: steps[0] "package": expected_products: rule list does not end in DISALLOW, so artifacts no rule mentions pass unchecked; end it with DISALLOW "*" [missing-disallow]
}

func ExampleParseSource() {
	src := []byte(`
expires: 2027-01-01
functionaries:
  alice: keys/alice.pub
steps:
  - name: build
    functionaries: [alice]
    threshold: 2
    products: [CREATE app, DISALLOW "*"]
`)
	s, err := layout.ParseSource("layout.yaml", src, layout.SourceOptions{Dir: "testdata"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range layout.Lint(s.Layout, layout.LintOptions{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}) {
		line, col := s.Position(f.Location)
		fmt.Printf("%s:%d:%d: %s: %s\n", s.File, line, col, f.Severity, f.Message)
	}
	// Output:
	// layout.yaml:8:16: error: threshold 2 is larger than the number of functionary keys (1); the step can never be satisfied
}

func ExampleVerifyEnvelope() {
	ctx := context.Background()
	owner1, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	owner2, _ := keys.Generate(keys.ECDSA, keys.GenerateOptions{})

	l, _ := layout.NewBuilder(time.Now().AddDate(0, 3, 0)).Build()
	payload, _ := layout.Payload(l)
	e, _ := envelope.New(envelope.Metablock, "", payload)
	_ = e.Sign(ctx, owner1) // each owner adds a signature in turn
	_, err := layout.VerifyEnvelope(e, []*keys.Key{owner1.Public(), owner2.Public()})
	fmt.Println("one of two signed:", err != nil)

	_ = e.Sign(ctx, owner2)
	_, err = layout.VerifyEnvelope(e, []*keys.Key{owner1.Public(), owner2.Public()})
	fmt.Println("both signed:", err == nil)
	// Output:
	// one of two signed: true
	// both signed: true
}

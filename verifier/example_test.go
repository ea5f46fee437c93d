package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

func ExampleVerify() {
	ctx := context.Background()
	owner, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	builder, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	sign := func(payload []byte, k *keys.Key) *envelope.Envelope {
		e, _ := envelope.New(envelope.Metablock, "", payload)
		_ = e.Sign(ctx, k)
		return e
	}

	// Policy: one step, "build", signed by the builder, which must create
	// foo.tar.gz and nothing else.
	l := &layout.Layout{Expires: time.Now().AddDate(1, 0, 0)}
	rules, _ := layout.ParseRules([][]string{{"CREATE", "foo.tar.gz"}, {"DISALLOW", "*"}})
	l.Steps = []layout.Step{{Name: "build", Threshold: 1, PubKeys: []string{l.AddKey(builder)}, ExpectedProducts: rules}}
	payload, _ := l.MarshalJSON()
	signedLayout := sign(payload, owner)

	// Evidence: the builder's link, which also reports a stray file.
	lk := &link.Link{Name: "build", Products: link.Artifacts{
		"foo.tar.gz": {"sha256": "52947cb78b91ad01fe81cd6aef42d1f6817e92b9e6936c1e5aabb7c98514f355"},
		"stray.sh":   {"sha256": "a7a1a2ec5a64b8a26d5a0e5b1e4d7bd6af8ad35b0cf6f8c2bdfc0fab62b6b0a8"},
	}}
	lp, _ := lk.MarshalJSON()
	links := &verifier.MemSource{Steps: map[string][]verifier.LinkFile{
		"build": {{Name: "build.link", Envelope: sign(lp, builder)}},
	}}

	res, err := verifier.Verify(ctx, signedLayout, verifier.Options{
		LayoutKeys: []*keys.Key{owner.Public()},
		Links:      links,
	})
	if err != nil {
		fmt.Println("cannot verify:", err)
		return
	}
	fmt.Println("passed:", res.Passed())
	var rf *verifier.RuleFailure
	if errors.As(res.Err(), &rf) {
		fmt.Println(rf.Item, rf.Kind, rf.Artifact, rf.Rule)
		fmt.Println(rf)
	}
	// Output:
	// passed: false
	// build products stray.sh DISALLOW *
	// products of step build: stray.sh was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; no earlier rule covers it (if it is expected, add a rule before the DISALLOW that consumes it)
}

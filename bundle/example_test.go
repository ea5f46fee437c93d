package bundle_test

import (
	"context"
	"fmt"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/keys"
)

// A functionary ships a link as a keyed Sigstore bundle; the verifier gets
// the DSSE envelope back with the key the layout names.
func ExampleVerifyEnvelope() {
	ctx := context.Background()
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		panic(err)
	}
	payload := []byte(`{"_type":"link","name":"build"}`)
	b, err := bundle.Create(ctx, k, "", payload)
	if err != nil {
		panic(err)
	}

	env, err := bundle.VerifyEnvelope(ctx, b, k.Public())
	if err != nil {
		panic(err)
	}
	fmt.Println(env.PayloadType)
	fmt.Println(string(env.Payload()))
	fmt.Println(env.Verify(k.Public()) == nil)
	// Output:
	// application/vnd.in-toto+json
	// {"_type":"link","name":"build"}
	// true
}

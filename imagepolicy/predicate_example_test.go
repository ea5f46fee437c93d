package imagepolicy_test

import (
	"errors"
	"fmt"

	"github.com/toto-dev/toto/imagepolicy"
)

// A predicate requirement's Rego module is compiled when the document is
// parsed, without the builtins that reach the network or the process's
// environment: a module calling http.send is refused, naming where.
func ExampleParse_predicate() {
	_, err := imagepolicy.Parse([]byte(`
rules:
  - images: ["registry.example/*"]
    require:
      predicate:
        keys: [build.pub]
        type: slsaprovenance1
        rego: |
          package toto
          allow if http.send({"method": "GET", "url": "https://attacker.example/"}).status_code == 200
`))
	fmt.Println(errors.Is(err, imagepolicy.ErrPolicy))
	fmt.Println(err)
	// Output:
	// true
	// image policy: rules[0].require.predicate.rego:2: rego_type_error: undefined function http.send
}

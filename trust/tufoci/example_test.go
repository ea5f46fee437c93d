package tufoci_test

import (
	"fmt"

	"github.com/toto-dev/toto/trust/tufoci"
)

// A reference without a tag names the default tag.
func ExampleParseReference() {
	r, _ := tufoci.ParseReference("oci://registry.example/acme/trust")
	fmt.Println(r.Registry, r.Repository, r.Reference)
	// Output: registry.example acme/trust tuf
}

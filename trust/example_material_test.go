package trust_test

import (
	"fmt"

	"github.com/toto-dev/toto/trust"
)

// A containers-policy.json keyPath is read, with --tuf-root, from the
// target named by its base name.
func ExampleKeyringTarget() {
	fmt.Println(trust.KeyringTarget("/etc/pki/containers/release.gpg"))
	// Output: toto/keyrings/release.gpg
}

// Targets under toto/notation/ name a set and a file of notation's
// configuration folder.
func ExampleSplitNotationTarget() {
	set, rel, _, err := trust.SplitNotationTarget("toto/notation/prod/truststore/x509/ca/acme/root.pem")
	fmt.Println(set, rel, err)
	_, _, _, err = trust.SplitNotationTarget("toto/notation/prod/truststore/x509/ca/../../escape")
	fmt.Println(err != nil)
	// Output:
	// prod truststore/x509/ca/acme/root.pem <nil>
	// true
}

func ExampleDCTRootTarget() {
	fmt.Println(trust.DCTRootTarget("docker.io/acme/app"))
	// Output: toto/dct/docker.io/acme/app/root.pem
}

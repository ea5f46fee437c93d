package imagepolicy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/toto-dev/toto/imagepolicy"
)

// A directory with a Portieris ClusterImagePolicy and a toto document for
// one namespace, evaluated as the admission webhook does. (These policies
// need no signature, so no registry is read.)
func ExampleSet_Evaluate() {
	dir, _ := os.MkdirTemp("", "policies")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "cluster.yaml"), []byte(`apiVersion: portieris.cloud.ibm.com/v1
kind: ClusterImagePolicy
metadata: {name: default}
spec:
  repositories:
    - name: "docker.io/*"
      policy: {}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "team.yaml"), []byte(`namespace: team
rules:
  - images: ["registry.example/team/*"]
    require: {sigstore: {keys: [team.pub]}}
`), 0o644)

	s, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := s.Evaluate(context.Background(), "web", "nginx:1.27")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Decision.Allowed(), res.Policy)

	// The team namespace has a policy of its own: the cluster's does not
	// apply there.
	res, _ = s.Evaluate(context.Background(), "team", "nginx:1.27")
	fmt.Println(res.Err())
	// Output:
	// true ClusterImagePolicy default (repositories[0] docker.io/*)
	// nginx:1.27 denied by the namespace team policies: nginx:1.27: a matching policy violated: no policy matches the image in the namespace team
}

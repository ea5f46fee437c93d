package admission

import (
	"github.com/toto-dev/toto/imagepolicy"
)

// PolicyLoader loads the policies at path (a file, or a folder of toto
// policy documents and Portieris ImagePolicy/ClusterImagePolicy
// resources) as an imagepolicy.Set, as `toto admission serve --policy`
// does. (Registry connections are pooled by go-containerregistry's
// default transport, 50 idle per registry.)
func PolicyLoader(path string, opts imagepolicy.SetOptions) Loader {
	return func() (Evaluator, error) {
		s, err := imagepolicy.LoadSet(path, opts)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

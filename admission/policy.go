package admission

import (
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/imagepolicy"
)

// PolicyLoader loads the policies at path (a file, or a folder of toto
// policy documents and Portieris ImagePolicy/ClusterImagePolicy
// resources) as an imagepolicy.Set, as `toto admission serve --policy`
// does.
//
// Every generation shares one registry client (a go-containerregistry
// Puller made from opts.Remote): each registry repository is pinged, and
// its token fetched, once rather than once per image verified. A failed
// ping is not kept.
func PolicyLoader(path string, opts imagepolicy.SetOptions) Loader {
	if p, err := remote.NewPuller(opts.Remote...); err == nil {
		opts.Remote = append(append([]remote.Option{}, opts.Remote...), remote.Reuse(p))
	}
	return func() (Evaluator, error) {
		s, err := imagepolicy.LoadSet(path, opts)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

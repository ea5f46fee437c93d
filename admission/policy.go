package admission

import (
	"context"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
)

// PolicyOptions say where the policy finds what it needs besides its
// documents.
type PolicyOptions struct {
	// SecretsDir holds signer keys referenced by policies.
	SecretsDir string
	// Remote options for registry access (transport, keychain).
	Remote []remote.Option
}

// PolicyLoader loads the image policy at path with package imagepolicy,
// as `toto admission serve --policy` does.
func PolicyLoader(path string, opts PolicyOptions) Loader {
	return func() (Evaluator, error) {
		p, err := imagepolicy.Load(path)
		if err != nil {
			return nil, err
		}
		return &documentEvaluator{p: p, path: path, remote: opts.Remote}, nil
	}
}

// documentEvaluator evaluates one imagepolicy document: the image is
// resolved to its digest, and the policy judges that digest.
type documentEvaluator struct {
	p      *imagepolicy.Policy
	path   string
	remote []remote.Option
}

func (e *documentEvaluator) Evaluate(ctx context.Context, _ string, ref string) (*Verdict, error) {
	t, err := image.Open(ctx, ref, image.Options{Remote: e.remote})
	if err != nil {
		return nil, err
	}
	d, err := e.p.Evaluate(ctx, ref, t)
	if err != nil {
		return nil, err
	}
	return &Verdict{Decision: d, Image: ref, Digest: t.Digest(), Pinned: t.String(), Mutate: true, Policy: e.path}, nil
}

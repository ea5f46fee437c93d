package dct

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/toto-dev/toto/image"
)

// Tags lists the tags the trust data of repository (REGISTRY/REPO) signs
// in targets/releases or targets, the roles docker pull reads, sorted.
func Tags(repository string, opts Options) ([]string, error) {
	repo, err := name.NewRepository(repository)
	if err != nil {
		return nil, fmt.Errorf("%w: repository %q: %v", ErrUsage, repository, err)
	}
	if opts.TrustDir == "" {
		return nil, fmt.Errorf("%w: a trust directory is required", ErrUsage)
	}
	gun := GUN(repo)
	pin, err := pinning(gun, opts)
	if err != nil {
		return nil, err
	}
	rt, err := transport(gun, opts)
	if err != nil {
		return nil, err
	}
	r, err := openRepository(opts.TrustDir, gun, opts.Server, rt, pin)
	if err != nil {
		return nil, err
	}
	targets, err := r.ListTargets(data.RoleName(ReleasesRole), data.CanonicalTargetsRole)
	if err != nil {
		var nrepo client.ErrRepositoryNotExist
		var ninit client.ErrRepoNotInitialized
		if errors.As(err, &nrepo) || errors.As(err, &ninit) {
			return nil, fmt.Errorf("%w: %s: no trust data for the repository: %v", ErrNotSigned, gun, err)
		}
		if e := authError(rt); e != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrTrustData, gun, e)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrTrustData, gun, err)
	}
	seen := map[string]bool{}
	var tags []string
	for _, t := range targets {
		if !seen[t.Name] {
			seen[t.Name] = true
			tags = append(tags, t.Name)
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// Migration is what Migrate did with one tag.
type Migration struct {
	Tag string `json:"tag"`
	// Result is the tag's verification (nil when its name is not a tag).
	Result *Result `json:"result,omitempty"`
	// Err is why the tag was not re-signed: it did not verify, or
	// signing failed.
	Err error `json:"-"`
	// Signed: the new signature was written.
	Signed bool `json:"signed"`
}

// Signer writes the new signature of an image verified with DCT, e.g.
// image.Sign with a key (a Sigstore bundle attached as a referrer).
type Signer func(ctx context.Context, t *image.Target, res *Result) error

// Migrate verifies every tag of repository that its DCT trust data signs
// (Tags) exactly as Verify does, and calls sign for each one that
// verifies, with the image opened at the signed digest: what is re-signed
// is what DCT vouched for, never what the tag names later. A nil sign
// only verifies (a dry run). Tags that fail are reported with their error
// and not signed; the error is for the repository as a whole (no trust
// data, usage).
func Migrate(ctx context.Context, repository string, opts Options, sign Signer) ([]Migration, error) {
	tags, err := Tags(repository, opts)
	if err != nil {
		return nil, err
	}
	repo, _ := name.NewRepository(repository)
	var out []Migration
	for _, tag := range tags {
		m := Migration{Tag: tag}
		if _, err := name.NewTag(repo.Name()+":"+tag, name.StrictValidation); err != nil {
			m.Err = fmt.Errorf("%w: %q is not an image tag: %v", ErrNotSigned, tag, err)
			out = append(out, m)
			continue
		}
		res, t, err := verify(ctx, repo.Name()+":"+tag, opts)
		m.Result, m.Err = res, err
		if err == nil && sign != nil {
			if err := sign(ctx, t, res); err != nil {
				m.Err = fmt.Errorf("sign %s: %w", res.Ref(), err)
			} else {
				m.Signed = true
			}
		}
		out = append(out, m)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

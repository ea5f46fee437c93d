package containerspolicy

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// matches reports whether a signature claiming signed (its
// docker-reference) is accepted for img under m, as containers/image's
// policy_reference_match.go decides; the error says why not.
func matches(m IdentityMatch, img Image, signed string) error {
	sig, err := reference.ParseNormalizedNamed(signed)
	if err != nil {
		return fmt.Errorf("%w: signed identity %q is not a docker reference: %w", ErrIdentityMismatch, signed, err)
	}
	mismatch := func(want string) error {
		return fmt.Errorf("%w: signature for identity %q is not accepted (%s wants %s)", ErrIdentityMismatch, signed, m.Type(), want)
	}
	needDocker := func() (reference.Named, error) {
		if img.Docker == nil {
			return nil, fmt.Errorf("%w: %s needs a Docker reference identity, and image %s has none (use exactReference or exactRepository)", ErrIdentityMismatch, m.Type(), img)
		}
		return img.Docker, nil
	}
	switch m := m.(type) {
	case MatchExact:
		intended, err := needDocker()
		if err != nil {
			return err
		}
		if reference.IsNameOnly(intended) || reference.IsNameOnly(sig) || sig.String() != intended.String() {
			return mismatch(intended.String())
		}
		return nil
	case MatchRepoDigestOrExact:
		intended, err := needDocker()
		if err != nil {
			return err
		}
		if !repoDigestOrExact(intended, sig) {
			return mismatch(repoDigestOrExactWant(intended))
		}
		return nil
	case MatchRepository:
		intended, err := needDocker()
		if err != nil {
			return err
		}
		if sig.Name() != intended.Name() {
			return mismatch("repository " + intended.Name())
		}
		return nil
	case ExactReference:
		intended, err := reference.ParseNormalizedNamed(m.DockerReference)
		if err != nil {
			return mismatch(m.DockerReference)
		}
		if reference.IsNameOnly(intended) || reference.IsNameOnly(sig) || sig.String() != intended.String() {
			return mismatch(intended.String())
		}
		return nil
	case ExactRepository:
		intended, err := reference.ParseNormalizedNamed(m.DockerRepository)
		if err != nil {
			return mismatch(m.DockerRepository)
		}
		if sig.Name() != intended.Name() {
			return mismatch("repository " + intended.Name())
		}
		return nil
	case RemapIdentity:
		intended, err := needDocker()
		if err != nil {
			return err
		}
		remapped, err := remap(m, intended)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrIdentityMismatch, err)
		}
		if !repoDigestOrExact(remapped, sig) {
			return mismatch(repoDigestOrExactWant(remapped))
		}
		return nil
	}
	return fmt.Errorf("%w: unknown identity match %T", ErrIdentityMismatch, m)
}

// repoDigestOrExact: a tagged image needs exactly its reference signed; an
// image named by digest needs any tag or digest of its repository.
func repoDigestOrExact(intended, sig reference.Named) bool {
	if reference.IsNameOnly(sig) {
		return false
	}
	switch intended.(type) {
	case reference.NamedTagged:
		return sig.String() == intended.String()
	case reference.Canonical:
		return sig.Name() == intended.Name()
	}
	return false
}

func repoDigestOrExactWant(intended reference.Named) string {
	if _, ok := intended.(reference.NamedTagged); ok {
		return intended.String()
	}
	return "a tag or digest of repository " + intended.Name()
}

// remap replaces m.Prefix by m.SignedPrefix in ref when ref's name is the
// prefix or below it (at a "/" boundary); otherwise ref is unchanged.
func remap(m RemapIdentity, ref reference.Named) (reference.Named, error) {
	name := ref.Name()
	if !(name == m.Prefix || (strings.HasPrefix(name, m.Prefix) && len(name) > len(m.Prefix) && name[len(m.Prefix)] == '/')) {
		return ref, nil
	}
	s := strings.Replace(ref.String(), m.Prefix, m.SignedPrefix, 1)
	out, err := reference.ParseNamed(s)
	if err != nil {
		return nil, fmt.Errorf("rewriting reference %q to %q: %w", ref.String(), s, err)
	}
	return out, nil
}

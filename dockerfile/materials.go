package dockerfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/link"
)

// ErrDenied is wrapped by a *DeniedError.
var ErrDenied = errors.New("base image denied")

// DeniedError lists the base images the policy does not allow.
type DeniedError struct {
	Denied []Base
}

func (e *DeniedError) Error() string {
	var s []string
	for _, b := range e.Denied {
		where := b.From.Image
		if b.From.Line > 0 {
			where = fmt.Sprintf("%s:%d %s", b.file, b.From.Line, where)
		}
		s = append(s, fmt.Sprintf("%s (%s)", where, b.Target))
	}
	return fmt.Sprintf("%v: %s", ErrDenied, strings.Join(s, ", "))
}

func (e *DeniedError) Unwrap() error { return ErrDenied }

// IsDockerfile says whether a file name is a Dockerfile by the usual
// conventions: Dockerfile, Containerfile, NAME.Dockerfile, Dockerfile.NAME
// (and the same for Containerfile, any case).
func IsDockerfile(name string) bool {
	b := strings.ToLower(path.Base(filepath.ToSlash(name)))
	for _, n := range []string{"dockerfile", "containerfile"} {
		if b == n || strings.HasPrefix(b, n+".") || strings.HasSuffix(b, "."+n) {
			return true
		}
	}
	return false
}

// MaterialOptions tune VerifyMaterials.
type MaterialOptions struct {
	// Dir is where material names are files (the runner's base path).
	Dir string
	// Images are more image references to verify and record (toto run
	// --material-image).
	Images []string
	// Parse tunes how the Dockerfiles are read (build args, platform).
	Parse Options
	// Verify holds the policy and how images are opened.
	Verify VerifyOptions
	// Digest hashes a Dockerfile as the runner hashed the materials (its
	// algorithms, line-ending normalisation), to check that the bytes
	// read are the bytes recorded; nil is plain sha256.
	Digest func(data []byte) (link.DigestSet, error)
}

// VerifyMaterials checks, before a step runs, the images it builds on: the
// base images of every Dockerfile among materials and opts.Images. Each is
// resolved to a digest and evaluated by the policy; when all are allowed
// they are added to materials (image.Target.ArtifactName →
// ArtifactDigest) and returned. A Dockerfile is read from disk and must
// still hash to the sha256 recorded for it, so the FROMs checked are those
// of the bytes recorded. A denied image is a *DeniedError and nothing is
// added; a bad Dockerfile or an unresolvable image is an *Error.
func VerifyMaterials(ctx context.Context, materials link.Artifacts, opts MaterialOptions) ([]Base, error) {
	var names []string
	for n := range materials {
		if IsDockerfile(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var bases []Base
	for _, n := range names {
		file := filepath.Join(opts.Dir, filepath.FromSlash(n))
		data, err := boundedio.ReadFile(file, MaxSize)
		if err != nil {
			return nil, &Error{File: n, Err: err}
		}
		if err := sameAsRecorded(data, materials[n], opts.Digest); err != nil {
			return nil, &Error{File: n, Err: err}
		}
		f, err := Parse(n, data, opts.Parse)
		if err != nil {
			return nil, err
		}
		bs, err := Resolve(ctx, f, opts.Verify)
		if err != nil {
			return nil, err
		}
		for i := range bs {
			bs[i].file = n
		}
		bases = append(bases, bs...)
	}
	for _, ref := range opts.Images {
		b, err := resolve(ctx, nil, From{Original: ref, Image: ref, Kind: KindImage}, opts.Verify)
		if err != nil {
			return nil, &Error{File: "--material-image", Err: err}
		}
		bases = append(bases, b)
	}
	var denied []Base
	add := link.Artifacts{}
	for _, b := range bases {
		if !b.Allowed() {
			denied = append(denied, b)
			continue
		}
		name, d := b.Target.ArtifactName(), link.DigestSet(b.Target.ArtifactDigest())
		if old, ok := add[name]; ok && old["sha256"] != d["sha256"] {
			return nil, &Error{File: b.file, Line: b.From.Line, Err: fmt.Errorf("two images of %s (sha256:%s and sha256:%s) cannot both be recorded under one material name", name, old["sha256"], d["sha256"])}
		}
		if _, ok := materials[name]; ok {
			return nil, &Error{File: b.file, Line: b.From.Line, Err: fmt.Errorf("a material is already named %s", name)}
		}
		add[name] = d
	}
	if len(denied) > 0 {
		return bases, &DeniedError{Denied: denied}
	}
	for k, v := range add {
		materials[k] = v
	}
	return bases, nil
}

// sameAsRecorded checks data against the digest set recorded for it: every
// algorithm both have must agree, and at least one must be shared.
func sameAsRecorded(data []byte, recorded link.DigestSet, digest func([]byte) (link.DigestSet, error)) error {
	var got link.DigestSet
	if digest != nil {
		var err error
		if got, err = digest(data); err != nil {
			return err
		}
	} else {
		h := sha256.Sum256(data)
		got = link.DigestSet{"sha256": hex.EncodeToString(h[:])}
	}
	shared := 0
	for alg, want := range recorded {
		g, ok := got[alg]
		if !ok {
			continue
		}
		if g != want {
			return errors.New("changed since it was recorded as a material")
		}
		shared++
	}
	if shared == 0 {
		return errors.New("cannot be checked against its recorded digests (no algorithm in common)")
	}
	return nil
}

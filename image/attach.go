package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrNotAttached is matched by an *AttachError: a referrer was written
// but could not be made to stay listed where readers look for it.
var ErrNotAttached = errors.New("attachment not recorded")

// AttachError says that a pushed referrer is not listed in the referrers
// index (the sha256-HEX fallback tag of a registry without the referrers
// API, or an OCI layout's index.json) and toto could not make it so. The
// referrer's manifest and blobs were written; a reader that lists
// referrers does not see them.
type AttachError struct {
	// Where is the index: "registry.example/app:sha256-HEX" or
	// "DIR/index.json".
	Where string
	// Referrer is the referrer manifest's digest.
	Referrer v1.Hash
	// Attempts is how many times the index was read (and rewritten when
	// the entry was missing).
	Attempts int
	// Err is the last cause, when there was one beyond "not listed".
	Err error
}

func (e *AttachError) Error() string {
	msg := fmt.Sprintf("%s: referrer %s is not listed in %s", ErrNotAttached, e.Referrer, e.Where)
	if e.Attempts > 0 {
		msg += fmt.Sprintf(" after %d attempts (another writer keeps replacing the index, or the registry does not keep the update)", e.Attempts)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *AttachError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotAttached) hold.
func (e *AttachError) Is(target error) bool { return target == ErrNotAttached }

// indexRetry bounds ensureListed: how many rounds, and the least time an
// entry must stay listed before it counts as kept (grown to twice the
// slowest read-modify-write seen, so a writer whose read preceded ours has
// written before we look again).
var indexRetry = struct {
	attempts int
	settle   time.Duration
}{attempts: 12, settle: 250 * time.Millisecond}

// ensureListed makes sure the referrer desc of subject is in the
// referrers index readers use, and stays there.
//
// A registry without the referrers API keeps an OCI index under the tag
// sha256-HEX (the referrers tag schema). Writers update it by
// read-modify-write with no conditional request (distribution 2.8 has
// none), so two concurrent writers each read the old index and the later
// PUT drops the other's entry: 8 parallel attaches kept 2. Here the index
// is read again; a missing entry is added back; the entry must be seen in
// two reads a settle time apart (with jitter, so writers that collided do
// not collide again). It fails with an *AttachError after
// indexRetry.attempts rounds.
//
// A registry with the referrers API indexes the manifest itself: no tag
// is written, and the listing is checked once.
func (rs *remoteStore) ensureListed(ctx context.Context, subject v1.Hash, desc v1.Descriptor) error {
	tagName := strings.Replace(subject.String(), ":", "-", 1)
	tag := rs.repo.Tag(tagName)
	where := tag.String()
	settle := indexRetry.settle
	seen := 0
	var last error
	for attempt := 1; attempt <= indexRetry.attempts; attempt++ {
		start := time.Now()
		idx, exists, err := rs.fallbackIndex(ctx, tagName)
		if err != nil {
			return &AttachError{Where: where, Referrer: desc.Digest, Err: err}
		}
		switch {
		case listed(idx, desc.Digest):
			seen++
			if seen >= 2 {
				return nil
			}
		case !exists && attempt == 1:
			// ggcr writes the tag only for a registry without the
			// referrers API; no tag right after the push means the
			// registry has the API (or dropped the write).
			if ok, err := rs.listedByAPI(ctx, subject, desc.Digest); ok {
				return nil
			} else if err != nil {
				last = err
			}
			fallthrough
		default:
			seen = 0
			idx.Manifests = append(idx.Manifests, desc)
			slices.SortFunc(idx.Manifests, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
			raw, err := json.Marshal(idx)
			if err != nil {
				return err
			}
			po, err := rs.withPush(ctx)
			if err != nil {
				return &AttachError{Where: where, Referrer: desc.Digest, Err: err}
			}
			if err := remote.Put(tag, rawManifest{raw: raw, mt: types.OCIImageIndex}, po...); err != nil {
				last = fmt.Errorf("update %s: %w", where, err)
			}
			if w := 2 * time.Since(start); w > settle {
				settle = w
			}
		}
		if attempt == indexRetry.attempts {
			break
		}
		// Jitter: writers that collided must not retry in step.
		if err := sleep(ctx, settle+rand.N(settle)); err != nil {
			return &AttachError{Where: where, Referrer: desc.Digest, Attempts: attempt, Err: err}
		}
	}
	return &AttachError{Where: where, Referrer: desc.Digest, Attempts: indexRetry.attempts, Err: last}
}

// fallbackIndex reads the referrers tag index; a missing tag is an empty
// index and exists == false.
func (rs *remoteStore) fallbackIndex(ctx context.Context, tag string) (*v1.IndexManifest, bool, error) {
	raw, _, err := rs.tagged(ctx, tag)
	if errors.Is(err, errNotFound) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", tag, err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, true, fmt.Errorf("read %s: %w", tag, err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != types.OCIImageIndex {
		return nil, true, fmt.Errorf("%s is not an OCI image index (schemaVersion %d, mediaType %q)", tag, idx.SchemaVersion, idx.MediaType)
	}
	return &idx, true, nil
}

// listedByAPI asks the referrers API (only the API: the tag fallback
// off) whether it lists d. An error means no API, or no answer.
func (rs *remoteStore) listedByAPI(ctx context.Context, subject, d v1.Hash) (bool, error) {
	opts := append(append([]remote.Option{}, rs.opts...), remote.WithContext(ctx), remote.WithReferrersTagFallback(false))
	idx, err := remote.Referrers(rs.repo.Digest(subject.String()), opts...)
	if err != nil {
		return false, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return false, err
	}
	return listed(im, d), nil
}

func listed(idx *v1.IndexManifest, d v1.Hash) bool {
	return idx != nil && slices.ContainsFunc(idx.Manifests, func(m v1.Descriptor) bool { return m.Digest == d })
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

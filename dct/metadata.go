package dct

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/docker/go/canonical/json"
	"github.com/theupdateframework/notary/tuf/data"
)

// MaxMetadataSize bounds one metadata file read from a trust directory
// (notary's own download limit for targets and delegations is 100 MiB; a
// tag list of a repository stays far below this).
const MaxMetadataSize = 16 << 20

// Metadata is one parsed trust data file of the DCT dialect.
type Metadata struct {
	// Role is the role the file is for: root, targets, snapshot,
	// timestamp, or a delegation (targets/releases).
	Role string
	// One of these is set, as Role says.
	Root      *data.SignedRoot
	Targets   *data.SignedTargets
	Snapshot  *data.SignedSnapshot
	Timestamp *data.SignedTimestamp
}

// ParseMetadata parses raw as the metadata of role, checking its
// structure as notary does (the capitalised `_type`, required fields,
// hashes and lengths, a delegation's paths) but not its signatures: notary
// verifies those against the root when it loads a repository. Errors wrap
// ErrTrustData.
func ParseMetadata(role string, raw []byte) (*Metadata, error) {
	if len(raw) > MaxMetadataSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, more than %d", ErrTrustData, role, len(raw), MaxMetadataSize)
	}
	var s data.Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: not JSON trust data: %v", ErrTrustData, role, err)
	}
	if s.Signed == nil {
		return nil, fmt.Errorf("%w: %s: no \"signed\" object", ErrTrustData, role)
	}
	m := &Metadata{Role: role}
	var err error
	switch rn := data.RoleName(role); {
	case rn == data.CanonicalRootRole:
		m.Root, err = data.RootFromSigned(&s)
	case rn == data.CanonicalSnapshotRole:
		m.Snapshot, err = data.SnapshotFromSigned(&s)
	case rn == data.CanonicalTimestampRole:
		m.Timestamp, err = data.TimestampFromSigned(&s)
	case rn == data.CanonicalTargetsRole || data.IsDelegation(rn):
		m.Targets, err = data.TargetsFromSigned(&s, rn)
	default:
		return nil, fmt.Errorf("%w: %q is not a role name", ErrTrustData, role)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTrustData, role, err)
	}
	return m, nil
}

// ReadMetadataDir parses every metadata file of a trust directory's
// tuf/<gun>/metadata folder (ROLE.json, targets/NAME.json), bounded by
// MaxMetadataSize each. A missing folder is ErrNotSigned: there is no
// trust data for the repository.
func ReadMetadataDir(dir string) (map[string]*Metadata, error) {
	if _, err := os.Stat(filepath.Join(dir, "root.json")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no trust data in %s", ErrNotSigned, dir)
		}
		return nil, fmt.Errorf("%w: %v", ErrTrustData, err)
	}
	out := map[string]*Metadata{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		role := strings.TrimSuffix(filepath.ToSlash(rel), ".json")
		if role != path.Clean(role) {
			return fmt.Errorf("%w: %s: not a role name", ErrTrustData, rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%w: %s is not a regular file", ErrTrustData, p)
		}
		if info.Size() > MaxMetadataSize {
			return fmt.Errorf("%w: %s: %d bytes, more than %d", ErrTrustData, p, info.Size(), MaxMetadataSize)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m, err := ParseMetadata(role, raw)
		if err != nil {
			return fmt.Errorf("%w (%s)", err, p)
		}
		out[role] = m
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrTrustData) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrTrustData, err)
	}
	return out, nil
}

// CheckMetadataDir reads dir with ReadMetadataDir and drops the result:
// offline verification first checks the files notary will read.
func CheckMetadataDir(dir string) error {
	_, err := ReadMetadataDir(dir)
	return err
}

// notSigned explains why the tag has no target: a delegation that lists
// the tag outside its delegated paths gets ErrOutsidePaths, anything else
// ErrNotSigned.
func notSigned(trustDir, gun, tag string, cause error) error {
	md, err := ReadMetadataDir(MetadataDir(trustDir, gun))
	if err == nil {
		for role, m := range md {
			if m.Targets == nil || role == TargetsRole {
				continue
			}
			if _, ok := m.Targets.Signed.Targets[tag]; !ok {
				continue
			}
			parent := md[path.Dir(role)]
			if parent == nil || parent.Targets == nil {
				continue
			}
			for _, r := range parent.Targets.Signed.Delegations.Roles {
				if r.Name.String() == role && !r.CheckPaths(tag) {
					return fmt.Errorf("%w: %s lists %s:%s, but its delegation in %s covers only the paths %q", ErrOutsidePaths, role, gun, tag, path.Dir(role), r.Paths)
				}
			}
		}
	}
	return fmt.Errorf("%w: %s:%s: %v", ErrNotSigned, gun, tag, cause)
}

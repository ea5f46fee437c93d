package repository

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/toto-dev/toto/keys"
)

// ErrOutsidePaths: a target added to a delegated role whose paths do not
// cover its name (consumers would not trust it there).
var ErrOutsidePaths = errors.New("target outside the delegated role's paths")

// roleName is what a delegated role may be called: one file name,
// distinct from the top-level roles.
var roleName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// DelegateOptions set up (or change) a delegated targets role.
type DelegateOptions struct {
	// Role names the delegated role (its metadata is ROLE.json).
	Role string
	// Paths are the target path patterns the role is trusted for (TUF's
	// shell-style patterns, e.g. "toto/keys/*"; "*" does not cross "/").
	Paths []string
	// Keys and Threshold (default 1) are the role's keys; changing them
	// revokes the old keys: a new version of the role must then be
	// signed by the new ones before publishing.
	Keys      []*keys.Key
	Threshold int
	// Terminating stops consumers from looking for a matching target in
	// later delegations once this role's paths match.
	Terminating bool
}

// Delegate stages a targets version delegating opts.Paths to opts.Role
// with its keys (replacing an earlier delegation of that name), and the
// role's own metadata: empty at first, else a new unsigned version for
// the role's keys to sign. The targets holders sign the targets version.
func (r *Repository) Delegate(opts DelegateOptions) error {
	if !roleName.MatchString(opts.Role) || opts.Role == metadata.ROOT || opts.Role == metadata.TARGETS || opts.Role == metadata.SNAPSHOT || opts.Role == metadata.TIMESTAMP {
		return fmt.Errorf("delegated role name %q: want lower-case letters, digits, '.', '_' or '-', not a top-level role", opts.Role)
	}
	if len(opts.Paths) == 0 {
		return fmt.Errorf("delegated role %s: no paths", opts.Role)
	}
	for _, p := range opts.Paths {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return fmt.Errorf("delegated role %s: path pattern %q: %v", opts.Role, p, err)
		}
	}
	th := opts.Threshold
	if th == 0 {
		th = 1
	}
	if len(opts.Keys) == 0 || th < 1 || th > len(opts.Keys) {
		return fmt.Errorf("delegated role %s: threshold %d with %d keys", opts.Role, th, len(opts.Keys))
	}
	t, err := r.openTargets()
	if err != nil {
		return err
	}
	if t.Signed.Delegations == nil {
		t.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{}}
	}
	d := t.Signed.Delegations
	dr := metadata.DelegatedRole{Name: opts.Role, Threshold: th, Paths: slices.Clone(opts.Paths), Terminating: opts.Terminating}
	for _, k := range opts.Keys {
		tk, err := tufKey(k)
		if err != nil {
			return err
		}
		id, _ := tk.ID()
		if slices.Contains(dr.KeyIDs, id) {
			return fmt.Errorf("delegated role %s: key %s given twice", opts.Role, id)
		}
		d.Keys[id] = tk
		dr.KeyIDs = append(dr.KeyIDs, id)
	}
	if i := slices.IndexFunc(d.Roles, func(x metadata.DelegatedRole) bool { return x.Name == opts.Role }); i >= 0 {
		d.Roles[i] = dr
	} else {
		d.Roles = append(d.Roles, dr)
	}
	pruneKeys(d)
	if err := write(r.staged("targets.json"), t); err != nil {
		return err
	}
	var m *metadata.Metadata[metadata.TargetsType]
	if _, err := os.Stat(r.staged(opts.Role + ".json")); errors.Is(err, os.ErrNotExist) {
		m = metadata.Targets(r.expires(metadata.TARGETS))
		// A role delegated again after removal continues its
		// published versions: clients refuse to go back.
		if pub, err := readTargets(r.public(opts.Role + ".json")); err == nil {
			m.Signed.Version = pub.Signed.Version + 1
		}
	} else if m, err = r.openTargetsRole(opts.Role); err != nil {
		return err
	}
	return write(r.staged(opts.Role+".json"), m)
}

// Undelegate stages a targets version without the delegated role; its
// targets are no longer trusted once published.
func (r *Repository) Undelegate(role string) error {
	t, err := r.openTargets()
	if err != nil {
		return err
	}
	d := t.Signed.Delegations
	if d == nil || !slices.ContainsFunc(d.Roles, func(x metadata.DelegatedRole) bool { return x.Name == role }) {
		return fmt.Errorf("delegated role %s: not delegated", role)
	}
	d.Roles = slices.DeleteFunc(d.Roles, func(x metadata.DelegatedRole) bool { return x.Name == role })
	pruneKeys(d)
	if len(d.Roles) == 0 {
		t.Signed.Delegations = nil
	}
	if err := write(r.staged("targets.json"), t); err != nil {
		return err
	}
	_ = os.Remove(r.staged(role + ".json"))
	return nil
}

// pruneKeys drops delegation keys no role lists any more.
func pruneKeys(d *metadata.Delegations) {
	for id := range d.Keys {
		if !slices.ContainsFunc(d.Roles, func(x metadata.DelegatedRole) bool { return slices.Contains(x.KeyIDs, id) }) {
			delete(d.Keys, id)
		}
	}
}

// delegation is the staged top-level delegation of role.
func (r *Repository) delegation(role string) (*metadata.DelegatedRole, error) {
	t, err := readTargets(r.staged("targets.json"))
	if err != nil {
		return nil, err
	}
	if t.Signed.Delegations != nil {
		for i := range t.Signed.Delegations.Roles {
			if t.Signed.Delegations.Roles[i].Name == role {
				return &t.Signed.Delegations.Roles[i], nil
			}
		}
	}
	return nil, fmt.Errorf("role %q: not a delegated role of targets.json (toto trust delegate)", role)
}

func (r *Repository) checkDelegated(role string) error {
	_, err := r.delegation(role)
	return err
}

// checkDelegatedPath refuses name in a delegated role whose paths do not
// cover it, with go-tuf's own matching.
func (r *Repository) checkDelegatedPath(role, name string) error {
	if role == metadata.TARGETS {
		return nil
	}
	dr, err := r.delegation(role)
	if err != nil {
		return err
	}
	ok, err := dr.IsDelegatedPath(name)
	if err != nil {
		return fmt.Errorf("delegated role %s: %w", role, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s is not under %v, the paths of %s", ErrOutsidePaths, name, dr.Paths, role)
	}
	return nil
}

// targetElsewhere says whether another staged role lists name (their
// contents share staged/targets/).
func (r *Repository) targetElsewhere(role, name string) bool {
	roles := []string{metadata.TARGETS}
	if t, err := readTargets(r.staged("targets.json")); err == nil && t.Signed.Delegations != nil {
		for _, dr := range t.Signed.Delegations.Roles {
			roles = append(roles, dr.Name)
		}
	}
	for _, o := range roles {
		if o == role {
			continue
		}
		if t, err := readTargets(r.staged(o + ".json")); err == nil {
			if _, ok := t.Signed.Targets[name]; ok {
				return true
			}
		}
	}
	return false
}

// publishDelegated checks every role top delegates (its staged version if
// newer than the published one, else the published one) against the
// delegation's keys and threshold — so a role whose keys were changed
// must be re-signed by the new ones — and returns each role's version
// for the snapshot and the files of the roles that changed.
func (r *Repository) publishDelegated(top *metadata.Metadata[metadata.TargetsType]) (map[string]int64, []pending, error) {
	versions := map[string]int64{}
	var files []pending
	if top.Signed.Delegations == nil {
		return versions, nil, nil
	}
	for _, dr := range top.Signed.Delegations.Roles {
		m, err := readTargets(r.staged(dr.Name + ".json"))
		if err != nil {
			return nil, nil, fmt.Errorf("delegated role %s: %w", dr.Name, err)
		}
		changed := true
		if pub, err := readTargets(r.public(dr.Name + ".json")); err == nil && pub.Signed.Version >= m.Signed.Version {
			m, changed = pub, false
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
		if err := top.VerifyDelegate(dr.Name, m); err != nil {
			return nil, nil, fmt.Errorf("delegated role %s version %d: %w: %w", dr.Name, m.Signed.Version, ErrThreshold, err)
		}
		versions[dr.Name] = m.Signed.Version
		if !changed {
			continue
		}
		for _, name := range sortedKeys(m.Signed.Targets) {
			tf := m.Signed.Targets[name]
			if ok, err := dr.IsDelegatedPath(name); err != nil || !ok {
				return nil, nil, fmt.Errorf("delegated role %s: %w: %s", dr.Name, ErrOutsidePaths, name)
			}
			data, err := os.ReadFile(r.staged("targets", filepath.FromSlash(name)))
			if err != nil {
				return nil, nil, fmt.Errorf("target %s: %w", name, err)
			}
			if err := tf.VerifyLengthHashes(data); err != nil {
				return nil, nil, fmt.Errorf("target %s changed since it was added: %w", name, err)
			}
			dir, base := path.Split(name)
			files = append(files, pending{"targets/" + dir + hex.EncodeToString(tf.Hashes["sha256"]) + "." + base, data})
		}
		b, err := m.ToBytes(true)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, pending{fmt.Sprintf("%d.%s.json", m.Signed.Version, dr.Name), b}, pending{dr.Name + ".json", b})
	}
	return versions, files, nil
}

// sameMeta says whether a snapshot's meta lists exactly these versions.
func sameMeta(have, want map[string]*metadata.MetaFiles) bool {
	if len(have) != len(want) {
		return false
	}
	for k, w := range want {
		h, ok := have[k]
		if !ok || h.Version != w.Version {
			return false
		}
	}
	return true
}

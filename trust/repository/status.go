package repository

import (
	"fmt"
	"slices"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// RoleStatus is one role's state.
type RoleStatus struct {
	Role string `json:"role"`
	// Published is the served version (0: never published); Staged the
	// staged version of root or targets (equal to Published when nothing
	// is pending).
	Published int64 `json:"published"`
	Staged    int64 `json:"staged"`
	// Expires is the published version's expiry (zero, and absent from
	// JSON, when never published).
	Expires time.Time `json:"expires,omitzero"`
	// Threshold and KeyIDs are the role's in the root in force after
	// publishing; Signed are the keyids that signed the staged version
	// (root: by keys of either the new or the previous root).
	Threshold int      `json:"threshold"`
	KeyIDs    []string `json:"keyids"`
	Signed    []string `json:"signed"`
	// Pending reports a staged version not yet published.
	Pending bool `json:"pending"`
	// expired: the published version has lapsed (Warnings says so).
	expired bool
}

// Status is a repository's state and what needs doing.
type Status struct {
	Roles []RoleStatus `json:"roles"`
	// Warnings: roles expired or expiring within WarnBefore, staged
	// versions lacking signatures.
	Warnings []string `json:"warnings"`
}

// Expired reports whether a published role's metadata has lapsed: every
// consumer's verification fails until it is re-published.
func (s *Status) Expired() bool {
	return slices.ContainsFunc(s.Roles, func(rs RoleStatus) bool { return rs.expired })
}

// Status reads the repository; it changes nothing.
func (r *Repository) Status() (*Status, error) {
	staged, err := readRoot(r.staged("root.json"))
	if err != nil {
		return nil, err
	}
	cur, err := r.currentRoot()
	if err != nil {
		return nil, err
	}
	pubRoot, _ := readRoot(r.public("root.json"))
	stT, err := readTargets(r.staged("targets.json"))
	if err != nil {
		return nil, err
	}
	pubT, _ := readTargets(r.public("targets.json"))
	pubS, _ := readSnapshot(r.public("snapshot.json"))
	pubTS, _ := readTimestamp(r.public("timestamp.json"))
	now := r.now()
	// Empty lists rather than nil ones: the JSON has arrays, not null.
	st := &Status{Roles: []RoleStatus{}, Warnings: []string{}}
	add := func(rs RoleStatus) {
		if rs.Signed == nil {
			rs.Signed = []string{}
		}
		warnBefore := WarnBefore[rs.Role]
		if role, ok := cur.Signed.Roles[rs.Role]; ok {
			rs.Threshold, rs.KeyIDs = role.Threshold, slices.Clone(role.KeyIDs)
		} else {
			warnBefore = WarnBefore[metadata.TARGETS] // a delegated targets role
		}
		if rs.KeyIDs == nil {
			rs.KeyIDs = []string{}
		}
		switch {
		case rs.Published == 0:
			st.Warnings = append(st.Warnings, fmt.Sprintf("%s: never published", rs.Role))
		case !rs.Expires.After(now):
			rs.expired = true
			st.Warnings = append(st.Warnings, fmt.Sprintf("%s: version %d EXPIRED at %s", rs.Role, rs.Published, rs.Expires.Format(time.RFC3339)))
		case rs.Expires.Before(now.Add(warnBefore)):
			st.Warnings = append(st.Warnings, fmt.Sprintf("%s: version %d expires in %s (%s): re-sign and publish", rs.Role, rs.Published, rs.Expires.Sub(now).Round(time.Hour), rs.Expires.Format(time.RFC3339)))
		}
		if rs.Pending && len(rs.Signed) < rs.Threshold {
			st.Warnings = append(st.Warnings, fmt.Sprintf("%s: staged version %d has %d of %d signatures", rs.Role, rs.Staged, len(rs.Signed), rs.Threshold))
		}
		st.Roles = append(st.Roles, rs)
	}

	rs := RoleStatus{Role: metadata.ROOT, Staged: staged.Signed.Version}
	if pubRoot != nil {
		rs.Published, rs.Expires = pubRoot.Signed.Version, pubRoot.Signed.Expires
	}
	rs.Pending = rs.Staged > rs.Published
	rs.Signed = validSigs(staged, staged.Signed.Roles[metadata.ROOT], staged)
	if pubRoot != nil && rs.Pending {
		old := validSigs(pubRoot, pubRoot.Signed.Roles[metadata.ROOT], staged)
		if len(old) < pubRoot.Signed.Roles[metadata.ROOT].Threshold {
			st.Warnings = append(st.Warnings, fmt.Sprintf("root: staged version %d has %d of %d signatures by the keys of version %d", staged.Signed.Version, len(old), pubRoot.Signed.Roles[metadata.ROOT].Threshold, pubRoot.Signed.Version))
		}
	}
	add(rs)

	rs = RoleStatus{Role: metadata.TARGETS, Staged: stT.Signed.Version}
	if pubT != nil {
		rs.Published, rs.Expires = pubT.Signed.Version, pubT.Signed.Expires
	}
	rs.Pending = rs.Staged > rs.Published
	rs.Signed = validSigs(cur, cur.Signed.Roles[metadata.TARGETS], stT)
	add(rs)

	if d := stT.Signed.Delegations; d != nil {
		for _, dr := range d.Roles {
			m, err := readTargets(r.staged(dr.Name + ".json"))
			if err != nil {
				return nil, fmt.Errorf("delegated role %s: %w", dr.Name, err)
			}
			rs := RoleStatus{Role: dr.Name, Staged: m.Signed.Version, Threshold: dr.Threshold, KeyIDs: slices.Clone(dr.KeyIDs)}
			if pub, err := readTargets(r.public(dr.Name + ".json")); err == nil {
				rs.Published, rs.Expires = pub.Signed.Version, pub.Signed.Expires
			}
			rs.Pending = rs.Staged > rs.Published
			for _, id := range dr.KeyIDs {
				if k, ok := d.Keys[id]; ok && verifyOne(k, id, m) {
					rs.Signed = append(rs.Signed, id)
				}
			}
			add(rs)
		}
	}

	rs = RoleStatus{Role: metadata.SNAPSHOT}
	if pubS != nil {
		rs.Published, rs.Staged, rs.Expires = pubS.Signed.Version, pubS.Signed.Version, pubS.Signed.Expires
	}
	add(rs)
	rs = RoleStatus{Role: metadata.TIMESTAMP}
	if pubTS != nil {
		rs.Published, rs.Staged, rs.Expires = pubTS.Signed.Version, pubTS.Signed.Version, pubTS.Signed.Expires
	}
	add(rs)
	return st, nil
}

// validSigs are the keyids of role (as listed in root) whose signatures
// over m verify.
func validSigs[T metadata.Roles](root *metadata.Metadata[metadata.RootType], role *metadata.Role, m *metadata.Metadata[T]) []string {
	var out []string
	for _, id := range role.KeyIDs {
		k, ok := root.Signed.Keys[id]
		if !ok {
			continue
		}
		if verifyOne(k, id, m) {
			out = append(out, id)
		}
	}
	return out
}

// verifyOne checks id's signature over m with a one-key threshold-1 root.
func verifyOne[T metadata.Roles](k *metadata.Key, id string, m *metadata.Metadata[T]) bool {
	probe := metadata.Root()
	probe.Signed.Keys = map[string]*metadata.Key{id: k}
	probe.Signed.Roles["probe"] = &metadata.Role{KeyIDs: []string{id}, Threshold: 1}
	return probe.VerifyDelegate("probe", m) == nil
}

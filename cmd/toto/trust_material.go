package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/trust"
)

// tufFlagNames are the flags naming a TUF repository (tufFlags).
var tufFlagNames = []string{"tuf-root", "tuf-url", "tuf-cache", "tuf-offline"}

// tufPrefix marks a notation trust policy or trust store taken from TUF:
// tuf:SET is the set of targets under toto/notation/SET/.
const tufPrefix = "tuf:"

// material fetches the trust material of the TUF repository the flags
// name through trust.TUF (the one path), without a layout; nil when the
// flags name none.
func (t *tufFlags) material(cmd *cobra.Command) (*trust.Root, error) {
	src, err := t.source(trust.TargetLayout, true)
	if err != nil || src == nil {
		return nil, err
	}
	r, err := src.Root(cmd.Context())
	if err != nil {
		return nil, fmt.Errorf("TUF %s: %w", t.url, err)
	}
	return r, nil
}

// notationFromTUF resolves --notation-policy tuf:SET and --trust-store
// tuf:SET: the set's verified targets are written into a fresh folder as
// a notation configuration folder, which notation-go's own trust store
// reader then reads, and the flags are pointed at it. The returned
// cleanup removes the folder. TUF flags without a tuf: value are a usage
// error: they would be ignored.
func notationFromTUF(cmd *cobra.Command, f *notationVerifyFlags, t *tufFlags) (func(), error) {
	nothing := func() {}
	policySet, fromPolicy := strings.CutPrefix(f.policyPath, tufPrefix)
	storeSet, fromStore := strings.CutPrefix(f.storeDir, tufPrefix)
	if !fromPolicy && !fromStore {
		return nothing, flagsNotFor(cmd, "with --notation-policy unless it or --trust-store is tuf:SET", tufFlagNames...)
	}
	if t.root == "" {
		return nothing, errors.New("--notation-policy/--trust-store tuf:SET need --tuf-root and --tuf-url")
	}
	r, err := t.material(cmd)
	if err != nil {
		return nothing, err
	}
	tmp, err := os.MkdirTemp("", "toto-notation-tuf-")
	if err != nil {
		return nothing, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	dirs := map[string]string{}
	open := func(set string) (string, *trust.NotationConfig, error) {
		c := r.Notation[set]
		if c == nil {
			return "", nil, fmt.Errorf("TUF %s: %w: no targets under %s%s/", t.url, trust.ErrNoTarget, trust.TargetNotationDir, set)
		}
		if d, ok := dirs[set]; ok {
			return d, c, nil
		}
		d := filepath.Join(tmp, fmt.Sprint(len(dirs)))
		if err := os.Mkdir(d, 0o700); err != nil {
			return "", nil, err
		}
		if err := c.WriteDir(d); err != nil {
			return "", nil, fmt.Errorf("TUF %s: notation set %s: %w", t.url, set, err)
		}
		dirs[set] = d
		return d, c, nil
	}
	if fromPolicy {
		d, c, err := open(policySet)
		if err != nil {
			cleanup()
			return nothing, err
		}
		if c.TrustPolicy == nil {
			cleanup()
			return nothing, fmt.Errorf("TUF %s: %w: %s%s/trustpolicy.json", t.url, trust.ErrNoTarget, trust.TargetNotationDir, policySet)
		}
		f.policyPath = filepath.Join(d, "trustpolicy.json")
	}
	if fromStore {
		d, c, err := open(storeSet)
		if err != nil {
			cleanup()
			return nothing, err
		}
		if len(c.Certificates) == 0 {
			cleanup()
			return nothing, fmt.Errorf("TUF %s: %w: no certificates under %s%s/truststore/", t.url, trust.ErrNoTarget, trust.TargetNotationDir, storeSet)
		}
		f.storeDir = d
	}
	return cleanup, nil
}

// keyringsFromTUF makes --containers-policy read every keyPath from the
// TUF repository the flags name: a keyPath's base name is the target
// under toto/keyrings/ (trust.KeyringTarget), and a keyPath without one
// fails its requirement (never falling back to the local file, which TUF
// is there to replace).
func keyringsFromTUF(cmd *cobra.Command, f *policyFlags, t *tufFlags) error {
	r, err := t.material(cmd)
	if err != nil || r == nil {
		return err
	}
	url := t.url
	f.readKey = func(p string) ([]byte, error) {
		name := trust.KeyringTarget(p)
		if b, ok := r.Keyrings[strings.TrimPrefix(name, trust.TargetKeyringsDir)]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("keyPath %s: TUF %s: %w: %s", p, url, trust.ErrNoTarget, name)
	}
	return nil
}

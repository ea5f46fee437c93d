package report

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// htmlInfo is what only the HTML page shows: the headline and each
// failure's conclusion in plain words.
type htmlInfo struct {
	Version      string
	LayoutDigest string
	Names        map[string]string
	// Artifacts are the chain's final products (the last step's), with
	// their full digests; MoreArtifacts counts those not listed.
	Artifacts     []artifactRow
	MoreArtifacts int
	// Conclusions[i] is the conclusion of Report.Failures[i].
	Conclusions []string
	// ItemConclusions[name][i] is the conclusion of that item's
	// Failures[i].
	ItemConclusions map[string][]string
	// Max caps the lists (Options.MaxList).
	Max int
}

type artifactRow struct {
	Path    string
	Digests []string // "alg:hex", sorted
}

func newHTMLInfo(r *verifier.Result, opts Options) *htmlInfo {
	max := opts.max()
	h := &htmlInfo{Version: opts.Version, LayoutDigest: opts.LayoutDigest, Names: opts.Names, ItemConclusions: map[string][]string{}, Max: max}
	if r.Summary != nil {
		paths := r.Summary.Products.Paths()
		for i, p := range paths {
			if i == max {
				h.MoreArtifacts = len(paths) - max
				break
			}
			h.Artifacts = append(h.Artifacts, artifactRow{Path: p, Digests: digestList(r.Summary.Products[p])})
		}
	}
	for _, f := range r.Failures {
		h.Conclusions = append(h.Conclusions, conclusion(r, f))
	}
	for _, it := range append(append([]*verifier.ItemResult{}, r.Steps...), r.Inspections...) {
		var cs []string
		for i, f := range it.Failures {
			if i == max {
				cs = append(cs, "")
				break
			}
			cs = append(cs, conclusion(r, f))
		}
		h.ItemConclusions[it.Name] = cs
	}
	return h
}

func digestList(d link.DigestSet) []string {
	out := make([]string, 0, len(d))
	for alg, hex := range d {
		out = append(out, alg+":"+hex)
	}
	sort.Strings(out)
	return out
}

// conclusion says in plain words what a failure means for the supply
// chain; the failure's message (the rule mechanics) goes below it.
func conclusion(r *verifier.Result, err error) string {
	switch e := failureOf(err).(type) {
	case *verifier.SublayoutError:
		if e.Err != nil {
			return fmt.Sprintf("The sublayout of step %s could not be verified.", e.Step)
		}
		return fmt.Sprintf("What step %s did is not what its sublayout allows.", e.Step)
	case *verifier.RuleFailure:
		return ruleConclusion(r, e)
	case *verifier.LayoutSignatureError:
		if errors.Is(e.Err, envelope.ErrNoSignature) {
			if len(e.SignedBy) == 0 {
				return "The layout is not signed at all, so nothing it says can be trusted."
			}
			names := make([]string, len(e.SignedBy))
			for i, id := range e.SignedBy {
				names[i] = keys.ShortID(id)
			}
			return fmt.Sprintf("The layout is signed by %s, not by the trusted layout key %s, so nothing it says can be trusted.", strings.Join(names, ", "), keys.ShortID(e.KeyID))
		}
		return fmt.Sprintf("The layout is not signed by the trusted layout key %s, so nothing it says can be trusted.", keys.ShortID(e.KeyID))
	case *verifier.ExpiredError:
		return fmt.Sprintf("The layout expired on %s; its owners must renew and re-sign it.", e.Expires.UTC().Format(layout.TimeFormat))
	case *verifier.LayoutError:
		return "The layout cannot be used as a policy: " + e.Reason + "."
	case *verifier.ThresholdError:
		switch {
		case len(e.Signers) == 0 && len(e.Rejected) == 0:
			return fmt.Sprintf("There is no evidence that step %s ran: no link for it was found.", e.Step)
		case len(e.Signers) == 0:
			return fmt.Sprintf("There is no trustworthy evidence that step %s ran: every link for it was rejected.", e.Step)
		}
		return fmt.Sprintf("Step %s needs %d functionaries to vouch for it; only %d did.", e.Step, e.Threshold, len(e.Signers))
	case *verifier.DisagreementError:
		return fmt.Sprintf("The functionaries of step %s disagree about what it did.", e.Step)
	case *verifier.InspectionError:
		if e.Err != nil {
			return fmt.Sprintf("Inspection %s could not run.", e.Inspection)
		}
		return fmt.Sprintf("Inspection %s failed: its command exited with status %d.", e.Inspection, e.ExitCode)
	case *verifier.AttestationError:
		if e.Source != "" {
			return fmt.Sprintf("Attestation %s does not hold for the final product.", e.Source)
		}
		return "The attestations do not satisfy the policy."
	}
	return err.Error()
}

// ruleConclusion: the closest MATCH rule decides the words — the artifact
// differs from what the FROM step recorded, or that step never had it;
// otherwise the artifact is one the layout does not expect, or a required
// one is missing.
func ruleConclusion(r *verifier.Result, f *verifier.RuleFailure) string {
	here := string(f.Kind)
	var match *verifier.NearMiss
	for i := range f.NearMisses {
		m := &f.NearMisses[i]
		if m.Rule.Type != layout.Match {
			continue
		}
		if strings.HasPrefix(m.Reason, "hashes differ") {
			match = m
			break
		}
		if match == nil {
			match = m
		}
	}
	if match != nil {
		mr := match.Rule
		verb := "produced"
		if mr.DestType == layout.Materials {
			verb = "used"
		}
		if strings.HasPrefix(match.Reason, "hashes differ") {
			have := artifactOf(r, f.Item, f.Kind == verifier.MaterialsQueue, f.Artifact)
			dp := destPath(mr, f.Artifact)
			want := artifactOf(r, mr.DestStep, mr.DestType == layout.Materials, dp)
			if alg, a, b := differing(have, want); alg != "" {
				return fmt.Sprintf("%s is not what step %s %s: %s %s here, %s in %s's link.", f.Artifact, mr.DestStep, verb, alg, short(a), short(b), mr.DestStep)
			}
			return fmt.Sprintf("%s is not what step %s %s.", f.Artifact, mr.DestStep, verb)
		}
		if strings.HasPrefix(match.Reason, "the ") {
			return fmt.Sprintf("%s is not among what step %s %s, yet %s %s it.", f.Artifact, mr.DestStep, verb, itemName(f), usesWord(f))
		}
		return fmt.Sprintf("%s cannot be traced to step %s: %s.", f.Artifact, mr.DestStep, match.Reason)
	}
	switch f.Rule.Type {
	case layout.Require:
		return fmt.Sprintf("%s lacks %s, which the layout requires among its %s.", capital(itemName(f)), f.Artifact, here)
	case layout.Disallow:
		return fmt.Sprintf("%s %s %s, which the layout does not expect.", capital(itemName(f)), usesWord(f), f.Artifact)
	}
	return f.Error()
}

func itemName(f *verifier.RuleFailure) string {
	if f.Inspection {
		return "inspection " + f.Item
	}
	return "step " + f.Item
}

func usesWord(f *verifier.RuleFailure) string {
	if f.Kind == verifier.MaterialsQueue {
		return "used"
	}
	return "produced"
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// destPath maps an artifact path through a MATCH rule's IN prefixes.
func destPath(r layout.Rule, p string) string {
	rel := p
	if r.SourcePrefix != "" {
		rel = strings.TrimPrefix(strings.TrimPrefix(p, strings.TrimSuffix(r.SourcePrefix, "/")), "/")
	}
	if r.DestPrefix != "" {
		return path.Join(r.DestPrefix, rel)
	}
	return rel
}

// artifactOf is the digest set of an artifact in an item's accepted link.
func artifactOf(r *verifier.Result, item string, materials bool, p string) link.DigestSet {
	it := r.Step(item)
	if it == nil || it.Link == nil {
		return nil
	}
	if materials {
		return it.Link.Materials[p]
	}
	return it.Link.Products[p]
}

// differing names the first algorithm (sha256 first) both sets have with
// different values.
func differing(a, b link.DigestSet) (alg, x, y string) {
	var algs []string
	for k := range a {
		if _, ok := b[k]; ok {
			algs = append(algs, k)
		}
	}
	sort.Slice(algs, func(i, j int) bool {
		pi, pj := algs[i] == "sha256", algs[j] == "sha256"
		if pi != pj {
			return pi
		}
		return algs[i] < algs[j]
	})
	for _, k := range algs {
		if a[k] != b[k] {
			return k, a[k], b[k]
		}
	}
	return "", "", ""
}

func short(hex string) string {
	if len(hex) > 4 {
		return hex[:4] + "…"
	}
	return hex
}

// keyName shows a keyid by name when one is known: "alice (1a2b3c4d)".
func (h *htmlInfo) keyName(id string) string {
	if h != nil {
		if n, ok := h.Names[id]; ok {
			return n + " (" + keys.ShortID(id) + ")"
		}
	}
	return keys.ShortID(id)
}

func (h *htmlInfo) max() int {
	if h.Max <= 0 {
		return 20
	}
	return h.Max
}

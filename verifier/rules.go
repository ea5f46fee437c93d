package verifier

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/toto-dev/toto/internal/fnmatch"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// compiledRule is an artifact rule with its pattern compiled once.
type compiledRule struct {
	index int
	rule  layout.Rule
	glob  *fnmatch.Pattern
	// srcPrefix is a MATCH rule's source prefix with the trailing "/" the
	// Python reference adds (os.path.join(prefix, "")); "" for none.
	srcPrefix string
}

func compileRules(rs []layout.Rule) []compiledRule {
	out := make([]compiledRule, len(rs))
	for i, r := range rs {
		c := compiledRule{index: i, rule: r, glob: fnmatch.Compile(r.Pattern)}
		if r.Type == layout.Match && r.SourcePrefix != "" {
			c.srcPrefix = withSlash(r.SourcePrefix)
		}
		out[i] = c
	}
	return out
}

func withSlash(p string) string {
	if strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

// destPath is where a MATCH rule looks for the artifact at rel (the path
// with the source prefix stripped) among the destination artifacts:
// Python's os.path.join(dest_prefix, rel), which adds a "/" unless the
// prefix ends with one, and returns rel alone when rel is absolute.
func destPath(destPrefix, rel string) string {
	if destPrefix == "" || strings.HasPrefix(rel, "/") {
		return rel
	}
	return withSlash(destPrefix) + rel
}

// artifactQueue is the queue of section 4.3.3: the paths of one item's
// materials or products, from which rules consume. Paths are kept sorted so
// that literal patterns are found by binary search and results come out
// in a stable order.
type artifactQueue struct {
	paths []string
	// consumer is the index of the rule that consumed each path, or -1
	// while it is queued.
	consumer []int32
	left     int
}

func newQueue(a link.Artifacts) *artifactQueue {
	q := &artifactQueue{paths: a.Paths(), left: len(a)}
	q.consumer = make([]int32, len(q.paths))
	for i := range q.consumer {
		q.consumer[i] = -1
	}
	return q
}

func (q *artifactQueue) find(p string) int {
	i, ok := slices.BinarySearch(q.paths, p)
	if !ok {
		return -1
	}
	return i
}

func (q *artifactQueue) queued(p string) bool {
	i := q.find(p)
	return i >= 0 && q.consumer[i] < 0
}

// selectRule returns the indices of queued artifacts the rule's pattern
// (after its source prefix, for MATCH) selects, in path order. A literal
// pattern is one lookup; any other pattern scans the queue once.
//
// An artifact whose path continues with "/" after the source prefix
// ("in//x" for IN in) is never selected: the Python reference rebuilds the
// source path with os.path.join, which makes it absolute ("/x"), and then
// fails with a KeyError or, worse, matches another artifact.
func (q *artifactQueue) selectRule(r *compiledRule) []int {
	if lit, ok := r.glob.Literal(); ok {
		if r.srcPrefix != "" && strings.HasPrefix(lit, "/") {
			return nil
		}
		if i := q.find(r.srcPrefix + lit); i >= 0 && q.consumer[i] < 0 {
			return []int{i}
		}
		return nil
	}
	var out []int
	all := r.glob.MatchesAll()
	for i, p := range q.paths {
		if q.consumer[i] >= 0 {
			continue
		}
		if r.srcPrefix != "" {
			if !strings.HasPrefix(p, r.srcPrefix) || strings.HasPrefix(p[len(r.srcPrefix):], "/") {
				continue
			}
			p = p[len(r.srcPrefix):]
		}
		if all || r.glob.Match(p) {
			out = append(out, i)
		}
	}
	return out
}

// covers reports whether the rule's pattern selects path p (ignoring the
// queue), returning p with the source prefix stripped.
func (r *compiledRule) covers(p string) (string, bool) {
	if r.srcPrefix != "" {
		if !strings.HasPrefix(p, r.srcPrefix) || strings.HasPrefix(p[len(r.srcPrefix):], "/") {
			return "", false
		}
		p = p[len(r.srcPrefix):]
	}
	return p, r.glob.Match(p)
}

// ruleEnv is what rules of one item see: the item's own link and the
// links of every step and inspection by name.
type ruleEnv struct {
	item       string
	inspection bool
	own        *link.Link
	links      map[string]*link.Link
	// names are all step and inspection names of the layout, to tell "no
	// such step" from "step has no link".
	names map[string]bool
}

// applyRules runs one queue's rules, the way verify_item_rules does in the
// Python reference: rules in order, each consuming from the queue; DISALLOW
// fails on anything it selects, REQUIRE fails if its path is not queued.
// Unlike the reference it does not stop at the first failure.
func applyRules(env *ruleEnv, kind ArtifactKind, rules []compiledRule) *RuleSetResult {
	src := env.own.Materials
	if kind == ProductsQueue {
		src = env.own.Products
	}
	q := newQueue(src)
	res := &RuleSetResult{Kind: kind, Artifacts: len(q.paths)}
	for ri := range rules {
		r := &rules[ri]
		rr := &RuleResult{Index: r.index, Rule: r.rule}
		var consume []int
		switch r.rule.Type {
		case layout.Require:
			// A literal path, not a pattern (as in both references).
			if !q.queued(r.rule.Pattern) {
				rr.Failures = append(rr.Failures, env.requireFailure(q, kind, rules, r))
			}
		default:
			sel := q.selectRule(r)
			rr.Matched = len(sel)
			switch r.rule.Type {
			case layout.Allow:
				consume = sel
			case layout.Disallow:
				for _, i := range sel {
					rr.Failures = append(rr.Failures, env.disallowFailure(q.paths[i], kind, rules, r))
				}
			case layout.Create, layout.Delete, layout.Modify:
				for _, i := range sel {
					if ok, _ := env.generic(r.rule.Type, q.paths[i]); ok {
						consume = append(consume, i)
					}
				}
			case layout.Match:
				dest := env.matchDest(r)
				if dest == nil {
					rr.DestMissing = true
					break
				}
				for _, i := range sel {
					p := q.paths[i]
					d, ok := dest[destPath(r.rule.DestPrefix, p[len(r.srcPrefix):])]
					if ok && d.Equal(src[p]) {
						consume = append(consume, i)
					}
				}
			}
		}
		for _, i := range consume {
			q.consumer[i] = int32(r.index)
		}
		q.left -= len(consume)
		rr.Consumed = make([]string, len(consume))
		for k, i := range consume {
			rr.Consumed[k] = q.paths[i]
		}
		rr.QueueAfter = q.left
		res.Rules = append(res.Rules, rr)
	}
	res.Unconsumed = q.left
	return res
}

// generic decides CREATE, DELETE and MODIFY for a selected path, and says
// why not when it does not consume.
func (env *ruleEnv) generic(t layout.RuleType, p string) (bool, string) {
	m, inM := env.own.Materials[p]
	pr, inP := env.own.Products[p]
	switch t {
	case layout.Create:
		if inP && !inM {
			return true, ""
		}
		if !inP {
			return false, "CREATE only consumes products, and it is not a product"
		}
		return false, "it is also a material, so it was not created here"
	case layout.Delete:
		if inM && !inP {
			return true, ""
		}
		if !inM {
			return false, "DELETE only consumes materials, and it is not a material"
		}
		return false, "it is also a product, so it was not deleted here"
	case layout.Modify:
		if !inM || !inP {
			return false, "MODIFY only consumes artifacts that are both materials and products"
		}
		if m.Equal(pr) {
			return false, "it is unchanged (material and product have the same hashes)"
		}
		return true, ""
	}
	return false, ""
}

func (env *ruleEnv) matchDest(r *compiledRule) link.Artifacts {
	l := env.links[r.rule.DestStep]
	if l == nil {
		return nil
	}
	if r.rule.DestType == layout.Materials {
		if l.Materials == nil {
			return link.Artifacts{}
		}
		return l.Materials
	}
	if l.Products == nil {
		return link.Artifacts{}
	}
	return l.Products
}

// nearMisses lists the rules before `before` whose pattern selected p but
// that did not consume it, with the reason.
func (env *ruleEnv) nearMisses(p string, kind ArtifactKind, rules []compiledRule, before int) []NearMiss {
	var out []NearMiss
	src := env.own.Materials
	if kind == ProductsQueue {
		src = env.own.Products
	}
	for j := 0; j < before; j++ {
		r := &rules[j]
		var (
			reason     string
			want, have link.DigestSet
		)
		switch r.rule.Type {
		case layout.Create, layout.Delete, layout.Modify:
			if !r.glob.Match(p) {
				continue
			}
			_, reason = env.generic(r.rule.Type, p)
		case layout.Match:
			rel, ok := r.covers(p)
			if !ok {
				continue
			}
			reason, want = env.matchMiss(r, rel, src[p])
			if want != nil {
				have = src[p]
			}
		default:
			continue
		}
		if reason != "" {
			out = append(out, NearMiss{RuleIndex: r.index, Rule: r.rule, Reason: reason, Expected: want, Actual: have})
		}
	}
	return out
}

// matchMiss says why MATCH rule r did not consume an artifact with digests
// have; when the hashes differ, want is the digest set in the FROM step's
// link.
func (env *ruleEnv) matchMiss(r *compiledRule, rel string, have link.DigestSet) (reason string, want link.DigestSet) {
	from := fmt.Sprintf("%s of %s", strings.ToLower(r.rule.DestType), r.rule.DestStep)
	if env.links[r.rule.DestStep] == nil {
		if !env.names[r.rule.DestStep] {
			return fmt.Sprintf("there is no step or inspection %q in the layout", r.rule.DestStep), nil
		}
		return fmt.Sprintf("%s has no verified link", r.rule.DestStep), nil
	}
	dp := destPath(r.rule.DestPrefix, rel)
	want, ok := env.matchDest(r)[dp]
	if !ok {
		return fmt.Sprintf("the %s have no %s", from, dp), nil
	}
	return "hashes differ: " + digestDiff(have, want, "here", "in the "+from), want
}

// digestDiff describes how two digest sets differ, naming one algorithm.
func digestDiff(a, b link.DigestSet, aName, bName string) string {
	algs := make([]string, 0, len(a))
	for alg := range a {
		if _, ok := b[alg]; ok {
			algs = append(algs, alg)
		}
	}
	sort.Strings(algs)
	for _, pref := range []string{"sha256", "sha512"} {
		if slices.Contains(algs, pref) && a[pref] != b[pref] {
			return fmt.Sprintf("%s %s %s, %s %s", pref, shortDigest(a[pref]), aName, shortDigest(b[pref]), bName)
		}
	}
	for _, alg := range algs {
		if a[alg] != b[alg] {
			return fmt.Sprintf("%s %s %s, %s %s", alg, shortDigest(a[alg]), aName, shortDigest(b[alg]), bName)
		}
	}
	return fmt.Sprintf("different hash algorithms (%s %s, %s %s)", algList(a), aName, algList(b), bName)
}

func algList(d link.DigestSet) string {
	var algs []string
	for alg := range d {
		algs = append(algs, alg)
	}
	sort.Strings(algs)
	if len(algs) == 0 {
		return "none"
	}
	return strings.Join(algs, "+")
}

func shortDigest(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// missRank orders near misses for "closest rule": a MATCH whose hashes
// differ says the most, a rule of another kind the least.
func missRank(m NearMiss) int {
	switch {
	case m.Rule.Type == layout.Match && strings.HasPrefix(m.Reason, "hashes differ"):
		return 0
	case m.Rule.Type == layout.Match && strings.HasPrefix(m.Reason, "the "):
		return 1
	case m.Rule.Type == layout.Match:
		return 2
	}
	return 3
}

func (env *ruleEnv) disallowFailure(p string, kind ArtifactKind, rules []compiledRule, r *compiledRule) *RuleFailure {
	f := &RuleFailure{Item: env.item, Inspection: env.inspection, Kind: kind, RuleIndex: r.index, Rule: r.rule, Artifact: p}
	f.NearMisses = env.nearMisses(p, kind, rules, r.index)
	var b strings.Builder
	fmt.Fprintf(&b, "%s was DISALLOWed by rule %d (%s); nothing earlier consumed it", p, r.index+1, r.rule)
	if len(f.NearMisses) == 0 {
		b.WriteString("; no earlier rule covers it (if it is expected, add a rule before the DISALLOW that consumes it)")
	} else {
		best := f.NearMisses[0]
		for _, m := range f.NearMisses[1:] {
			if missRank(m) < missRank(best) {
				best = m
			}
		}
		fmt.Fprintf(&b, "; closest rule: %s — %s", best.Rule, best.Reason)
		if n := len(f.NearMisses) - 1; n > 0 {
			fmt.Fprintf(&b, " (%d more near miss(es))", n)
		}
	}
	f.Reason = b.String()
	return f
}

func (env *ruleEnv) requireFailure(q *artifactQueue, kind ArtifactKind, rules []compiledRule, r *compiledRule) *RuleFailure {
	p := r.rule.Pattern
	f := &RuleFailure{Item: env.item, Inspection: env.inspection, Kind: kind, RuleIndex: r.index, Rule: r.rule, Artifact: p}
	if i := q.find(p); i >= 0 {
		c := &rules[q.consumer[i]]
		f.Reason = fmt.Sprintf("%s is REQUIREd by rule %d but was already consumed by rule %d (%s); move the REQUIRE before it", p, r.index+1, c.index+1, c.rule)
	} else {
		f.Reason = fmt.Sprintf("%s is REQUIREd by rule %d but is not among the %s", p, r.index+1, kind)
	}
	return f
}

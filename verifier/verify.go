package verifier

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// Verify verifies the supply chain described by the signed layout in
// layoutEnv against the evidence from opts.Links.
//
// The error result is for input that cannot be verified at all: no layout
// keys or link source, an envelope that does not hold a well-formed
// layout, a parameter without a value, a cancelled context. A supply chain
// that fails verification is not an error: see Result.Passed and
// Result.Failures.
func Verify(ctx context.Context, layoutEnv *envelope.Envelope, opts Options) (*Result, error) {
	if len(opts.LayoutKeys) == 0 {
		return nil, ErrNoLayoutKeys
	}
	if opts.Links == nil {
		return nil, ErrNoLinkSource
	}
	v := &verification{opts: &opts, now: opts.now()}
	lv, err := layout.Verify(layoutEnv, opts.LayoutKeys, v.now)
	if err != nil {
		return nil, err
	}
	l := lv.Layout
	if reason := checkLayout(l); reason != "" {
		return nil, &LayoutError{Layout: "root layout", Reason: reason}
	}
	// The policy signed into the layout applies to every caller, not only
	// to the CLI: the checks it asks for come first.
	checks, err := layoutChecks(l)
	if err != nil {
		return nil, err
	}
	opts.AttestationChecks = append(checks, opts.AttestationChecks...)
	if l, err = l.Substitute(opts.Params); err != nil {
		return nil, err
	}
	res := v.verifyLayout(ctx, layoutEnv, lv, l, opts.Links, "", nil, true)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v.checkAttestations(ctx, res)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// checkLayout finds what makes a layout unusable as policy, as the Python
// reference's layout validation does.
func checkLayout(l *layout.Layout) string {
	seen := map[string]bool{}
	for _, s := range l.Steps {
		if seen[s.Name] {
			return fmt.Sprintf("two steps or inspections are named %q; names must be unique", s.Name)
		}
		seen[s.Name] = true
		if s.Threshold < 1 {
			return fmt.Sprintf("step %q: threshold %d; it must be at least 1", s.Name, s.Threshold)
		}
	}
	for _, in := range l.Inspections {
		if seen[in.Name] {
			return fmt.Sprintf("two steps or inspections are named %q; names must be unique", in.Name)
		}
		seen[in.Name] = true
	}
	return ""
}

type verification struct {
	opts *Options
	now  time.Time
}

// functionary is a key authorised for a step, under the keyid the layout
// lists it with.
type functionary struct {
	id  string
	key *keys.Key
}

// authorised resolves a step's pubkeys to keys of the layout. A keyid that
// is not a key of the layout under that exact id is also looked up in the
// other keyid scheme (with or without keyid_hash_algorithms).
func authorised(l *layout.Layout, s *layout.Step) (fs []functionary, unknown []string) {
	ids := make([]string, 0, len(l.Keys))
	for id := range l.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	seen := map[string]bool{}
	for _, id := range s.PubKeys {
		if seen[id] {
			continue
		}
		seen[id] = true
		k := l.Keys[id]
		if k == nil {
			for _, other := range ids {
				if l.Keys[other].HasID(id) {
					k = l.Keys[other]
					break
				}
			}
		}
		if k == nil {
			unknown = append(unknown, id)
			continue
		}
		fs = append(fs, functionary{id: id, key: k})
	}
	return fs, unknown
}

// stepEvidence is what was accepted for a step, before rules.
type stepEvidence struct {
	item      *ItemResult
	step      *layout.Step
	funcs     []functionary
	accepted  []*LinkCheck
	layouts   map[*LinkCheck]*envelope.Envelope
	layoutsBy map[*LinkCheck]functionary
}

// verifyLayout verifies one layout (the root or a sublayout). trusted says
// whether every enclosing layout verified so far; inspections run only
// when it holds and nothing failed before them.
func (v *verification) verifyLayout(ctx context.Context, env *envelope.Envelope, lv *layout.Verification, l *layout.Layout, src LinkSource, name string, ancestors [][32]byte, trusted bool) *Result {
	res := &Result{Name: name, Layout: l, Now: v.now}
	what := "root layout"
	if name != "" {
		what = fmt.Sprintf("sublayout of step %s", name)
	}

	// 1. Every layout key signed the layout, and 2. it has not expired
	// (the references fail when expires < now): layout.Verify judged both.
	for _, c := range lv.Signatures {
		res.Signatures = append(res.Signatures, c)
		if c.Err != nil {
			res.fail(&LayoutSignatureError{Layout: what, KeyID: c.KeyID, Err: c.Err})
		}
	}
	if lv.Expired {
		res.Expired = true
		res.fail(&ExpiredError{Layout: what, Expires: l.Expires, Now: v.now})
	}
	trusted = trusted && len(res.Failures) == 0
	stepRules := make([][2][]compiledRule, len(l.Steps))
	for i := range l.Steps {
		stepRules[i] = [2][]compiledRule{compileRules(l.Steps[i].ExpectedMaterials), compileRules(l.Steps[i].ExpectedProducts)}
	}
	names := map[string]bool{}
	for _, s := range l.Steps {
		names[s.Name] = true
	}
	for _, in := range l.Inspections {
		names[in.Name] = true
	}

	// 3. Links per step: signatures by authorised functionaries,
	// thresholds over distinct keys.
	evidence := make([]*stepEvidence, len(l.Steps))
	for i, g := range gatherAll(ctx, l, src) {
		evidence[i] = v.loadStep(res, &l.Steps[i], g)
	}

	// 4. Sublayouts, verified only now that all thresholds are known (as
	// in the references), so that their inspections run only if the
	// superlayout is clean so far.
	digest := sha256.Sum256(env.Payload())
	chain := append(slices.Clone(ancestors), digest)
	for _, ev := range evidence {
		for _, lc := range ev.accepted {
			subEnv, ok := ev.layouts[lc]
			if !ok {
				continue
			}
			v.verifySublayout(ctx, res, ev, lc, subEnv, ev.layoutsBy[lc], src, chain, trusted && len(res.Failures) == 0)
		}
	}

	// 5. Expected commands (warnings), agreement between links, reduction
	// to one link per step.
	links := map[string]*link.Link{}
	for _, ev := range evidence {
		v.reduce(res, ev)
		if ev.item.Link != nil {
			links[ev.step.Name] = ev.item.Link
		}
	}

	// 6. Step rules.
	for i, ev := range evidence {
		if ev.item.Link == nil {
			continue
		}
		re := &ruleEnv{item: ev.step.Name, own: ev.item.Link, links: links, names: names}
		v.applyItemRules(res, ev.item, re, stepRules[i][0], stepRules[i][1])
	}

	// 7. Inspections, only on verified evidence, then their rules.
	v.inspect(ctx, res, l, links, names, trusted)

	for _, s := range res.Steps {
		if s.Status == "" {
			s.Status = StatusPassed
		}
	}
	res.Summary = summaryLink(l, links, name)
	return res
}

// gathered is a step's evidence, read and checked.
type gathered struct {
	funcs   []functionary
	unknown []string
	srcErr  error
	checks  []*LinkCheck
	subEnvs []*envelope.Envelope // parallel to checks; set for sublayouts
}

// gatherAll reads and checks the evidence of every step, steps in
// parallel: parsing and signature checking of large links dominate
// verification time.
func gatherAll(ctx context.Context, l *layout.Layout, src LinkSource) []*gathered {
	out := make([]*gathered, len(l.Steps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range l.Steps {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = gather(ctx, l, &l.Steps[i], src)
		}(i)
	}
	wg.Wait()
	return out
}

func gather(ctx context.Context, l *layout.Layout, s *layout.Step, src LinkSource) *gathered {
	g := &gathered{}
	g.funcs, g.unknown = authorised(l, s)
	files, err := src.Links(ctx, s.Name)
	g.srcErr = err
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		lc, subEnv := checkEvidence(f, s, g.funcs)
		g.checks = append(g.checks, lc)
		g.subEnvs = append(g.subEnvs, subEnv)
	}
	return g
}

// loadStep records the evidence gathered for one step and checks its
// threshold.
func (v *verification) loadStep(res *Result, s *layout.Step, g *gathered) *stepEvidence {
	item := &ItemResult{Name: s.Name, Threshold: s.Threshold}
	res.Steps = append(res.Steps, item)
	ev := &stepEvidence{item: item, step: s, layouts: map[*LinkCheck]*envelope.Envelope{}, layoutsBy: map[*LinkCheck]functionary{}}
	funcs := g.funcs
	ev.funcs = funcs
	for _, id := range g.unknown {
		res.Warnings = append(res.Warnings, Warning{Item: s.Name, Message: fmt.Sprintf("pubkey %s is not among the layout's keys; it cannot authorise anything", keys.ShortID(id))})
	}
	if g.srcErr != nil {
		item.Links = append(item.Links, &LinkCheck{Source: "(link source)", Reason: g.srcErr.Error()})
	}
	var signers []functionary
	for k, lc := range g.checks {
		subEnv := g.subEnvs[k]
		item.Links = append(item.Links, lc)
		if !lc.Accepted {
			continue
		}
		ev.accepted = append(ev.accepted, lc)
		if subEnv != nil {
			ev.layouts[lc] = subEnv
			for _, fn := range funcs {
				if fn.id == lc.Signers[0] {
					ev.layoutsBy[lc] = fn
				}
			}
		}
		for _, id := range lc.Signers {
			for _, fn := range funcs {
				if fn.id != id {
					continue
				}
				dup := false
				for _, have := range signers {
					if have.key.SamePublic(fn.key) {
						dup = true
						break
					}
				}
				if !dup {
					signers = append(signers, fn)
				}
			}
		}
	}
	for _, fn := range signers {
		item.Signers = append(item.Signers, fn.id)
	}
	if len(signers) < s.Threshold {
		te := &ThresholdError{Step: s.Name, Threshold: s.Threshold, Signers: item.Signers}
		for _, lc := range item.Links {
			if !lc.Accepted {
				te.Rejected = append(te.Rejected, lc)
			}
		}
		item.fail(res, te)
	}
	return ev
}

// checkEvidence decides whether one file counts for step s: valid
// signatures by authorised functionaries, a well-formed link for this step
// (or a layout: a sublayout).
func checkEvidence(f LinkFile, s *layout.Step, funcs []functionary) (*LinkCheck, *envelope.Envelope) {
	lc := &LinkCheck{Source: f.Name}
	if f.Err != nil {
		lc.Reason = "unreadable: " + f.Err.Error()
		return lc, nil
	}
	e := f.Envelope
	// The signed bytes (canonical JSON of a large link, or the PAE) are
	// computed once, not once per candidate key.
	var data []byte
	var bad []string
	for _, fn := range funcs {
		named, valid := false, false
		for _, sig := range e.Signatures {
			if !sig.By(fn.key) {
				continue
			}
			named = true
			if data == nil {
				var err error
				if data, err = e.SignedBytes(); err != nil {
					lc.Reason = err.Error()
					return lc, nil
				}
			}
			if fn.key.Verify(data, sig.Sig) == nil {
				valid = true
				break
			}
		}
		switch {
		case valid:
			lc.Signers = append(lc.Signers, fn.id)
		case named:
			bad = append(bad, fmt.Sprintf("signature by %s does not verify", keys.ShortID(fn.id)))
		}
	}
	if len(lc.Signers) == 0 {
		switch {
		case len(bad) > 0:
			lc.Reason = strings.Join(bad, "; ")
		case len(e.Signatures) == 0:
			lc.Reason = "not signed"
		default:
			var ids []string
			for _, id := range e.SignerIDs() {
				ids = append(ids, keys.ShortID(id))
			}
			lc.Reason = fmt.Sprintf("signed by %s, not by a functionary authorised for step %s", strings.Join(ids, ", "), s.Name)
		}
		return lc, nil
	}
	if err := e.CheckInToto(); err != nil {
		lc.Reason = err.Error()
		return lc, nil
	}
	// Links are by far the most common: parse as one first (the payload
	// can be tens of megabytes; it is scanned once), and look at "_type"
	// only if that fails.
	l, lerr := link.Parse(e.Payload())
	if lerr != nil {
		typ, err := e.PayloadTypeField()
		switch {
		case err != nil:
			lc.Reason = err.Error()
			return lc, nil
		case typ == link.Type:
			lc.Reason = lerr.Error()
			return lc, nil
		case typ == layout.Type:
			lc.Sublayout = true
			lc.Accepted = true
			return lc, e
		case typ != statement.Type:
			lc.Reason = fmt.Sprintf("it holds a %q, not a link, link attestation or layout", typ)
			return lc, nil
		}
		// toto run --attest writes links as Statements with the link
		// predicate v0.3; convert them back to old-style links.
		st, err := statement.Parse(e.Payload())
		if err == nil {
			l, err = st.Link()
		}
		if err != nil {
			lc.Reason = err.Error()
			return lc, nil
		}
	}
	// The references do not check this; without it a link signed for one
	// step can be replayed as evidence for another step the same
	// functionary is authorised for.
	if l.Name != s.Name {
		lc.Reason = fmt.Sprintf("it records step %q, not %q", l.Name, s.Name)
		return lc, nil
	}
	lc.Link = l
	lc.Accepted = true
	return lc, nil
}

func (v *verification) verifySublayout(ctx context.Context, res *Result, ev *stepEvidence, lc *LinkCheck, subEnv *envelope.Envelope, fn functionary, src LinkSource, chain [][32]byte, trusted bool) {
	step := ev.step.Name
	fail := func(err error) {
		lc.Accepted = false
		lc.Reason = err.Error()
		ev.item.fail(res, &SublayoutError{Step: step, KeyID: fn.id, Err: err})
	}
	if len(chain) > v.opts.maxDepth() {
		fail(fmt.Errorf("sublayouts nest deeper than %d levels", v.opts.maxDepth()))
		return
	}
	d := sha256.Sum256(subEnv.Payload())
	if slices.Contains(chain, d) {
		fail(errors.New("recursion loop: the sublayout is one of the layouts that contain it"))
		return
	}
	lv, err := layout.Verify(subEnv, []*keys.Key{fn.key}, v.now)
	if err != nil {
		fail(err)
		return
	}
	sub := lv.Layout
	subSrc, err := src.Sublayout(step, fn.id)
	if err != nil {
		fail(fmt.Errorf("its links: %w", err))
		return
	}
	var subRes *Result
	if reason := checkLayout(sub); reason != "" {
		subRes = &Result{Name: step, Layout: sub, Now: v.now}
		subRes.fail(&LayoutError{Layout: "sublayout of step " + step, Reason: reason})
	} else {
		subRes = v.verifyLayout(ctx, subEnv, lv, sub, subSrc, step, chain[:len(chain):len(chain)], trusted)
	}
	ev.item.Sublayouts = append(ev.item.Sublayouts, subRes)
	lc.Link = subRes.Summary
	if !subRes.Passed() {
		ev.item.fail(res, &SublayoutError{Step: step, KeyID: fn.id, Result: subRes})
	}
}

// reduce checks that the step's accepted links agree and keeps one of
// them, warning about commands that differ from the expected one.
func (v *verification) reduce(res *Result, ev *stepEvidence) {
	var first *LinkCheck
	for _, lc := range ev.accepted {
		if lc.Link == nil {
			continue
		}
		if !slices.Equal(lc.Link.Command, ev.step.ExpectedCommand) {
			res.Warnings = append(res.Warnings, Warning{Item: ev.step.Name, Message: fmt.Sprintf(
				"%s ran %s, expected %s (a different command is only a warning)", lc.Source, quoteCmd(lc.Link.Command), quoteCmd(ev.step.ExpectedCommand))})
		}
		if first == nil {
			first = lc
			continue
		}
		if diffs := artifactDiffs(first.Link, lc.Link); len(diffs) > 0 {
			ev.item.fail(res, &DisagreementError{Step: ev.step.Name, A: first.Source, B: lc.Source, Differences: diffs})
		}
	}
	if first != nil {
		ev.item.Link = first.Link
	} else {
		ev.item.SkipReason = "no verified link, so its artifact rules were not evaluated"
	}
}

func quoteCmd(c []string) string {
	if len(c) == 0 {
		return "(no command)"
	}
	return fmt.Sprintf("%q", strings.Join(c, " "))
}

// artifactDiffs lists up to five differences between two links' artifacts.
func artifactDiffs(a, b *link.Link) []string {
	var out []string
	add := func(kind string, x, y link.Artifacts) {
		for _, p := range x.Paths() {
			if len(out) >= 5 {
				return
			}
			d, ok := y[p]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s %s only in the first", kind, p))
			case !d.Equal(x[p]):
				out = append(out, fmt.Sprintf("%s %s: %s", kind, p, digestDiff(x[p], d, "in the first", "in the second")))
			}
		}
		for _, p := range y.Paths() {
			if len(out) >= 5 {
				return
			}
			if _, ok := x[p]; !ok {
				out = append(out, fmt.Sprintf("%s %s only in the second", kind, p))
			}
		}
	}
	add("materials", a.Materials, b.Materials)
	add("products", a.Products, b.Products)
	return out
}

func (v *verification) applyItemRules(res *Result, item *ItemResult, re *ruleEnv, mat, prod []compiledRule) {
	item.Materials = applyRules(re, MaterialsQueue, mat)
	item.Products = applyRules(re, ProductsQueue, prod)
	for _, rs := range []*RuleSetResult{item.Materials, item.Products} {
		for _, rr := range rs.Rules {
			for _, f := range rr.Failures {
				item.fail(res, f)
			}
		}
	}
}

// inspect runs the inspections (in a sandbox, through the runner) and
// applies their rules to the combined step and inspection links.
func (v *verification) inspect(ctx context.Context, res *Result, l *layout.Layout, stepLinks map[string]*link.Link, names map[string]bool, trusted bool) {
	if len(l.Inspections) == 0 {
		return
	}
	skip := ""
	switch {
	case !trusted:
		skip = "not run: the layout (or an enclosing one) is not validly signed or has expired"
	case len(res.Failures) > 0:
		skip = "not run: inspections only run once every step has verified"
	}
	combined := make(map[string]*link.Link, len(stepLinks)+len(l.Inspections))
	for k, v := range stepLinks {
		combined[k] = v
	}
	items := make([]*ItemResult, len(l.Inspections))
	for i := range l.Inspections {
		in := &l.Inspections[i]
		item := &ItemResult{Name: in.Name, Inspection: true, Run: in.Run}
		items[i] = item
		res.Inspections = append(res.Inspections, item)
		if skip != "" {
			item.Status, item.SkipReason = StatusSkipped, skip
			continue
		}
		if len(in.Run) == 0 {
			// The Python reference fails too: no command, no return value.
			item.fail(res, &InspectionError{Inspection: in.Name, Err: errors.New("it has no command to run")})
			continue
		}
		if v.opts.Inspections == nil {
			item.fail(res, &InspectionError{Inspection: in.Name, Err: errors.New("no inspection runner configured, so it cannot run")})
			continue
		}
		if err := ctx.Err(); err != nil {
			item.fail(res, &InspectionError{Inspection: in.Name, Err: err})
			continue
		}
		run, err := v.opts.Inspections.RunInspection(ctx, *in)
		if err != nil {
			item.fail(res, &InspectionError{Inspection: in.Name, Err: err})
			continue
		}
		item.ExitCode = run.ExitCode
		item.Link = run.Link
		combined[in.Name] = run.Link
		if run.ExitCode != 0 {
			item.fail(res, &InspectionError{Inspection: in.Name, ExitCode: run.ExitCode})
		}
	}
	if skip != "" {
		return
	}
	for i := range l.Inspections {
		in, item := &l.Inspections[i], items[i]
		if item.Link != nil {
			re := &ruleEnv{item: in.Name, inspection: true, own: item.Link, links: combined, names: names}
			v.applyItemRules(res, item, re, compileRules(in.ExpectedMaterials), compileRules(in.ExpectedProducts))
		}
		if item.Status == "" {
			item.Status = StatusPassed
		}
	}
}

// summaryLink is what a superlayout sees of this layout: the materials of
// its first step and the products, byproducts and command of its last (as
// get_summary_link in the Python reference).
func summaryLink(l *layout.Layout, links map[string]*link.Link, name string) *link.Link {
	s := &link.Link{Name: name, Materials: link.Artifacts{}, Products: link.Artifacts{}}
	if len(l.Steps) == 0 {
		return s
	}
	if first := links[l.Steps[0].Name]; first != nil {
		s.Materials = first.Materials
	}
	if last := links[l.Steps[len(l.Steps)-1].Name]; last != nil {
		s.Products = last.Products
		s.ByProducts = last.ByProducts
		s.Command = last.Command
	}
	return s
}

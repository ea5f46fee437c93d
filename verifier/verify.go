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
	unused := unusedParams(l, opts.Params)
	if l, err = l.Substitute(opts.Params); err != nil {
		return nil, err
	}
	run := v.verifyLayout(ctx, layoutEnv, lv, l, opts.Links, "", nil, nil)
	for _, name := range unused {
		run.res.Warnings = append(run.res.Warnings, Warning{Message: fmt.Sprintf(
			"parameter %s is not used by the layout (a misspelt name?)", name)})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := run.res
	if run.trusted {
		// Attestations are judged against the final products of a
		// chain the owners' layout vouches for.
		v.checkAttestations(ctx, res)
	}
	// Inspections last: no command runs before every signature, threshold
	// and rule of the whole chain, sublayouts included, has passed.
	skip := ""
	if !res.Passed() {
		skip = "not run: inspections only run once every step of the supply chain has verified"
		if !run.trusted {
			skip = "not run: the layout is not validly signed or has expired"
		}
	}
	v.runInspections(ctx, run, skip)
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
	// sublayouts counts the sublayouts verified so far, against
	// Options.MaxSublayouts.
	sublayouts int
	// digests lets the links of the whole tree share equal digest sets
	// (a step's products are the next step's materials).
	digests link.DigestSets
}

// layoutRun is a layout whose checks are done and whose inspections are
// still to run: they run only once the checks of the whole tree passed.
type layoutRun struct {
	res     *Result
	l       *layout.Layout
	links   map[string]*link.Link
	names   map[string]bool
	trusted bool // validly signed and unexpired
	// signer is the functionary who signed a sublayout; nil for the root.
	signer *functionary
	subs   []subRun
}

// subRun is a sublayout provided as evidence for a step of its
// superlayout.
type subRun struct {
	run  *layoutRun
	item *ItemResult
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
	// nothing is the threshold failure of a step for which no evidence
	// at all was found (explainMissing adds where toto looked).
	nothing *ThresholdError
}

// verifyLayout checks one layout (the root or a sublayout, signed by
// signer) and its evidence, everything but its inspections.
func (v *verification) verifyLayout(ctx context.Context, env *envelope.Envelope, lv *layout.Verification, l *layout.Layout, src LinkSource, name string, ancestors [][32]byte, signer *functionary) *layoutRun {
	res := &Result{Name: name, Layout: l, Now: v.now}
	run := &layoutRun{res: res, l: l, signer: signer}
	what := "root layout"
	if name != "" {
		what = fmt.Sprintf("sublayout of step %s", name)
	}

	// 1. Every layout key signed the layout, and 2. it has not expired
	// (the references fail when expires < now): layout.Verify judged both.
	for _, c := range lv.Signatures {
		res.Signatures = append(res.Signatures, c)
		if c.Err != nil {
			res.fail(&LayoutSignatureError{Layout: what, KeyID: c.KeyID, Err: c.Err, SignedBy: env.SignerIDs()})
		}
	}
	if lv.Expired {
		res.Expired = true
		res.fail(&ExpiredError{Layout: what, Expires: l.Expires, Now: v.now})
	}
	run.trusted = len(res.Failures) == 0
	if !run.trusted {
		// No rule of a layout that is not validly signed, or has expired,
		// means anything: its steps are not evaluated (never shown as
		// passed), and no evidence is read for them.
		for _, s := range l.Steps {
			res.Steps = append(res.Steps, &ItemResult{Name: s.Name, Threshold: s.Threshold, Status: StatusSkipped,
				SkipReason: "not evaluated: the layout is not validly signed or has expired"})
		}
		run.links, run.names = map[string]*link.Link{}, map[string]bool{}
		res.Summary = summaryLink(l, run.links, name)
		return run
	}
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
	for i, g := range gatherAll(ctx, l, src, &v.digests) {
		evidence[i] = v.loadStep(res, &l.Steps[i], g)
	}
	explainMissing(l, src, evidence)

	// 4. Sublayouts, verified now that all thresholds are known, as in
	// the references (their inspections wait for the whole tree).
	digest := sha256.Sum256(env.Payload())
	chain := append(slices.Clone(ancestors), digest)
	// A sublayout names no step: the same one copied under a second
	// step's name would pass for a step that never ran. One sublayout is
	// evidence for one step only.
	usedFor := map[[32]byte]string{}
	for _, ev := range evidence {
		for _, lc := range ev.accepted {
			subEnv, ok := ev.layouts[lc]
			if !ok {
				continue
			}
			d := sha256.Sum256(subEnv.Payload())
			if other, dup := usedFor[d]; dup && other != ev.step.Name {
				err := &ReplayedSublayoutError{Step: ev.step.Name, Other: other, Source: lc.Source}
				lc.Accepted = false
				lc.Reason = err.Error()
				ev.item.fail(res, err)
				continue
			}
			usedFor[d] = ev.step.Name
			if sub := v.verifySublayout(ctx, res, ev, lc, subEnv, ev.layoutsBy[lc], src, chain); sub != nil {
				run.subs = append(run.subs, subRun{run: sub, item: ev.item})
			}
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

	// 7. Inspections wait for runInspections.
	run.links, run.names = links, names
	res.Summary = summaryLink(l, links, name)
	return run
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
func gatherAll(ctx context.Context, l *layout.Layout, src LinkSource, digests *link.DigestSets) []*gathered {
	out := make([]*gathered, len(l.Steps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range l.Steps {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = gather(ctx, l, &l.Steps[i], src, digests)
		}(i)
	}
	wg.Wait()
	return out
}

func gather(ctx context.Context, l *layout.Layout, s *layout.Step, src LinkSource, digests *link.DigestSets) *gathered {
	g := &gathered{}
	g.funcs, g.unknown = authorised(l, s)
	files, err := src.Links(ctx, s.Name)
	g.srcErr = err
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		lc, subEnv := checkEvidence(f, s, g.funcs, digests)
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
		if len(te.Signers) == 0 && len(te.Rejected) == 0 {
			ev.nothing = te
		}
	}
	return ev
}

// checkEvidence decides whether one file counts for step s: valid
// signatures by authorised functionaries, a well-formed link for this step
// (or a layout: a sublayout).
func checkEvidence(f LinkFile, s *layout.Step, funcs []functionary, digests *link.DigestSets) (*LinkCheck, *envelope.Envelope) {
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
	l, lerr := link.ParseWith(e.Payload(), link.ParseOptions{Digests: digests})
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
		case !statement.IsType(typ):
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

func (v *verification) verifySublayout(ctx context.Context, res *Result, ev *stepEvidence, lc *LinkCheck, subEnv *envelope.Envelope, fn functionary, src LinkSource, chain [][32]byte) *layoutRun {
	step := ev.step.Name
	fail := func(err error) {
		lc.Accepted = false
		lc.Reason = err.Error()
		ev.item.fail(res, &SublayoutError{Step: step, KeyID: fn.id, Err: err})
	}
	if len(chain) > v.opts.maxDepth() {
		fail(fmt.Errorf("sublayouts nest deeper than %d levels", v.opts.maxDepth()))
		return nil
	}
	if v.sublayouts >= v.opts.maxSublayouts() {
		fail(fmt.Errorf("%w: the supply chain has more than %d sublayouts", ErrTooManySublayouts, v.opts.maxSublayouts()))
		return nil
	}
	v.sublayouts++
	d := sha256.Sum256(subEnv.Payload())
	if slices.Contains(chain, d) {
		fail(errors.New("recursion loop: the sublayout is one of the layouts that contain it"))
		return nil
	}
	lv, err := layout.Verify(subEnv, []*keys.Key{fn.key}, v.now)
	if err != nil {
		fail(err)
		return nil
	}
	sub := lv.Layout
	subSrc, err := src.Sublayout(step, fn.id)
	if err != nil {
		fail(fmt.Errorf("its links: %w", err))
		return nil
	}
	var sr *layoutRun
	if reason := checkLayout(sub); reason != "" {
		subRes := &Result{Name: step, Layout: sub, Now: v.now}
		subRes.fail(&LayoutError{Layout: "sublayout of step " + step, Reason: reason})
		sr = &layoutRun{res: subRes, l: sub, signer: &fn}
	} else {
		sr = v.verifyLayout(ctx, subEnv, lv, sub, subSrc, step, chain[:len(chain):len(chain)], &fn)
	}
	subRes := sr.res
	ev.item.Sublayouts = append(ev.item.Sublayouts, subRes)
	lc.Link = subRes.Summary
	if !subRes.Passed() {
		ev.item.fail(res, &SublayoutError{Step: step, KeyID: fn.id, Result: subRes})
	}
	return sr
}

// reduce checks that the step's accepted links agree and keeps one of
// them, warning about commands that differ from the expected one.
func (v *verification) reduce(res *Result, ev *stepEvidence) {
	var first *LinkCheck
	for _, lc := range ev.accepted {
		if lc.Link == nil {
			continue
		}
		// A layout that expects no command has nothing to compare with.
		if len(ev.step.ExpectedCommand) > 0 && !slices.Equal(lc.Link.Command, ev.step.ExpectedCommand) {
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

// runInspections runs the inspections of the tree that run checked:
// sublayouts' first, depth first, then the layout's own, as the
// references order them. skip, if set, says why none may run; once one
// fails, the rest do not run either (the references stop there too).
func (v *verification) runInspections(ctx context.Context, run *layoutRun, skip string) string {
	res := run.res
	for _, sub := range run.subs {
		failed := !sub.run.res.Passed()
		skip = v.runInspections(ctx, sub.run, skip)
		if !failed && !sub.run.res.Passed() {
			sub.item.fail(res, &SublayoutError{Step: sub.run.res.Name, KeyID: sub.run.signer.id, Result: sub.run.res})
			skip = "not run: an inspection of a sublayout failed"
		}
	}
	if skip == "" && !res.Passed() {
		skip = "not run: inspections only run once every step has verified"
	}
	skip = v.inspect(ctx, run, skip)
	for _, s := range res.Steps {
		if s.Status == "" {
			s.Status = StatusPassed
		}
	}
	return skip
}

// inspect runs the inspections of one layout, in order, in one shared
// workspace, and applies their rules to the combined step and inspection
// links. It returns why later inspections must not run, if one failed.
func (v *verification) inspect(ctx context.Context, run *layoutRun, skip string) string {
	l, res := run.l, run.res
	if len(l.Inspections) == 0 {
		return skip
	}
	combined := make(map[string]*link.Link, len(run.links)+len(l.Inspections))
	for k, v := range run.links {
		combined[k] = v
	}
	items := make([]*ItemResult, len(l.Inspections))
	for i := range l.Inspections {
		in := &l.Inspections[i]
		items[i] = &ItemResult{Name: in.Name, Inspection: true, Run: in.Run}
		res.Inspections = append(res.Inspections, items[i])
	}
	skipRest := func(from int, why string) {
		for _, item := range items[from:] {
			if item.Status == "" {
				item.Status, item.SkipReason = StatusSkipped, why
			}
		}
	}
	if skip != "" {
		skipRest(0, skip)
		return skip
	}
	// A sublayout's commands were chosen by whoever signed it, not by the
	// root layout's owners: they run only if the verifier says so.
	if run.signer != nil && !v.opts.RunSublayoutInspections && !v.ownerKey(run.signer.key) {
		for i := range l.Inspections {
			items[i].fail(res, &SublayoutInspectionError{Step: res.Name, KeyID: run.signer.id, Inspection: l.Inspections[i].Name, Run: l.Inspections[i].Run})
		}
		return "not run: a sublayout's inspections were not allowed to run"
	}
	fail := func(i int, err error) string {
		items[i].fail(res, &InspectionError{Inspection: l.Inspections[i].Name, Err: err})
		why := "not run: inspection " + l.Inspections[i].Name + " failed"
		skipRest(i+1, why)
		return why
	}
	if v.opts.Inspections == nil {
		return fail(0, errors.New("no inspection runner configured, so it cannot run"))
	}
	ws, err := v.opts.Inspections.Workspace(ctx)
	if err != nil {
		return fail(0, err)
	}
	defer ws.Close()
	for i := range l.Inspections {
		in, item := &l.Inspections[i], items[i]
		if len(in.Run) == 0 {
			// The Python reference fails too: no command, no return value.
			return fail(i, errors.New("it has no command to run"))
		}
		if err := ctx.Err(); err != nil {
			return fail(i, err)
		}
		matRules := compileRules(in.ExpectedMaterials)
		// Material rules that can be decided before the command runs are:
		// a swapped tarball is rejected before anything unpacks it.
		admit := func(materials link.Artifacts) error {
			if !decidable(in.ExpectedMaterials, combined, in.Name) {
				return nil
			}
			own := &link.Link{Name: in.Name, Materials: materials, Products: link.Artifacts{}}
			re := &ruleEnv{item: in.Name, inspection: true, own: own, links: combined, names: run.names}
			item.Link = own
			v.applyItemRules(res, item, re, matRules, nil)
			item.Products = nil
			if len(item.Failures) > 0 {
				return errMaterialsRejected
			}
			item.Materials = nil
			return nil
		}
		r, err := ws.Inspect(ctx, *in, admit)
		if errors.Is(err, errMaterialsRejected) {
			item.SkipReason = "its command did not run: its materials failed their rules"
			why := "not run: inspection " + in.Name + " failed"
			skipRest(i+1, why)
			return why
		}
		if err != nil {
			return fail(i, err)
		}
		item.ExitCode, item.Ran = r.ExitCode, true
		item.Link = r.Link
		combined[in.Name] = r.Link
		if r.ExitCode != 0 {
			item.fail(res, &InspectionError{Inspection: in.Name, ExitCode: r.ExitCode})
			why := "not run: inspection " + in.Name + " failed"
			skipRest(i+1, why)
			return why
		}
	}
	// As in the references, rules are applied once every inspection ran:
	// a rule may refer to a later inspection.
	for i := range l.Inspections {
		in, item := &l.Inspections[i], items[i]
		re := &ruleEnv{item: in.Name, inspection: true, own: item.Link, links: combined, names: run.names}
		v.applyItemRules(res, item, re, compileRules(in.ExpectedMaterials), compileRules(in.ExpectedProducts))
		if item.Status == "" {
			item.Status = StatusPassed
		}
	}
	for _, item := range items {
		if item.Status == StatusFailed {
			return "not run: inspection " + item.Name + " failed"
		}
	}
	return ""
}

// errMaterialsRejected is what admit returns when an inspection's
// materials failed their rules.
var errMaterialsRejected = errors.New("materials rejected")

// decidable reports whether rules can be evaluated before inspection self
// runs: every MATCH refers to a link already known, so the verdict cannot
// change once later inspections ran.
func decidable(rules []layout.Rule, known map[string]*link.Link, self string) bool {
	for _, r := range rules {
		if r.Type == layout.Match && (r.DestStep == self || known[r.DestStep] == nil) {
			return false
		}
	}
	return true
}

// ownerKey reports whether k is one of the root layout's keys.
func (v *verification) ownerKey(k *keys.Key) bool {
	for _, o := range v.opts.LayoutKeys {
		if o.SamePublic(k) {
			return true
		}
	}
	return false
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

// explainMissing adds to the threshold failure of every step that had no
// evidence at all where the source looked, for which names, and what else
// it holds: a links folder with no links, or a link for a misspelt step.
func explainMissing(l *layout.Layout, src LinkSource, evidence []*stepEvidence) {
	lister, ok := src.(LinkLister)
	if !ok {
		return
	}
	var all []string
	listed := false
	for _, ev := range evidence {
		if ev.nothing == nil {
			continue
		}
		if !listed {
			listed = true
			names, err := lister.LinkNames()
			if err != nil {
				return
			}
			all = names
		}
		m := &MissingLinks{Location: lister.Path(), Empty: len(all) == 0}
		for _, fn := range ev.funcs {
			m.LookedFor = append(m.LookedFor, link.FileName(ev.step.Name, fn.id))
		}
		best := 3 // a typo: at most two edits away
		for _, name := range all {
			step := stepOfFile(name)
			if _, ok := l.Step(step); ok {
				continue
			}
			m.Unused = append(m.Unused, name)
			if d := editDistance(step, ev.step.Name); d < best {
				best, m.Near = d, step
			}
		}
		if m.Near != "" {
			var near []string
			for _, name := range m.Unused {
				if stepOfFile(name) == m.Near {
					near = append(near, name)
				}
			}
			m.Unused = near
		}
		ev.nothing.Missing = m
	}
}

// stepOfFile is the step part of "<step>.<keyid prefix>.link".
func stepOfFile(name string) string {
	s := strings.TrimSuffix(name, ".link")
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[:i]
	}
	return s
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unusedParams lists, sorted, the given parameters no placeholder of the
// layout names.
func unusedParams(l *layout.Layout, params map[string]string) []string {
	used := map[string]bool{}
	for _, n := range l.Params() {
		used[n] = true
	}
	var out []string
	for n := range params {
		if !used[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

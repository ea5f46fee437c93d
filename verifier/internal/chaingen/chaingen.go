// Package chaingen builds random but reproducible in-toto supply chains —
// keys, a signed layout with rules of all seven types, signed links, and a
// tampering — for differential tests against the reference
// implementations and for benchmarks. The same seed gives the same chain,
// keys included.
package chaingen

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// Tamperings the generator applies (at most one per chain).
const (
	TamperNone        = "none"
	TamperDigest      = "digest"          // a functionary reports a different hash (re-signed)
	TamperUnsigned    = "digest-unsigned" // a hash changed after signing
	TamperExtra       = "extra-artifact"  // a functionary reports an extra product (re-signed)
	TamperMissing     = "missing-link"    // a link file is gone
	TamperWrongKey    = "wrong-key"       // a link signed by a key not authorised for its step
	TamperExpired     = "expired"         // the layout expired
	TamperShortfall   = "threshold"       // fewer links than the threshold
	TamperLayoutKey   = "layout-key"      // the layout signed by another key
	TamperReplay      = "replay"          // a link of one step filed as another step's
	TamperSameKeyTwce = "same-key-twice"  // one key listed under both keyid schemes to meet a threshold of 2
	TamperRuleNoise   = "rule-noise"      // a random extra rule
	// TamperPrefixEscape adds a material outside a MATCH rule's source
	// prefix whose path and hash equal a destination artifact's after the
	// destination prefix.
	TamperPrefixEscape = "prefix-escape"
	// TamperDotPath records a material matched from another step as
	// "./path".
	TamperDotPath = "dot-path"
)

var tamperings = []string{TamperDigest, TamperUnsigned, TamperExtra, TamperMissing, TamperWrongKey,
	TamperExpired, TamperShortfall, TamperLayoutKey, TamperReplay, TamperSameKeyTwce, TamperRuleNoise,
	TamperPrefixEscape, TamperDotPath}

// Quirks the generator notes, for behaviour the references disagree on.
const (
	// QuirkDisagreeingLinks: a step with threshold 1 has two accepted links
	// reporting different artifacts.
	QuirkDisagreeingLinks = "threshold-1 step with disagreeing links"
)

// Chain is a generated supply chain.
type Chain struct {
	Seed int64
	// Owner signs the layout; OwnerPub is what the verifier is given.
	Owner    *keys.Key
	OwnerPub *keys.Key
	Layout   *layout.Layout
	// LayoutEnv is the signed layout.
	LayoutEnv *envelope.Envelope
	// Links are the link files by file name.
	Links map[string]*envelope.Envelope
	// DSSE is set when the layout and links use DSSE envelopes.
	DSSE bool
	// Tamper is the tampering applied, Detail what exactly.
	Tamper, Detail string
	// Quirks lists reference disagreements this chain may trigger.
	Quirks []string
	// Warnings the verifier should emit (command mismatches).
	CommandMismatch bool

	r       *rand.Rand
	funcs   []*keys.Key // private
	steps   []*stepState
	created time.Time
}

type stepState struct {
	step       *layout.Step
	materials  link.Artifacts
	products   link.Artifacts
	command    []string
	signers    []*keys.Key // functionaries that produced links
	sigIDs     []string    // keyids their signatures carry, if not their own
	linkFiles  []string
	linkPlains []*link.Link
	// relocated records a MATCH ... IN newDir WITH PRODUCTS IN dir: the
	// source artifacts (dir/rel) by rel.
	relocated map[string]link.DigestSet
	relocDir  string
	// matched are materials taken from another step under the same path.
	matched []string
}

// Options tunes Generate.
type Options struct {
	// Tamper forces a tampering ("" picks one at random, or none).
	Tamper string
	// DSSE forces DSSE envelopes when true; otherwise they are picked at
	// random for one chain in five.
	DSSE bool
	// NoDSSE never picks DSSE (for comparisons with Python in-toto 1.3,
	// which reads only Metablocks).
	NoDSSE bool
}

// deterministicKey derives an ed25519 key from the generator's randomness.
func deterministicKey(r *rand.Rand) *keys.Key {
	seed := make([]byte, ed25519.SeedSize)
	r.Read(seed)
	priv := ed25519.NewKeyFromSeed(seed)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		panic(err)
	}
	k, err := keys.Parse(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		panic(err)
	}
	return k
}

func (c *Chain) digest() string {
	b := make([]byte, 16)
	c.r.Read(b)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var (
	dirs = []string{"src", "lib", "dist", "pkg", "out", "docs"}
	exts = []string{".c", ".h", ".py", ".tar.gz", ".whl", ".txt", ".md"}
	stem = []string{"main", "util", "foo", "bar", "core", "app", "readme", "data"}
)

func (c *Chain) freshPath(taken map[string]bool, dir string) string {
	for {
		p := stem[c.r.Intn(len(stem))] + fmt.Sprint(c.r.Intn(100)) + exts[c.r.Intn(len(exts))]
		if dir != "" {
			p = dir + "/" + p
		} else if c.r.Intn(2) == 0 {
			p = dirs[c.r.Intn(len(dirs))] + "/" + p
		}
		if !taken[p] {
			taken[p] = true
			return p
		}
	}
}

func rule(parts ...string) layout.Rule {
	r, err := layout.ParseRule(parts)
	if err != nil {
		panic(err)
	}
	return r
}

// Generate builds the chain for seed.
func Generate(seed int64, opts Options) (*Chain, error) {
	c := &Chain{Seed: seed, r: rand.New(rand.NewSource(seed)), Links: map[string]*envelope.Envelope{}}
	r := c.r
	c.DSSE = opts.DSSE || (!opts.NoDSSE && r.Intn(5) == 0)
	c.Tamper = opts.Tamper
	if c.Tamper == "" {
		if r.Intn(3) == 0 {
			c.Tamper = TamperNone
		} else {
			c.Tamper = tamperings[r.Intn(len(tamperings))]
		}
	}
	c.Owner = deterministicKey(r)
	c.OwnerPub = c.Owner.Public()
	for i, n := 0, 2+r.Intn(4); i < n; i++ {
		c.funcs = append(c.funcs, deterministicKey(r))
	}
	l := &layout.Layout{Expires: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), Readme: fmt.Sprintf("chaingen seed %d", seed)}
	c.Layout = l
	names := []string{"fetch", "build", "test", "package", "sign", "publish"}
	nSteps := 1 + r.Intn(4)
	for i := 0; i < nSteps; i++ {
		c.addStep(names[i])
	}
	if c.Tamper == TamperSameKeyTwce {
		c.sameKeyTwice()
	}
	if c.Tamper == TamperRuleNoise {
		c.ruleNoise()
	}
	if c.Tamper == TamperShortfall {
		s := c.steps[r.Intn(len(c.steps))]
		if len(s.step.PubKeys) < 2 {
			s.step.PubKeys = append(s.step.PubKeys, l.AddKey(c.otherFunc(s)))
		}
		s.step.Threshold = len(s.step.PubKeys)
		c.Detail = fmt.Sprintf("step %s needs %d links, has %d", s.step.Name, s.step.Threshold, len(s.signers))
	}
	if c.Tamper == TamperPrefixEscape || c.Tamper == TamperDotPath {
		c.pathTamper()
	}
	if c.Tamper == TamperExpired {
		l.Expires = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if err := c.signLinks(); err != nil {
		return nil, err
	}
	if err := c.tamperLinks(); err != nil {
		return nil, err
	}
	return c, c.signLayout()
}

func (c *Chain) otherFunc(s *stepState) *keys.Key {
	for _, k := range c.funcs {
		used := false
		for _, id := range s.step.PubKeys {
			if k.HasID(id) {
				used = true
			}
		}
		if !used {
			return k
		}
	}
	return deterministicKey(c.r)
}

func (c *Chain) addStep(name string) {
	r := c.r
	l := c.Layout
	st := &stepState{}
	step := layout.Step{Name: name}
	perm := r.Perm(len(c.funcs))
	nf := 1 + r.Intn(min(3, len(c.funcs)))
	for _, i := range perm[:nf] {
		step.PubKeys = append(step.PubKeys, l.AddKey(c.funcs[i]))
	}
	step.Threshold = 1 + r.Intn(nf)
	step.ExpectedCommand = []string{"make", name}
	st.command = step.ExpectedCommand
	if r.Intn(6) == 0 {
		st.command = []string{"make", name, "-j4"}
		c.CommandMismatch = true
	}

	taken := map[string]bool{}
	st.materials = link.Artifacts{}
	var matRules []layout.Rule
	closeMaterials := true
	if len(c.steps) == 0 || r.Intn(5) == 0 {
		for i, n := 0, 1+r.Intn(5); i < n; i++ {
			st.materials[c.freshPath(taken, "")] = link.DigestSet{"sha256": c.digest()}
		}
		switch r.Intn(3) {
		case 0:
			matRules = append(matRules, rule("ALLOW", "*"))
		case 1:
			for _, p := range st.materials.Paths() {
				matRules = append(matRules, rule("ALLOW", p))
			}
		default:
			closeMaterials = false // no rules at all: anything goes
		}
	} else {
		src := c.steps[len(c.steps)-1]
		if r.Intn(3) == 0 {
			src = c.steps[r.Intn(len(c.steps))]
		}
		matRules = append(matRules, c.matchFrom(src, st, taken)...)
		if r.Intn(3) == 0 {
			p := c.freshPath(taken, "")
			st.materials[p] = link.DigestSet{"sha256": c.digest()}
			if r.Intn(2) == 0 {
				matRules = append(matRules, rule("REQUIRE", p))
			}
			matRules = append(matRules, rule("ALLOW", p))
		}
	}

	// Products: keep, modify or delete each material; create some.
	st.products = link.Artifacts{}
	var kept, modified, deleted, created []string
	for _, p := range st.materials.Paths() {
		switch r.Intn(4) {
		case 0, 1:
			st.products[p] = st.materials[p]
			kept = append(kept, p)
		case 2:
			st.products[p] = link.DigestSet{"sha256": c.digest()}
			modified = append(modified, p)
		case 3:
			deleted = append(deleted, p)
		}
	}
	outDir := []string{"dist", "out", ""}[r.Intn(3)]
	for i, n := 0, r.Intn(4); i < n || len(st.products) == 0; i++ {
		p := c.freshPath(taken, outDir)
		st.products[p] = link.DigestSet{"sha256": c.digest()}
		created = append(created, p)
	}
	if len(deleted) > 0 {
		// DELETE in the material rules, before anything that would
		// consume the deleted materials.
		var rs []layout.Rule
		for _, p := range deleted {
			rs = append(rs, rule("DELETE", p))
		}
		if r.Intn(2) == 0 {
			rs = []layout.Rule{rule("DELETE", "*")}
		}
		matRules = append(rs, matRules...)
	}
	if closeMaterials && r.Intn(5) != 0 {
		matRules = append(matRules, rule("DISALLOW", "*"))
	}

	var prodRules []layout.Rule
	if len(created) > 0 {
		if r.Intn(2) == 0 {
			prodRules = append(prodRules, rule("REQUIRE", created[0]))
		}
		if outDir != "" && r.Intn(2) == 0 {
			prodRules = append(prodRules, rule("CREATE", outDir+"/*"))
		}
		for _, p := range created {
			prodRules = append(prodRules, rule("CREATE", p))
		}
	}
	for _, p := range modified {
		prodRules = append(prodRules, rule("MODIFY", p))
	}
	if len(kept) > 0 {
		if r.Intn(2) == 0 {
			prodRules = append(prodRules, rule("MATCH", "*", "WITH", "MATERIALS", "FROM", name))
		} else {
			for _, p := range kept {
				prodRules = append(prodRules, rule("ALLOW", p))
			}
		}
	}
	if r.Intn(5) != 0 {
		prodRules = append(prodRules, rule("DISALLOW", "*"))
	}
	step.ExpectedMaterials, step.ExpectedProducts = matRules, prodRules
	l.Steps = append(l.Steps, step)
	st.step = &l.Steps[len(l.Steps)-1]
	c.steps = append(c.steps, st)
	// Re-point earlier states: appending may have moved the steps.
	for i := range c.steps {
		c.steps[i].step = &l.Steps[i]
	}
}

// matchFrom takes some products of src as materials, either under the
// same paths or relocated under another folder, with the MATCH rules that
// say so.
func (c *Chain) matchFrom(src *stepState, st *stepState, taken map[string]bool) []layout.Rule {
	r := c.r
	paths := src.products.Paths()
	byDir := map[string][]string{}
	for _, p := range paths {
		if i := strings.IndexByte(p, '/'); i > 0 {
			byDir[p[:i]] = append(byDir[p[:i]], p[i+1:])
		}
	}
	var dirsWith []string
	for d := range byDir {
		dirsWith = append(dirsWith, d)
	}
	sort.Strings(dirsWith)
	from := src.step.Name
	if len(dirsWith) > 0 && r.Intn(3) == 0 {
		// MATCH <pat> IN <newdir> WITH PRODUCTS IN <dir> FROM src
		d := dirsWith[r.Intn(len(dirsWith))]
		nd := []string{"in", "vendor", "third_party"}[r.Intn(3)]
		st.relocated, st.relocDir = map[string]link.DigestSet{}, nd
		for _, rel := range byDir[d] {
			p := nd + "/" + rel
			taken[p] = true
			st.materials[p] = src.products[d+"/"+rel]
			st.relocated[rel] = src.products[d+"/"+rel]
		}
		destPrefix := d
		if r.Intn(2) == 0 {
			destPrefix += "/"
		}
		return []layout.Rule{rule("MATCH", "*", "IN", nd, "WITH", "PRODUCTS", "IN", destPrefix, "FROM", from)}
	}
	var take []string
	for _, p := range paths {
		if r.Intn(4) != 0 {
			take = append(take, p)
		}
	}
	if len(take) == 0 {
		take = paths[:1]
	}
	for _, p := range take {
		taken[p] = true
		st.materials[p] = src.products[p]
	}
	st.matched = take
	switch r.Intn(4) {
	case 3:
		// Character classes and '?', plus a catch-all.
		return []layout.Rule{rule("MATCH", "*.[ch]", "WITH", "PRODUCTS", "FROM", from), rule("MATCH", "?[!x]*", "WITH", "PRODUCTS", "FROM", from)}
	case 0:
		return []layout.Rule{rule("MATCH", "*", "WITH", "PRODUCTS", "FROM", from)}
	case 1:
		var out []layout.Rule
		for _, p := range take {
			out = append(out, rule("MATCH", p, "WITH", "PRODUCTS", "FROM", from))
		}
		return out
	}
	// By extension, plus a catch-all for the rest.
	ext := ""
	for _, e := range exts {
		if strings.HasSuffix(take[0], e) {
			ext = e
		}
	}
	return []layout.Rule{rule("MATCH", "*"+ext, "WITH", "PRODUCTS", "FROM", from), rule("MATCH", "*", "WITH", "PRODUCTS", "FROM", from)}
}

// sameKeyTwice lists one functionary's key under both keyid schemes for a
// step with threshold 2, with one link per keyid.
func (c *Chain) sameKeyTwice() {
	s := c.steps[c.r.Intn(len(c.steps))]
	k := c.funcs[0]
	pubJSON, _ := k.Public().MarshalJSON()
	var m map[string]any
	_ = json.Unmarshal(pubJSON, &m)
	delete(m, "keyid_hash_algorithms")
	delete(m, "keyid") // a declared keyid would name the key as before
	b, _ := json.Marshal(m)
	bare, err := keys.Parse(b)
	if err != nil {
		panic(err)
	}
	id1 := c.Layout.AddKey(k)
	id2 := bare.ID()
	if id1 == id2 {
		panic("chaingen: the bare key kept its keyid")
	}
	c.Layout.Keys[id2] = bare
	s.step.PubKeys = []string{id1, id2}
	s.step.Threshold = 2
	c.Detail = fmt.Sprintf("step %s: key %s listed as %s and %s", s.step.Name, id1[:8], id1[:8], id2[:8])
	// One link per keyid: the same signature, filed under each keyid.
	s.signers = []*keys.Key{k, k}
	s.sigIDs = []string{id1, id2}
}

func (c *Chain) ruleNoise() {
	r := c.r
	s := c.steps[r.Intn(len(c.steps))]
	var pool []string
	for _, p := range s.materials.Paths() {
		pool = append(pool, p)
	}
	for _, p := range s.products.Paths() {
		pool = append(pool, p)
	}
	pat := "*"
	if len(pool) > 0 && r.Intn(2) == 0 {
		pat = pool[r.Intn(len(pool))]
	} else if r.Intn(2) == 0 {
		pat = "*" + exts[r.Intn(len(exts))]
	}
	types := []string{"ALLOW", "DISALLOW", "REQUIRE", "CREATE", "DELETE", "MODIFY", "MATCH"}
	t := types[r.Intn(len(types))]
	var nr layout.Rule
	if t == "MATCH" {
		other := c.steps[r.Intn(len(c.steps))].step.Name
		nr = rule("MATCH", pat, "WITH", []string{"MATERIALS", "PRODUCTS"}[r.Intn(2)], "FROM", other)
	} else {
		nr = rule(t, pat)
	}
	target := &s.step.ExpectedMaterials
	if r.Intn(2) == 0 {
		target = &s.step.ExpectedProducts
	}
	at := r.Intn(len(*target) + 1)
	*target = append((*target)[:at], append([]layout.Rule{nr}, (*target)[at:]...)...)
	c.Detail = fmt.Sprintf("step %s: inserted %s at %d", s.step.Name, nr, at)
}

// pathTamper applies TamperPrefixEscape or TamperDotPath to a step that
// has materials of the right kind.
func (c *Chain) pathTamper() {
	for _, s := range c.steps {
		switch {
		case c.Tamper == TamperPrefixEscape && len(s.relocated) > 0:
			var rels []string
			for rel := range s.relocated {
				rels = append(rels, rel)
			}
			sort.Strings(rels)
			rel := rels[c.r.Intn(len(rels))]
			if _, clash := s.materials[rel]; clash {
				continue
			}
			s.materials[rel] = s.relocated[rel]
			s.products[rel] = s.relocated[rel]
			s.step.ExpectedProducts = append([]layout.Rule{rule("ALLOW", rel)}, s.step.ExpectedProducts...)
			c.Detail = fmt.Sprintf("step %s: material %s outside %s/", s.step.Name, rel, s.relocDir)
			return
		case c.Tamper == TamperDotPath && len(s.matched) > 0:
			p := s.matched[c.r.Intn(len(s.matched))]
			s.materials["./"+p] = s.materials[p]
			delete(s.materials, p)
			if d, ok := s.products[p]; ok {
				s.products["./"+p] = d
				delete(s.products, p)
			}
			c.Detail = fmt.Sprintf("step %s: material %s recorded as ./%s", s.step.Name, p, p)
			return
		}
	}
}

func (c *Chain) keyByID(id string) *keys.Key {
	for _, k := range c.funcs {
		if k.HasID(id) {
			return k
		}
	}
	return nil
}

func (c *Chain) format() envelope.Format {
	if c.DSSE {
		return envelope.DSSE
	}
	return envelope.Metablock
}

func (c *Chain) signLink(l *link.Link, k *keys.Key) (*envelope.Envelope, error) {
	b, err := l.MarshalJSON()
	if err != nil {
		return nil, err
	}
	e, err := envelope.New(c.format(), envelope.PayloadTypeInToto, b)
	if err != nil {
		return nil, err
	}
	return e, e.Sign(context.Background(), k)
}

func linkName(step, keyID string) string { return link.FileName(step, keyID) }

func (c *Chain) signLinks() error {
	for _, s := range c.steps {
		if s.signers == nil {
			// Threshold links, sometimes one more.
			n := s.step.Threshold
			if n < len(s.step.PubKeys) && c.r.Intn(3) == 0 {
				n++
			}
			if c.Tamper == TamperShortfall && n >= s.step.Threshold {
				n = s.step.Threshold - 1
			}
			for _, id := range s.step.PubKeys[:n] {
				s.signers = append(s.signers, c.keyByID(id))
			}
		}
		for i, k := range s.signers {
			l := &link.Link{Name: s.step.Name, Command: s.command, Materials: s.materials, Products: s.products,
				ByProducts: map[string]any{"return-value": 0, "stdout": "", "stderr": ""}}
			e, err := c.signLink(l, k)
			if err != nil {
				return err
			}
			id := k.ID()
			if s.sigIDs != nil {
				id = s.sigIDs[i]
				e.Signatures[0].KeyID = id
			}
			name := linkName(s.step.Name, id)
			c.Links[name] = e
			s.linkFiles = append(s.linkFiles, name)
			s.linkPlains = append(s.linkPlains, l)
		}
	}
	return nil
}

// tamperLinks applies the link-level tamperings.
func (c *Chain) tamperLinks() error {
	r := c.r
	var withLinks []*stepState
	for _, s := range c.steps {
		if len(s.linkFiles) > 0 {
			withLinks = append(withLinks, s)
		}
	}
	if len(withLinks) == 0 {
		return nil
	}
	s := withLinks[r.Intn(len(withLinks))]
	i := r.Intn(len(s.linkFiles))
	file, plain := s.linkFiles[i], s.linkPlains[i]
	signer := s.signers[i]
	switch c.Tamper {
	case TamperDigest, TamperUnsigned, TamperExtra:
		t := *plain
		t.Materials, t.Products = clone(plain.Materials), clone(plain.Products)
		switch {
		case c.Tamper == TamperExtra:
			t.Products["evil.sh"] = link.DigestSet{"sha256": c.digest()}
			c.Detail = fmt.Sprintf("%s reports an extra product evil.sh", file)
		case len(t.Materials) > 0 && r.Intn(2) == 0:
			p := t.Materials.Paths()[r.Intn(len(t.Materials))]
			t.Materials[p] = link.DigestSet{"sha256": c.digest()}
			c.Detail = fmt.Sprintf("%s: material %s has another hash", file, p)
		default:
			p := t.Products.Paths()[r.Intn(len(t.Products))]
			t.Products[p] = link.DigestSet{"sha256": c.digest()}
			c.Detail = fmt.Sprintf("%s: product %s has another hash", file, p)
		}
		e, err := c.signLink(&t, signer)
		if err != nil {
			return err
		}
		if c.Tamper == TamperUnsigned {
			e.Signatures = c.Links[file].Signatures
		}
		c.Links[file] = e
		if c.Tamper != TamperUnsigned && len(s.linkFiles) > 1 && s.step.Threshold == 1 {
			c.Quirks = append(c.Quirks, QuirkDisagreeingLinks)
		}
	case TamperMissing:
		delete(c.Links, file)
		c.Detail = file + " removed"
	case TamperWrongKey:
		k := c.otherFunc(s)
		e, err := c.signLink(plain, k)
		if err != nil {
			return err
		}
		delete(c.Links, file)
		c.Links[linkName(s.step.Name, k.ID())] = e
		c.Detail = fmt.Sprintf("%s re-signed by unauthorised %s", file, k.ID()[:8])
	case TamperReplay:
		// A functionary authorised for two steps files its link of one as
		// the other's.
		for _, o := range c.steps {
			if o == s {
				continue
			}
			for _, id := range o.step.PubKeys {
				if signer.HasID(id) {
					c.Links[linkName(o.step.Name, signer.ID())] = c.Links[file]
					c.Detail = fmt.Sprintf("%s also filed as %s", file, linkName(o.step.Name, signer.ID()))
					return nil
				}
			}
		}
		// No shared functionary: authorise the signer for another step.
		if len(c.steps) > 1 {
			o := c.steps[0]
			if o == s {
				o = c.steps[1]
			}
			o.step.PubKeys = append(o.step.PubKeys, c.Layout.AddKey(signer))
			c.Links[linkName(o.step.Name, signer.ID())] = c.Links[file]
			c.Detail = fmt.Sprintf("%s also filed as %s", file, linkName(o.step.Name, signer.ID()))
		}
	}
	return nil
}

func clone(a link.Artifacts) link.Artifacts {
	out := make(link.Artifacts, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}

// LayoutPayload is the layout as signed. Every key carries its "keyid"
// member, which the Python reference requires to match signatures.
func (c *Chain) LayoutPayload() ([]byte, error) {
	b, err := c.Layout.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for id, k := range m["keys"].(map[string]any) {
		k.(map[string]any)["keyid"] = id
	}
	return json.Marshal(m)
}

func (c *Chain) signLayout() error {
	b, err := c.LayoutPayload()
	if err != nil {
		return err
	}
	e, err := envelope.New(c.format(), envelope.PayloadTypeInToto, b)
	if err != nil {
		return err
	}
	signer := c.Owner
	if c.Tamper == TamperLayoutKey {
		signer = c.funcs[0]
		c.Detail = "layout signed by " + signer.ID()[:8] + " instead of the owner"
	}
	c.LayoutEnv = e
	return e.Sign(context.Background(), signer)
}

// Write lays the chain out in dir: root.layout, owner.pub (securesystemslib
// JSON), owner.pem, and links/ with the link files.
func (c *Chain) Write(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "links"), 0o755); err != nil {
		return err
	}
	b, err := c.LayoutEnv.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "root.layout"), b, 0o644); err != nil {
		return err
	}
	pub, err := c.OwnerPub.MarshalJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pub"), pub, 0o644); err != nil {
		return err
	}
	pemb, err := c.OwnerPub.MarshalPEM(false)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pem"), pemb, 0o644); err != nil {
		return err
	}
	for name, e := range c.Links {
		b, err := e.Encode()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "links", name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Describe is a short human description of the chain for reproducers.
func (c *Chain) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %d step(s), tamper %s", c.Seed, len(c.steps), c.Tamper)
	if c.Detail != "" {
		fmt.Fprintf(&b, " (%s)", c.Detail)
	}
	if c.DSSE {
		b.WriteString(", DSSE")
	}
	for _, s := range c.steps {
		fmt.Fprintf(&b, "\n  step %s threshold %d/%d links %v", s.step.Name, s.step.Threshold, len(s.step.PubKeys), s.linkFiles)
		for _, r := range s.step.ExpectedMaterials {
			fmt.Fprintf(&b, "\n    materials: %s", r)
		}
		for _, r := range s.step.ExpectedProducts {
			fmt.Fprintf(&b, "\n    products:  %s", r)
		}
		fmt.Fprintf(&b, "\n    materials %v\n    products %v", s.materials.Paths(), s.products.Paths())
	}
	return b.String()
}

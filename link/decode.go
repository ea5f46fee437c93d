package link

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// decodeArtifacts is the fast path for the "materials" and "products"
// members, which hold nearly all of a link: it decodes the usual shape,
// {"path": {"alg": "hex", ...}, ...}, in one pass, sharing one string per
// algorithm name. Anything else (null, other types, escapes it would have
// to unquote) makes it give up with ok=false, and Parse decodes the member
// with encoding/json, which also words the errors. The two agree on every
// input (FuzzDecodeArtifacts).
//
// It also makes validateArtifacts' checks (no empty path or algorithm
// name, hex digests, no two algorithm names differing only in case), so a
// map it returns needs no second walk; an artifact that fails them makes
// it decline, and validateArtifacts words the error.
//
// raw is a member Split has validated as JSON.
func decodeArtifacts(raw []byte, shared *DigestSets) (a Artifacts, ok bool) {
	d := artifactDecoder{in: raw, algs: map[string]string{}, shared: shared}
	d.ws()
	if !d.byte('{') {
		return nil, false
	}
	// Sized from the text (an artifact takes about 100 bytes of it), so
	// that the map does not grow through its sizes one by one.
	size := min(len(raw)/128, 1<<20)
	a = make(Artifacts, size)
	if shared != nil {
		shared.expect(size)
	}
	d.ws()
	if d.byte('}') {
		return a, d.end()
	}
	for {
		d.ws()
		path, ok := d.str()
		if !ok {
			return nil, false
		}
		d.ws()
		if !d.byte(':') {
			return nil, false
		}
		d.ws()
		ds, ok := d.digestSet()
		if !ok || len(path) == 0 {
			return nil, false
		}
		a[string(path)] = ds // a repeated path: the last wins, as in encoding/json
		d.ws()
		if d.byte('}') {
			return a, d.end()
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

type artifactDecoder struct {
	in     []byte
	pos    int
	algs   map[string]string
	shared *DigestSets
}

func (d *artifactDecoder) end() bool {
	d.ws()
	return d.pos == len(d.in)
}

func (d *artifactDecoder) ws() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *artifactDecoder) byte(b byte) bool {
	if d.pos < len(d.in) && d.in[d.pos] == b {
		d.pos++
		return true
	}
	return false
}

// str reads a string without escapes, in valid UTF-8: its text is its
// value.
func (d *artifactDecoder) str() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.pos
	for d.pos < len(d.in) {
		switch c := d.in[d.pos]; {
		case c == '"':
			s := d.in[start:d.pos]
			d.pos++
			return s, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		d.pos++
	}
	return nil, false
}

func (d *artifactDecoder) digestSet() (DigestSet, bool) {
	if !d.byte('{') {
		return nil, false
	}
	d.ws()
	if d.byte('}') {
		return make(DigestSet, 1), true
	}
	var ds DigestSet
	for {
		d.ws()
		alg, ok := d.str()
		if !ok {
			return nil, false
		}
		d.ws()
		if !d.byte(':') {
			return nil, false
		}
		d.ws()
		hex, ok := d.str()
		if !ok || len(alg) == 0 || !isHexBytes(hex) {
			return nil, false
		}
		d.ws()
		end := d.byte('}')
		if end && ds == nil && d.shared != nil {
			// One algorithm, the usual set: shared with every equal set
			// of this verification.
			return d.shared.get(alg, hex), true
		}
		name, seen := d.algs[string(alg)]
		if !seen {
			name = string(alg)
			d.algs[name] = name
		}
		if ds == nil {
			ds = make(DigestSet, 1)
		}
		ds[name] = string(hex)
		if end {
			// Two algorithm names that differ only in case are
			// validateArtifacts' to report.
			return ds, len(ds) < 2 || checkAlgorithmCase("", "", ds) == nil
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

// DigestSets lets the links parsed for one verification share their equal
// one-algorithm digest sets: the products of one step are, artifact by
// artifact, the materials of the next, and a digest set is most of an
// artifact's memory. The links it is given to hold digest sets that other
// links hold too: treat them as read-only (replace an artifact's set, never
// change it in place). Safe for concurrent use; the zero value is ready.
type DigestSets struct {
	// shards split the table by the digest's first hex digits, so that
	// links decoded in parallel seldom wait for each other's lock.
	shards [256]digestShard
	// size is the expected number of sets, to size new tables at once
	// rather than grow them through every size (a million artifacts).
	size atomic.Int64
}

type digestShard struct {
	mu sync.Mutex
	// byAlg maps an algorithm name to the sets by their hex digest.
	byAlg map[string]map[string]DigestSet
	// One shard per cache line: two decoders locking neighbouring shards
	// would otherwise take the line from each other's core.
	_ [64 - 16]byte
}

func (t *DigestSets) expect(n int) {
	for {
		old := t.size.Load()
		if int64(n) <= old || t.size.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

func (t *DigestSets) get(alg, hex []byte) DigestSet {
	// hex is non-empty hex (isHexBytes): its first two digits pick the
	// shard, evenly for any hash.
	i := int(hexDigitValue(hex[0]))
	if len(hex) > 1 {
		i = i<<4 | int(hexDigitValue(hex[1]))
	}
	sh := &t.shards[i]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.byAlg == nil {
		sh.byAlg = map[string]map[string]DigestSet{}
	}
	m, ok := sh.byAlg[string(alg)]
	if !ok {
		m = make(map[string]DigestSet, t.size.Load()/int64(len(t.shards)))
		sh.byAlg[string(alg)] = m
	}
	if ds, ok := m[string(hex)]; ok {
		return ds
	}
	h := string(hex)
	ds := DigestSet{string(alg): h}
	m[h] = ds
	return ds
}

func hexDigitValue(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// takeArtifacts decodes member name of f into *a, fast when it can, and
// reports whether it did (the map is then validated).
func takeArtifacts(f map[string]json.RawMessage, name string, a *Artifacts, shared *DigestSets) bool {
	raw, present := f[name]
	if !present {
		return false
	}
	got, ok := decodeArtifacts(raw, shared)
	if !ok {
		return false
	}
	*a = got
	delete(f, name)
	return true
}

func isHexBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !hexDigit[c] {
			return false
		}
	}
	return true
}

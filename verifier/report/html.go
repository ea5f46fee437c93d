package report

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"
)

// Geometry of the chain drawing. Boxes are as wide as their longest line
// (textWidth), levels of the chain run left to right and wrap into bands
// below one another so that the drawing fits maxWidth: a chain of any
// length stays at its natural size, never shrunk to unreadable text.
const (
	boxH         = 72
	minBoxW      = 150
	maxBoxW      = 420
	rowH         = 96 // box plus the gap to the box below in the same level
	minGap       = 90 // between levels: room for an edge and its label
	margin       = 24
	arcPad       = 64   // room above a band for edges that skip levels
	bandGap      = 72   // between bands: edges to the next band and labels
	maxWidth     = 1180 // the drawing's width budget (a 1280px window)
	maxNameRunes = 44
	maxLineRunes = 52
)

type node struct {
	X, Y, W, H   int
	Name, Type   string
	Full         string // the untruncated name, for the tooltip
	Status       string
	Line2, Line3 string
}

type edge struct {
	Path           string
	LabelX, LabelY int
	Label, Title   string
	Class          string // ok, fail, missing
}

type graph struct {
	Width, Height int
	Nodes         []node
	Edges         []edge
}

// flow is the artifacts one item takes from another through MATCH rules.
type flow struct {
	from, to string
	consumed int
	missed   int
	sample   []string
	missing  bool
}

// textWidth estimates the rendered width in pixels of s in a sans-serif
// font of size px, erring wide: the Chromium test checks that every label
// fits its box.
func textWidth(s string, px float64, bold bool) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljtf.,:;'|!()[] ", r):
			w += 0.36
		case strings.ContainsRune("mwMW@%", r):
			w += 0.95
		case r >= 'A' && r <= 'Z':
			w += 0.72
		case r < 128:
			w += 0.6
		default:
			w += 1.0
		}
	}
	if bold {
		w *= 1.1
	}
	return int(w*px + 0.999)
}

type rect struct{ x, y, w, h int }

func (a rect) overlaps(b rect) bool {
	return a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
}

// chainGraph lays out steps and inspections by level: an item sits one
// level right of the rightmost earlier item it MATCHes from. Levels wrap
// into bands that fit maxWidth.
func chainGraph(r *Report) graph {
	items := append(append([]Item{}, r.Steps...), r.Inspections...)
	index := map[string]int{}
	for i, it := range items {
		index[it.Name] = i
	}
	flows := map[[2]string]*flow{}
	var order [][2]string
	for _, it := range items {
		for _, rs := range []*Rules{it.Materials, it.Products} {
			if rs == nil {
				continue
			}
			for _, ru := range rs.Rules {
				if ru.From == "" || ru.From == it.Name {
					continue
				}
				if _, ok := index[ru.From]; !ok {
					continue
				}
				k := [2]string{ru.From, it.Name}
				f := flows[k]
				if f == nil {
					f = &flow{from: ru.From, to: it.Name}
					flows[k] = f
					order = append(order, k)
				}
				f.consumed += ru.Consumed
				f.missed += ru.Missed
				f.sample = append(f.sample, ru.ConsumedSample...)
				f.missing = f.missing || ru.DestMissing
			}
		}
	}
	level := make([]int, len(items))
	for changed, n := true, 0; changed && n <= len(items); n++ {
		changed = false
		for _, k := range order {
			i, j := index[k[0]], index[k[1]]
			if i < j && level[i]+1 > level[j] {
				level[j] = level[i] + 1
				changed = true
			}
		}
	}
	nLevels := 0
	for _, l := range level {
		nLevels = max(nLevels, l+1)
	}

	// Nodes and their widths.
	g := graph{}
	for _, it := range items {
		n := node{H: boxH, Name: truncate(it.Name, maxNameRunes), Full: it.Name, Type: it.Type, Status: it.Status}
		switch {
		case len(it.Sublayouts) > 0:
			n.Line2 = fmt.Sprintf("sublayout of %d step(s)", len(it.Sublayouts[0].Steps))
		case it.Type == "step":
			n.Line2 = fmt.Sprintf("%d of %d functionaries", len(it.Signers), it.Threshold)
		case len(it.Run) > 0 && !it.Ran:
			n.Line2 = "would run " + strings.Join(it.Run, " ")
		case len(it.Run) > 0:
			n.Line2 = "ran " + strings.Join(it.Run, " ")
		}
		if n.Line2 == "" {
			n.Line2 = htmlWord(it.Status)
		} else {
			n.Line2 = truncate(htmlWord(it.Status)+" · "+n.Line2, maxLineRunes)
		}
		switch {
		case it.Materials != nil && it.Products != nil:
			n.Line3 = fmt.Sprintf("%d in → %d out", it.Materials.Artifacts, it.Products.Artifacts)
		case it.Status == "skipped":
			n.Line3 = "not run"
		default:
			n.Line3 = "no verified link"
		}
		// Lines too wide for the widest box lose their end to "…".
		for textWidth(n.Name, 14, true)+24 > maxBoxW {
			n.Name = truncate(n.Name, len([]rune(n.Name))-1)
		}
		for textWidth(n.Line2, 12, false)+24 > maxBoxW {
			n.Line2 = truncate(n.Line2, len([]rune(n.Line2))-1)
		}
		w := max(textWidth(n.Name, 14, true), textWidth(n.Line2, 12, false), textWidth(n.Line3, 12, false)) + 24
		n.W = min(max(w, minBoxW), maxBoxW)
		g.Nodes = append(g.Nodes, n)
	}

	// Edge labels first: the gap between two levels fits the widest.
	type elabel struct {
		text, title, class string
		w                  int
	}
	labels := make([]elabel, len(order))
	for i, k := range order {
		f := flows[k]
		e := elabel{class: "ok"}
		switch {
		case f.missing:
			e.class, e.text = "missing", "no link from "+f.from
		case f.missed > 0:
			e.class = "fail"
			e.text = fmt.Sprintf("%d mismatched", f.missed)
			if f.consumed > 0 {
				e.text = fmt.Sprintf("%d ok, %d mismatched", f.consumed, f.missed)
			}
		default:
			e.text = fmt.Sprintf("%d artifact(s)", f.consumed)
		}
		sort.Strings(f.sample)
		e.title = fmt.Sprintf("%s → %s: %d artifact(s) matched", f.from, f.to, f.consumed)
		if len(f.sample) > 0 {
			e.title += ": " + strings.Join(f.sample, ", ")
			if f.consumed > len(f.sample) {
				e.title += ", …"
			}
		}
		if f.consumed > 0 && f.consumed <= 2 && !f.missing && f.missed == 0 {
			e.text = truncate(strings.Join(f.sample, ", "), 30)
		}
		e.w = textWidth(e.text, 11, false) + 8
		labels[i] = e
	}
	levelW := make([]int, nLevels)
	levelN := make([]int, nLevels)
	for i, l := range level {
		levelW[l] = max(levelW[l], g.Nodes[i].W)
		levelN[l]++
	}
	gap := make([]int, nLevels) // gap[l]: before level l
	for i := range gap {
		gap[i] = minGap
	}
	for i, k := range order {
		a, b := level[index[k[0]]], level[index[k[1]]]
		if b == a+1 {
			gap[b] = max(gap[b], labels[i].w+24)
		}
	}

	// Bands of levels that fit maxWidth.
	band := make([]int, nLevels)
	levelX := make([]int, nLevels)
	var bandStart []int
	x := margin
	for l := 0; l < nLevels; l++ {
		if l == 0 || x+gap[l]+levelW[l]+margin > maxWidth {
			bandStart = append(bandStart, l)
			x = margin
		} else {
			x += gap[l]
		}
		band[l] = len(bandStart) - 1
		levelX[l] = x
		x += levelW[l]
	}
	// Which bands need room above for arcs over skipped levels.
	arcs := make([]bool, len(bandStart))
	for _, k := range order {
		a, b := level[index[k[0]]], level[index[k[1]]]
		if b-a > 1 && band[a] == band[b] {
			arcs[band[a]] = true
		}
	}
	bandTop := make([]int, len(bandStart))
	bandBottom := make([]int, len(bandStart))
	y := margin
	for bi, start := range bandStart {
		if arcs[bi] {
			y += arcPad
		}
		bandTop[bi] = y
		rows := 1
		for l := start; l < nLevels && band[l] == bi; l++ {
			rows = max(rows, levelN[l])
		}
		y += (rows-1)*rowH + boxH
		bandBottom[bi] = y
		y += bandGap
	}
	g.Height = y - bandGap + margin

	rowOf := map[int]int{}
	for i := range g.Nodes {
		l := level[i]
		n := &g.Nodes[i]
		n.X = levelX[l]
		n.Y = bandTop[band[l]] + rowOf[l]*rowH
		rowOf[l]++
		g.Width = max(g.Width, n.X+n.W+margin)
	}

	// Edges, and their labels placed clear of boxes and other labels.
	railX, rails := g.Width, 0
	var taken []rect
	for _, n := range g.Nodes {
		taken = append(taken, rect{n.X - 2, n.Y - 2, n.W + 4, n.H + 4})
	}
	for i, k := range order {
		a, b := g.Nodes[index[k[0]]], g.Nodes[index[k[1]]]
		la, lb := level[index[k[0]]], level[index[k[1]]]
		e := edge{Class: labels[i].class, Label: labels[i].text, Title: labels[i].title}
		switch {
		case band[la] == band[lb] && lb == la+1:
			sx, sy := a.X+a.W, a.Y+boxH/2
			tx, ty := b.X, b.Y+boxH/2
			mid := (sx + tx) / 2
			e.Path = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", sx, sy, mid, sy, mid, ty, tx-2, ty)
			e.LabelX, e.LabelY = mid, (sy+ty)/2-6
		case band[la] == band[lb] && lb > la:
			// Skipping levels: arc over the boxes in between.
			sx, sy := a.X+a.W/2, a.Y
			tx, ty := b.X+b.W/2, b.Y
			up := bandTop[band[la]] - arcPad + 8
			e.Path = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", sx, sy, sx, up, tx, up, tx, ty-2)
			e.LabelX, e.LabelY = (sx+tx)/2, up+16
		case band[lb] > band[la]+1:
			// Past whole bands: down into the gap below the source's
			// band, right to a rail beside the drawing, down it, and in
			// along the gap above the target's band.
			sx, sy := a.X+a.W/2, a.Y+boxH
			tx, ty := b.X+b.W/2, b.Y
			rail := railX + 12*rails
			rails++
			gy1 := bandBottom[band[la]] + bandGap/2 + 6*(rails%3)
			gy2 := bandTop[band[lb]] - bandGap/2 - 6*(rails%3)
			if arcs[band[lb]] {
				gy2 -= arcPad
			}
			e.Path = fmt.Sprintf("M%d %d L%d %d L%d %d L%d %d L%d %d L%d %d", sx, sy, sx, gy1, rail, gy1, rail, gy2, tx, gy2, tx, ty-2)
			e.LabelX, e.LabelY = (tx+rail)/2, gy2-4
			g.Width = max(g.Width, rail+margin)
		case band[lb] > band[la]:
			// To the next band: down from the box, into the band below.
			sx, sy := a.X+a.W/2, a.Y+boxH
			tx, ty := b.X+b.W/2, b.Y
			e.Path = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", sx, sy, sx, sy+bandGap, tx, ty-bandGap, tx, ty-2)
			e.LabelX, e.LabelY = (sx+tx)/2, (sy+ty)/2+4
		default:
			// Same level or backwards: loop below the boxes.
			sx, sy := a.X+a.W/2, a.Y+boxH
			tx, ty := b.X+b.W/2, b.Y+boxH
			e.Path = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", sx, sy, sx, sy+40, tx, ty+40, tx, ty+2)
			e.LabelX, e.LabelY = (sx+tx)/2, max(sy, ty)+36
		}
		// Move the label down or up, then sideways along its edge, until it
		// is clear of boxes and other labels.
		w := labels[i].w
		placed := false
		for _, dx := range []int{0, -(w/2 + 6), w/2 + 6, -(w + 12), w + 12} {
			for _, dy := range []int{0, 14, -14, 28, -28, 42, -42, 56, -56, 70, 84, 98} {
				r := rect{e.LabelX + dx - w/2, e.LabelY + dy - 11, w, 15}
				if r.y < 2 || r.x < 2 {
					continue
				}
				clear := true
				for _, t := range taken {
					if r.overlaps(t) {
						clear = false
						break
					}
				}
				if clear {
					e.LabelX += dx
					e.LabelY += dy
					taken = append(taken, r)
					placed = true
					break
				}
			}
			if placed {
				break
			}
		}
		if !placed {
			taken = append(taken, rect{e.LabelX - w/2, e.LabelY - 11, w, 15})
		}
		g.Width = max(g.Width, e.LabelX+w/2+margin)
		g.Height = max(g.Height, e.LabelY+margin)
		g.Edges = append(g.Edges, e)
	}
	if len(g.Nodes) == 0 {
		g.Width, g.Height = 2*margin, 2*margin
	}
	return g
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func htmlWord(s string) string {
	switch s {
	case "passed":
		return "PASS"
	case "skipped":
		return "SKIP"
	}
	return "FAIL"
}

// info is the HTML-only part of a report (empty for a Report read back
// from JSON).
func info(r any) *htmlInfo {
	var h *htmlInfo
	switch r := r.(type) {
	case *Report:
		h = r.html
	case Report:
		h = r.html
	}
	if h == nil {
		h = &htmlInfo{}
	}
	return h
}

var htmlTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"graph": chainGraph,
	"info":  info,
	"join":  func(s []string) string { return strings.Join(s, " ") },
	"inc":   func(i int) int { return i + 1 },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"word":  htmlWord,
	"name":  func(h *htmlInfo, id string) string { return h.keyName(id) },
	"names": func(h *htmlInfo, ids []string) string { return namedList(ids, h.keyName) },
	// functionaries are the keys that signed accepted evidence.
	"functionaries": func(r *Report) []string {
		seen := map[string]bool{}
		var out []string
		for _, it := range r.Steps {
			for _, s := range it.Signers {
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
		sort.Strings(out)
		return out
	},
	// itemConcl leads an item's i-th failure with its conclusion, unless
	// an earlier failure of the item said the same (the materials and
	// products failures of one artifact read the same).
	"itemConcl": func(h *htmlInfo, item string, i int) string {
		if cs := h.ItemConclusions[item]; i < len(cs) && !slices.Contains(cs[:i], cs[i]) {
			return cs[i]
		}
		return ""
	},
	"whatFailed": whatFailed,
	"anchor":     func(s string) string { return "item-" + s },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>toto verification: {{if .Passed}}PASS{{else}}FAIL{{end}}{{with .Layout}} — {{.}}{{end}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:700;margin-right:8px}
.verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}
.meta{color:#555}
table.headline{margin-top:12px}
table.headline>tbody>tr>th{background:#f3f3f3;width:11em}
table.headline table{margin:0;border:0}
table.headline table td{border:0;padding:1px 12px 1px 0}
code.digest{word-break:break-all}
.chain{overflow-x:auto;max-width:100%}
.chain svg{background:#fff;border:1px solid #ddd;border-radius:6px;display:block}
.node rect{stroke-width:2;rx:8}
.node.passed rect{fill:#e8f5e9;stroke:#2e7d32}
.node.failed rect{fill:#ffebee;stroke:#c62828}
.node.skipped rect{fill:#f1f1f1;stroke:#9e9e9e;stroke-dasharray:5 3}
.node.inspection rect{rx:22}
.node text{font-size:12px;fill:#333}
.node text.name{font-weight:700;font-size:14px}
.edge path{fill:none;stroke-width:2}
.edge.ok path{stroke:#2e7d32}
.edge.fail path{stroke:#c62828;stroke-width:3}
.edge.missing path{stroke:#9e9e9e;stroke-dasharray:6 4}
.edge text{font-size:11px;fill:#333;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:4px}
table{border-collapse:collapse;margin:6px 0 12px;background:#fff}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
td.num{text-align:right}
tr.bad td{background:#ffebee}
code{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
details{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px 12px;margin:8px 0}
summary{cursor:pointer;font-weight:600}
.st{font-weight:700}.st.passed{color:#2e7d32}.st.failed{color:#c62828}.st.skipped{color:#777}
ul.fail{padding-left:20px}
ul.fail li{margin:6px 0}
.concl{color:#b71c1c;font-weight:600}
.count{font-weight:400}
.mech{color:#555;font-size:13px}
.sub{margin-left:24px;border-left:3px solid #ccc;padding-left:12px}
</style>
</head>
<body>
{{template "report" .}}
</body>
</html>
{{define "report"}}{{$h := info .}}
<h1 id="verdict"><span class="verdict {{if .Passed}}pass{{else}}fail{{end}}">{{if .Passed}}PASS{{else}}FAIL{{end}}</span>{{if .Name}}sublayout of step {{.Name}}{{else}}{{with .Layout}}{{.}}{{else}}supply chain{{end}}{{end}}</h1>
<div class="meta">{{if .Passed}}Every check passed.{{else}}{{len .Failures}} failure(s).{{end}} Verified at {{.VerifiedAt}}.</div>
<table class="headline" id="headline">
{{if or $h.Artifacts $h.MoreArtifacts}}<tr id="artifacts"><th>{{if .Passed}}verified artifacts{{else}}final products (<b>not</b> verified)<br><small>as the last step&#39;s link records them</small>{{end}}</th><td><table>{{range $h.Artifacts}}<tr><td><code>{{.Path}}</code></td><td>{{range .Digests}}<code class="digest">{{.}}</code><br>{{end}}</td></tr>{{end}}{{with $h.MoreArtifacts}}<tr><td colspan="2">… and {{.}} more</td></tr>{{end}}</table></td></tr>{{end}}
<tr><th>layout</th><td>{{if .Name}}sublayout of step {{.Name}}{{else}}{{with .Layout}}<code>{{.}}</code>{{end}}{{end}}{{with $h.LayoutDigest}} <code class="digest" id="layout-digest">{{.}}</code>{{end}}<br>{{if .Expired}}<b>expired</b> on{{else}}expires{{end}} {{.Expires}}</td></tr>
<tr><th>layout signed by</th><td>{{range .Signatures}}{{if .OK}}{{name $h .KeyID}} ✓ {{else}}<b>not {{name $h .KeyID}}</b> {{end}}{{else}}—{{end}}</td></tr>
{{with functionaries .}}<tr><th>functionaries</th><td>{{names $h .}}</td></tr>{{end}}
{{with $h.Version}}<tr><th>toto</th><td>{{.}}</td></tr>{{end}}
</table>
{{with .Failures}}{{$w := whatFailed $h .}}<h2>What failed</h2><ul class="fail" id="failures">{{range $w.Entries}}<li><div class="concl">{{.Conclusion}}{{if gt .Count 1}} <span class="count">({{.Count}} failures)</span>{{end}}</div>{{if .Item}}<div class="mech">details under <a href="#{{anchor .Item}}">{{.Item}}</a></div>{{else}}<div class="mech">{{.Message}}</div>{{end}}</li>{{end}}{{with $w.More}}<li>… and {{.}} more (toto verify --json lists them all)</li>{{end}}</ul>{{end}}
{{$g := graph .}}
<h2>Chain</h2>
<div class="chain"><svg xmlns="http://www.w3.org/2000/svg" width="{{$g.Width}}" height="{{$g.Height}}" viewBox="0 0 {{$g.Width}} {{$g.Height}}" role="img" aria-label="supply chain graph">
<defs>
<marker id="a-ok" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#2e7d32"/></marker>
<marker id="a-fail" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#c62828"/></marker>
<marker id="a-missing" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#9e9e9e"/></marker>
</defs>
{{range $g.Edges}}<g class="edge {{.Class}}"><title>{{.Title}}</title><path d="{{.Path}}" marker-end="url(#a-{{.Class}})"/><text x="{{.LabelX}}" y="{{.LabelY}}">{{.Label}}</text></g>
{{end}}{{range $g.Nodes}}<g class="node {{.Status}} {{.Type}}"><title>{{.Type}} {{.Full}}: {{.Status}}</title><rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"/><text class="name" x="{{.X}}" y="{{.Y}}" dx="12" dy="22">{{.Name}}</text><text x="{{.X}}" y="{{.Y}}" dx="12" dy="40">{{.Line2}}</text><text x="{{.X}}" y="{{.Y}}" dx="12" dy="57">{{.Line3}}</text></g>
{{end}}</svg></div>
{{if .Steps}}<h2>Steps</h2>{{range .Steps}}{{template "item" dict "I" . "H" $h}}{{end}}{{end}}
{{if .Inspections}}<h2>Inspections</h2>{{range .Inspections}}{{template "item" dict "I" . "H" $h}}{{end}}{{end}}
{{if .Attestations}}<h2>Attestations</h2><table><tr><th>attestation</th><th>predicate type</th><th>signed by</th><th>about</th><th>result</th></tr>
{{range .Attestations}}<tr{{if .Failures}} class="bad"{{end}}><td>{{.Source}}</td><td><code>{{.PredicateType}}</code></td><td>{{names $h .Signers}}</td><td>{{range .Subjects}}<code>{{.}}</code> {{end}}</td><td>{{if .Failures}}{{range .Failures}}{{.}}<br>{{end}}{{else}}ok{{if not .Checked}} (predicate not checked){{end}}{{end}}</td></tr>{{end}}</table>{{end}}
{{if .Warnings}}<h2>Warnings</h2><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
{{define "item"}}{{$h := .H}}{{with .I}}
<details id="{{anchor .Name}}"{{if or (ne .Status "passed") .Sublayouts}} open{{end}}><summary><span class="st {{.Status}}">{{word .Status}}</span> {{.Type}} <code>{{.Name}}</code>{{if eq .Type "step"}} — {{len .Signers}} of {{.Threshold}} functionaries{{with .Signers}}: {{names $h .}}{{end}}{{end}}</summary>
{{with .SkipReason}}<p>{{.}}</p>{{end}}
{{$name := .Name}}{{with .Failures}}<ul class="fail">{{range $i, $f := .}}<li>{{with itemConcl $h $name $i}}<div class="concl">{{.}}</div>{{end}}<div class="mech">{{$f}}</div></li>{{end}}</ul>{{end}}
{{if .Links}}<table><tr><th>evidence</th><th>signed by</th><th>result</th></tr>{{range .Links}}<tr{{if not .Accepted}} class="bad"{{end}}><td><code>{{.File}}</code>{{if .Sublayout}} (sublayout){{end}}</td><td>{{names $h .Signers}}</td><td>{{if .Accepted}}accepted{{else}}ignored: {{.Reason}}{{end}}</td></tr>{{end}}</table>{{end}}
{{with .Run}}{{if not $.I.Ran}}<p>Would run <code>{{join .}}</code>; it did not run.</p>{{else}}<p>Ran <code>{{join .}}</code>, exit status {{$.I.ExitCode}}.</p>{{end}}{{end}}
{{with .Materials}}{{template "rules" dict "Name" "materials" "R" .}}{{end}}
{{with .Products}}{{template "rules" dict "Name" "products" "R" .}}{{end}}
{{range .Sublayouts}}<div class="sub">{{template "report" .}}</div>{{end}}
</details>{{end}}
{{end}}
{{define "rules"}}
<table><tr><th colspan="6">{{.Name}}: {{.R.Artifacts}} artifact(s), {{.R.Unconsumed}} left unconsumed</th></tr>
<tr><th>#</th><th>rule</th><th>selected</th><th>consumed</th><th>queue after</th><th>result</th></tr>
{{range .R.Rules}}<tr{{if .Failed}} class="bad"{{end}}><td class="num">{{.Index | inc}}</td><td><code>{{.Rule}}</code></td><td class="num">{{.Matched}}</td><td class="num" title="{{range .ConsumedSample}}{{.}} {{end}}">{{.Consumed}}</td><td class="num">{{.QueueAfter}}</td><td>{{if .Failed}}{{.Failed}} failed{{else if .DestMissing}}FROM step has no link{{else if .Missed}}{{.Missed}} near miss(es){{else}}ok{{end}}</td></tr>
{{end}}</table>
{{end}}`))

// HTML writes the report as one self-contained HTML page (inline CSS and
// SVG, no scripts, no external assets). It leads with the verdict, the
// final artifacts with their full digests, the layout's digest and
// signers (by name, with Options.Names) and toto's version; then each
// failure's conclusion in plain words, with the rule mechanics under the
// step it concerns; then the chain, drawn at its natural size and wrapped
// into bands so that long chains stay readable.
func (r *Report) HTML(w io.Writer) error {
	return htmlTmpl.Execute(w, r)
}

type failedEntry struct {
	Conclusion, Item, Message string
	Count                     int
}

type failedList struct {
	Entries []failedEntry
	More    int // failures not listed
}

// whatFailed is the list under "What failed": one entry per conclusion
// and item (two rule failures of one step about one artifact read the
// same), at most MaxList of them.
func whatFailed(h *htmlInfo, fs []Failure) failedList {
	var out failedList
	at := map[[2]string]int{}
	for i, f := range fs {
		c := f.Message
		if i < len(h.Conclusions) && h.Conclusions[i] != "" {
			c = h.Conclusions[i]
		}
		k := [2]string{c, f.Item}
		if j, ok := at[k]; ok {
			out.Entries[j].Count++
			continue
		}
		if len(out.Entries) == h.max() {
			out.More++
			continue
		}
		at[k] = len(out.Entries)
		out.Entries = append(out.Entries, failedEntry{Conclusion: c, Item: f.Item, Message: f.Message, Count: 1})
	}
	return out
}

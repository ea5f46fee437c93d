package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/toto-dev/toto/keys"
)

// Geometry of the chain drawing.
const (
	boxW, boxH = 190, 72
	colW, rowH = 330, 104
	margin     = 24
	arcPad     = 64 // room above the boxes for edges that skip columns
)

type node struct {
	X, Y, W, H   int
	Name, Type   string
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

// chainGraph lays out steps and inspections in columns: an item sits one
// column right of the rightmost earlier item it MATCHes from.
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
	for _, k := range order {
		i, j := index[k[0]], index[k[1]]
		if i < j && level[i]+1 > level[j] {
			level[j] = level[i] + 1
		}
	}
	// Levels only grow along the order, so one more pass settles chains.
	for _, k := range order {
		i, j := index[k[0]], index[k[1]]
		if i < j && level[i]+1 > level[j] {
			level[j] = level[i] + 1
		}
	}
	g := graph{}
	top := margin
	for _, k := range order {
		if level[index[k[1]]]-level[index[k[0]]] > 1 {
			top += arcPad
			break
		}
	}
	rows := map[int]int{}
	pos := make([][2]int, len(items))
	for i, it := range items {
		x := margin + level[i]*colW
		y := top + rows[level[i]]*rowH
		rows[level[i]]++
		pos[i] = [2]int{x, y}
		n := node{X: x, Y: y, W: boxW, H: boxH, Name: it.Name, Type: it.Type, Status: it.Status}
		switch {
		case len(it.Sublayouts) > 0:
			n.Line2 = fmt.Sprintf("sublayout of %d step(s)", len(it.Sublayouts[0].Steps))
		case it.Type == "step":
			n.Line2 = fmt.Sprintf("%d of %d functionaries", len(it.Signers), it.Threshold)
		case len(it.Run) > 0 && it.Status == "skipped":
			n.Line2 = "runs " + truncate(strings.Join(it.Run, " "), 23)
		case len(it.Run) > 0:
			n.Line2 = "ran " + truncate(strings.Join(it.Run, " "), 24)
		}
		if it.Materials != nil && it.Products != nil {
			n.Line3 = fmt.Sprintf("%d in → %d out", it.Materials.Artifacts, it.Products.Artifacts)
		} else if it.Status == "skipped" {
			n.Line3 = "not run"
		} else {
			n.Line3 = "no verified link"
		}
		g.Nodes = append(g.Nodes, n)
		if x+boxW+margin > g.Width {
			g.Width = x + boxW + margin
		}
		if y+boxH+margin > g.Height {
			g.Height = y + boxH + margin
		}
	}
	for _, k := range order {
		f := flows[k]
		a, b := pos[index[f.from]], pos[index[f.to]]
		sx, sy := a[0]+boxW, a[1]+boxH/2
		tx, ty := b[0], b[1]+boxH/2
		e := edge{Class: "ok"}
		span := level[index[f.to]] - level[index[f.from]]
		if span > 1 {
			// Skipping columns: arc over the boxes in between.
			sx, sy = a[0]+boxW/2, a[1]
			tx, ty = b[0]+boxW/2, b[1]
			up := min(sy, ty) - arcPad + 8
			e.Path = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", sx, sy, sx, up, tx, up, tx, ty-2)
			e.LabelX, e.LabelY = (sx+tx)/2, up+12
		} else if tx > sx {
			mid := (sx + tx) / 2
			e.Path = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", sx, sy, mid, sy, mid, ty, tx-2, ty)
			e.LabelX, e.LabelY = mid, (sy+ty)/2-6
		} else {
			// Same column or backwards: loop below the boxes.
			sx, sy = a[0]+boxW/2, a[1]+boxH
			tx, ty = b[0]+boxW/2, b[1]+boxH
			e.Path = fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", sx, sy, sx, sy+40, tx, ty+40, tx, ty+2)
			e.LabelX, e.LabelY = (sx+tx)/2, max(sy, ty)+36
			if e.LabelY+margin > g.Height {
				g.Height = e.LabelY + margin
			}
		}
		switch {
		case f.missing:
			e.Class, e.Label = "missing", "no link from "+f.from
		case f.missed > 0:
			e.Class = "fail"
			e.Label = fmt.Sprintf("%d mismatched", f.missed)
			if f.consumed > 0 {
				e.Label = fmt.Sprintf("%d ok, %d mismatched", f.consumed, f.missed)
			}
		default:
			e.Label = fmt.Sprintf("%d artifact(s)", f.consumed)
		}
		sort.Strings(f.sample)
		e.Title = fmt.Sprintf("%s → %s: %d artifact(s) matched", f.from, f.to, f.consumed)
		if len(f.sample) > 0 {
			e.Title += ": " + strings.Join(f.sample, ", ")
			if f.consumed > len(f.sample) {
				e.Title += ", …"
			}
		}
		if f.consumed > 0 && f.consumed <= 2 && !f.missing && f.missed == 0 {
			e.Label = truncate(strings.Join(f.sample, ", "), 30)
		}
		g.Edges = append(g.Edges, e)
	}
	if g.Width == 0 {
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

var htmlTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"graph":     chainGraph,
	"short":     keys.ShortID,
	"shortList": shortList,
	"join":      func(s []string) string { return strings.Join(s, " ") },
	"inc":       func(i int) int { return i + 1 },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"word": func(s string) string {
		switch s {
		case "passed":
			return "PASS"
		case "skipped":
			return "SKIP"
		}
		return "FAIL"
	},
	"otherFailures": func(r *Report) []Failure {
		var out []Failure
		for _, f := range r.Failures {
			if f.Item == "" {
				out = append(out, f)
			}
		}
		return out
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>toto verification: {{if .Passed}}PASS{{else}}FAIL{{end}}{{with .Layout}} — {{.}}{{end}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:700;margin-right:8px}
.verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}
.meta{color:#555}
svg{background:#fff;border:1px solid #ddd;border-radius:6px;max-width:100%;height:auto}
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
ul.fail li{color:#b71c1c}
.sub{margin-left:24px;border-left:3px solid #ccc;padding-left:12px}
</style>
</head>
<body>
{{template "report" .}}
</body>
</html>
{{define "report"}}
<h1><span class="verdict {{if .Passed}}pass{{else}}fail{{end}}">{{if .Passed}}PASS{{else}}FAIL{{end}}</span>{{if .Name}}sublayout of step {{.Name}}{{else}}{{with .Layout}}{{.}}{{else}}supply chain{{end}}{{end}}</h1>
<div class="meta">{{if .Passed}}Every check passed.{{else}}{{len .Failures}} failure(s).{{end}}
Layout {{if .Expired}}<b>expired</b> on{{else}}expires{{end}} {{.Expires}}; verified at {{.VerifiedAt}}.
{{range .Signatures}}{{if .OK}}Signed by layout key <code>{{short .KeyID}}</code>. {{else}}<b>{{.Error}}</b>. {{end}}{{end}}</div>
{{$g := graph .}}
<h2>Chain</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="{{$g.Width}}" height="{{$g.Height}}" viewBox="0 0 {{$g.Width}} {{$g.Height}}" role="img" aria-label="supply chain graph">
<defs>
<marker id="a-ok" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#2e7d32"/></marker>
<marker id="a-fail" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#c62828"/></marker>
<marker id="a-missing" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#9e9e9e"/></marker>
</defs>
{{range $g.Edges}}<g class="edge {{.Class}}"><title>{{.Title}}</title><path d="{{.Path}}" marker-end="url(#a-{{.Class}})"/><text x="{{.LabelX}}" y="{{.LabelY}}">{{.Label}}</text></g>
{{end}}{{range $g.Nodes}}<g class="node {{.Status}} {{.Type}}"><title>{{.Type}} {{.Name}}: {{.Status}}</title><rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"/><text class="name" x="{{.X}}" y="{{.Y}}" dx="12" dy="22">{{.Name}}</text><text x="{{.X}}" y="{{.Y}}" dx="12" dy="40">{{word .Status}} · {{.Line2}}</text><text x="{{.X}}" y="{{.Y}}" dx="12" dy="57">{{.Line3}}</text></g>
{{end}}</svg>
{{with otherFailures .}}<h2>Failures</h2><ul class="fail">{{range .}}<li>{{.Message}}</li>{{end}}</ul>{{end}}
{{if .Steps}}<h2>Steps</h2>{{range .Steps}}{{template "item" .}}{{end}}{{end}}
{{if .Inspections}}<h2>Inspections</h2>{{range .Inspections}}{{template "item" .}}{{end}}{{end}}
{{if .Attestations}}<h2>Attestations</h2><table><tr><th>attestation</th><th>predicate type</th><th>signed by</th><th>about</th><th>result</th></tr>
{{range .Attestations}}<tr{{if .Failures}} class="bad"{{end}}><td>{{.Source}}</td><td><code>{{.PredicateType}}</code></td><td>{{shortList .Signers}}</td><td>{{range .Subjects}}<code>{{.}}</code> {{end}}</td><td>{{if .Failures}}{{range .Failures}}{{.}}<br>{{end}}{{else}}ok{{if not .Checked}} (predicate not checked){{end}}{{end}}</td></tr>{{end}}</table>{{end}}
{{if .Warnings}}<h2>Warnings</h2><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
{{define "item"}}
<details{{if or (ne .Status "passed") .Sublayouts}} open{{end}}><summary><span class="st {{.Status}}">{{word .Status}}</span> {{.Type}} <code>{{.Name}}</code>{{if eq .Type "step"}} — {{len .Signers}} of {{.Threshold}} functionaries{{end}}</summary>
{{with .SkipReason}}<p>{{.}}</p>{{end}}
{{with .Failures}}<ul class="fail">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Links}}<table><tr><th>evidence</th><th>signed by</th><th>result</th></tr>{{range .Links}}<tr{{if not .Accepted}} class="bad"{{end}}><td><code>{{.File}}</code>{{if .Sublayout}} (sublayout){{end}}</td><td>{{shortList .Signers}}</td><td>{{if .Accepted}}accepted{{else}}ignored: {{.Reason}}{{end}}</td></tr>{{end}}</table>{{end}}
{{with .Run}}{{if not $.Ran}}<p>Would run <code>{{join .}}</code>; it did not run.</p>{{else}}<p>Ran <code>{{join .}}</code>, exit status {{$.ExitCode}}.</p>{{end}}{{end}}
{{with .Materials}}{{template "rules" dict "Name" "materials" "R" .}}{{end}}
{{with .Products}}{{template "rules" dict "Name" "products" "R" .}}{{end}}
{{range .Sublayouts}}<div class="sub">{{template "report" .}}</div>{{end}}
</details>
{{end}}
{{define "rules"}}
<table><tr><th colspan="6">{{.Name}}: {{.R.Artifacts}} artifact(s), {{.R.Unconsumed}} left unconsumed</th></tr>
<tr><th>#</th><th>rule</th><th>selected</th><th>consumed</th><th>queue after</th><th>result</th></tr>
{{range .R.Rules}}<tr{{if .Failed}} class="bad"{{end}}><td class="num">{{.Index | inc}}</td><td><code>{{.Rule}}</code></td><td class="num">{{.Matched}}</td><td class="num" title="{{range .ConsumedSample}}{{.}} {{end}}">{{.Consumed}}</td><td class="num">{{.QueueAfter}}</td><td>{{if .Failed}}{{.Failed}} failed{{else if .DestMissing}}FROM step has no link{{else if .Missed}}{{.Missed}} near miss(es){{else}}ok{{end}}</td></tr>
{{end}}</table>
{{end}}`))

// HTML writes the report as one self-contained HTML page (inline CSS and
// SVG, no scripts, no external assets).
func (r *Report) HTML(w io.Writer) error {
	return htmlTmpl.Execute(w, r)
}

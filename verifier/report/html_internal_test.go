package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The chain drawing's geometry, without a browser: a long chain wraps
// into bands within maxWidth, boxes never overlap, every box is as wide
// as its estimated text, and edge labels are clear of boxes and of each
// other. (TestHTMLInChromium* check the same in a real layout engine.)
func TestChainGraphGeometry(t *testing.T) {
	for _, n := range []int{1, 3, 12, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := &Report{}
			for i := 0; i < n; i++ {
				name := fmt.Sprintf("step-%d", i)
				if i%5 == 1 {
					name += "-" + strings.Repeat("long", 3+i%40)
				}
				it := Item{Name: name, Type: "step", Status: "passed", Threshold: 1, Signers: []string{"k"},
					Materials: &Rules{Rules: []Rule{}}, Products: &Rules{Rules: []Rule{}}}
				if i > 0 {
					it.Materials.Rules = append(it.Materials.Rules, Rule{From: r.Steps[i-1].Name, Consumed: 1, ConsumedSample: []string{r.Steps[i-1].Name + ".out"}})
				}
				if i > 3 && i%4 == 0 {
					it.Materials.Rules = append(it.Materials.Rules, Rule{From: r.Steps[i-3].Name, Consumed: 3})
				}
				if i > 9 && i%9 == 0 {
					it.Materials.Rules = append(it.Materials.Rules, Rule{From: r.Steps[1].Name, Consumed: 1, Missed: 2})
				}
				r.Steps = append(r.Steps, it)
			}
			g := chainGraph(r)
			if dir := os.Getenv("TOTO_REPORT_SCREENSHOTS"); dir != "" {
				var page bytes.Buffer
				if err := r.HTML(&page); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("geometry-%d.html", n)), page.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if g.Width > maxWidth+maxBoxW || len(g.Nodes) != n {
				t.Errorf("%d boxes in a drawing %dpx wide", len(g.Nodes), g.Width)
			}
			var boxes []rect
			for _, nd := range g.Nodes {
				b := rect{nd.X, nd.Y, nd.W, nd.H}
				for _, o := range boxes {
					if b.overlaps(o) {
						t.Errorf("box %s %v overlaps %v", nd.Name, b, o)
					}
				}
				boxes = append(boxes, b)
				if need := textWidth(nd.Name, 14, true) + 24; nd.W < need || nd.W > maxBoxW {
					t.Errorf("box %s is %dpx wide for %dpx of text", nd.Name, nd.W, need)
				}
				if nd.X+nd.W > g.Width || nd.Y+nd.H > g.Height {
					t.Errorf("box %s is outside the drawing", nd.Name)
				}
			}
			var labels []rect
			for _, e := range g.Edges {
				w := textWidth(e.Label, 11, false)
				l := rect{e.LabelX - w/2, e.LabelY - 10, w, 13}
				for _, b := range boxes {
					if l.overlaps(b) {
						t.Errorf("label %q %v overlaps a box %v", e.Label, l, b)
					}
				}
				for _, o := range labels {
					if l.overlaps(o) {
						t.Errorf("label %q %v overlaps another %v", e.Label, l, o)
					}
				}
				labels = append(labels, l)
			}
		})
	}
}

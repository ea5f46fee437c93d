package containerspolicy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/toto-dev/toto/containerspolicy"
)

// signedBaseLayer both ways, on evidence as ReadBaseImage gathers it.
func TestSignedBaseLayer(t *testing.T) {
	img := docker(t, "registry.example/app:1")
	accepted := &containerspolicy.Result{Allowed: true}
	rejected := &containerspolicy.Result{Allowed: false, Requirements: []containerspolicy.RequirementResult{{Err: containerspolicy.ErrNoSignature}}}
	good := func() *containerspolicy.BaseImage {
		return &containerspolicy.BaseImage{
			Name: "registry.example/base:3", Digest: "sha256:bb",
			Layers:     []string{"sha256:1", "sha256:2", "sha256:3"},
			BaseLayers: [][]string{{"sha256:9"}, {"sha256:1", "sha256:2"}},
			Result:     accepted,
		}
	}
	exactRepo := `{"type":"exactRepository","dockerRepository":"registry.example/base"}`
	for _, tc := range []struct {
		name     string
		identity string
		base     func(*containerspolicy.BaseImage) *containerspolicy.BaseImage
		want     string // "" for satisfied
	}{
		{"satisfied (exactRepository)", exactRepo, nil, ""},
		{"satisfied (exactReference)", `{"type":"exactReference","dockerReference":"registry.example/base:3"}`, nil, ""},
		{"other base repository", `{"type":"exactRepository","dockerRepository":"registry.example/other"}`, nil, "signed identity not accepted"},
		{"matchExact refused", `{"type":"matchExact"}`, nil, "matchExact cannot name a base image"},
		{"no annotations", exactRepo, func(b *containerspolicy.BaseImage) *containerspolicy.BaseImage {
			b.Name, b.Digest = "", ""
			return b
		}, "names no base image"},
		{"layers do not start with the base's", exactRepo, func(b *containerspolicy.BaseImage) *containerspolicy.BaseImage {
			b.Layers = []string{"sha256:2", "sha256:1", "sha256:3"}
			return b
		}, "do not begin with the layers"},
		{"base longer than the image", exactRepo, func(b *containerspolicy.BaseImage) *containerspolicy.BaseImage {
			b.BaseLayers = [][]string{{"sha256:1", "sha256:2", "sha256:3", "sha256:4"}}
			return b
		}, "do not begin with the layers"},
		{"empty base", exactRepo, func(b *containerspolicy.BaseImage) *containerspolicy.BaseImage {
			b.BaseLayers = [][]string{{}}
			return b
		}, "do not begin with the layers"},
		{"base not accepted", exactRepo, func(b *containerspolicy.BaseImage) *containerspolicy.BaseImage {
			b.Result = rejected
			return b
		}, "is not accepted by the policy"},
		{"base not evaluated", exactRepo, func(b *containerspolicy.BaseImage) *containerspolicy.BaseImage {
			b.Result = nil
			return b
		}, "was not evaluated"},
		{"no evidence", exactRepo, func(*containerspolicy.BaseImage) *containerspolicy.BaseImage { return nil }, "was not read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, `{"default":[{"type":"signedBaseLayer","baseLayerIdentity":`+tc.identity+`}]}`)
			b := good()
			if tc.base != nil {
				b = tc.base(b)
			}
			res := containerspolicy.EvaluateSignatures(p, nil, img, fixtureDigest, containerspolicy.Signatures{Base: b}, containerspolicy.Options{})
			rr := res.Requirements[0]
			if tc.want == "" {
				if !res.Allowed || !rr.Satisfied || rr.Err != nil {
					t.Fatalf("not satisfied: %v", rr.Err)
				}
				return
			}
			if res.Allowed || rr.Satisfied || !errors.Is(rr.Err, containerspolicy.ErrBaseLayer) || !strings.Contains(rr.Err.Error(), tc.want) {
				t.Fatalf("allowed %v, err %v; want %q", res.Allowed, rr.Err, tc.want)
			}
		})
	}
}

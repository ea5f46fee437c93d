//go:build interop

package cosign

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
)

// referrersForCount is the number of referrers of the measured image:
// one signature and the rest attestations.
const referrersForCount = 50

// The requests toto image verify makes for an image with 50 referrers on
// distribution 2.8 (no referrers API: the sha256-HEX index), counted by a
// proxy, against cosign v3 verify's on the same image. toto pings the
// registry once and fetches each referrer's manifest and bundle once; the
// bound keeps that from regressing (issue 14, "requests made by toto image
// verify"). The numbers are in docs/images.md.
func TestVerifyRequestCount(t *testing.T) {
	e := newEnv(t)
	e.totoKey("toto")
	ref := e.push("many")
	k, err := keys.Load(e.path("toto.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tgt, err := image.Open(ctx, ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.Sign(ctx, tgt, k, image.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < referrersForCount; i++ {
		if _, err := image.Attest(ctx, tgt, k, fmt.Sprintf("https://example.com/att/%d", i), []byte(`{"n":1}`), image.SignOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := newProxy(t, e.host, nil)
	viaProxy := p.host + strings.TrimPrefix(ref, e.host)

	rep := e.verify(0, "--key", "toto.pub", "--require-all", viaProxy)
	if rep.Signatures != 1 || rep.Attestations != referrersForCount-1 {
		t.Fatalf("report:\n%s", rep)
	}
	total, pings, repeated := p.stats()
	t.Logf("toto image verify, %d referrers: %s; repeated: %v", referrersForCount, p.summary(), repeated)
	// One ping; per referrer its manifest and its bundle blob; the image
	// manifest, the referrers API probe and the fallback tag, the two
	// cosign v2 tags.
	if max := 2*referrersForCount + 8; pings > 1 || total > max {
		t.Errorf("toto image verify made %d requests (%d pings), want at most %d and 1 ping", total, pings, max)
	}
	for _, r := range repeated {
		if strings.Contains(r, "/blobs/") || strings.Contains(r, "/manifests/sha256:") && !strings.Contains(r, strings.TrimPrefix(digestOf(ref), "sha256:")) {
			t.Errorf("fetched more than once: %s", r)
		}
	}

	for _, v := range []string{oracle.CosignV3} {
		p.reset()
		args := append([]string{"verify", "--key", "toto.pub", "--insecure-ignore-tlog"}, registryFlags(v)...)
		e.cosign(v, append(args, viaProxy)...)
		_, _, repeated := p.stats()
		t.Logf("%s verify, same image: %s; %d requests repeated", v, p.summary(), len(repeated))
	}
}

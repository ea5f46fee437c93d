//go:build interop

package cosign

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// tlogReport is toto image verify --json with what each entry's log
// entries and timestamps were.
type tlogReport struct {
	Signatures       int  `json:"verifiedSignatures"`
	Attestations     int  `json:"verifiedAttestations"`
	Failures         int  `json:"failures"`
	RequireTlog      bool `json:"requireTlog"`
	RequireTimestamp bool `json:"requireTimestamp"`
	Referrers        []struct {
		Kind, PredicateType, Status, Error string
		Tlog                               []struct {
			Log, LogID, Kind, Version string
			LogIndex                  int64
		}
		Timestamps []struct{ Kind, URI, Time string }
	} `json:"referrers"`
}

// verifyTlog runs toto image verify --json, wants exit code, and decodes
// the report; stderr is returned for the reason.
func (e *tlogEnv) verifyTlog(code int, args ...string) (tlogReport, totoResult) {
	e.t.Helper()
	args = append([]string{"image", "verify", "--json"}, args...)
	r := e.toto(args...)
	e.wantCode(r, code, args...)
	var rep tlogReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		e.t.Fatalf("toto %s: report: %v\n%s", strings.Join(args, " "), err, r.Stdout)
	}
	return rep, r
}

// wantLogged checks that every verified entry of rep names one entry of
// the local log and one timestamp of the local TSA.
func (e *tlogEnv) wantLogged(rep tlogReport, verified int) {
	e.t.Helper()
	n := 0
	for _, f := range rep.Referrers {
		if f.Status != "verified" {
			continue
		}
		n++
		if len(f.Tlog) != 1 || f.Tlog[0].Log != e.rekor.URL || f.Tlog[0].LogID == "" ||
			f.Tlog[0].Kind != "hashedrekord" || f.Tlog[0].Version != "0.0.2" {
			e.t.Errorf("%s %s: log entries %+v, want one hashedrekord 0.0.2 entry of %s", f.Kind, f.PredicateType, f.Tlog, e.rekor.URL)
		}
		if len(f.Timestamps) != 1 || f.Timestamps[0].Kind != "TimestampAuthority" || f.Timestamps[0].URI != e.tsa.URL || f.Timestamps[0].Time == "" {
			e.t.Errorf("%s %s: timestamps %+v, want one by %s", f.Kind, f.PredicateType, f.Timestamps, e.tsa.URL)
		}
	}
	if n != verified {
		e.t.Errorf("%d verified entries, want %d", n, verified)
	}
}

// TestTlogImageVerify: toto image verify --require-tlog
// --require-timestamp --trusted-root with the real Rekor v2 log and
// RFC 3161 TSA and a real registry (distribution 2.8). toto's own image
// signature and attestation made with --rekor-url/--tsa-url pass and
// name their log entry and timestamp; an unlogged toto signature fails
// under --require-tlog with the reason (and passes without it); an
// unlogged attestation beside a logged signature is ignored, and cannot
// satisfy --type; a trusted root with another log key refuses the logged
// ones; cosign v3 sign and attest with a signing config naming the same
// log and TSA verify with both required.
func TestTlogImageVerify(t *testing.T) {
	e := newTlogEnv(t)
	e.totoKey("toto")
	spdx := e.write("spdx.json", spdxDoc)
	logFlags := []string{"--rekor-url", e.rekor.URL, "--tsa-url", e.tsa.URL}
	required := []string{"--trusted-root", "trusted_root.json", "--require-tlog", "--require-timestamp"}

	t.Run("toto logged", func(t *testing.T) {
		e.t = t
		ref := e.push("tlog-toto")
		e.wantCode(e.toto(append([]string{"image", "sign", "--key", "toto.key", ref}, logFlags...)...), 0)
		e.wantCode(e.toto(append([]string{"image", "attest", "--key", "toto.key", "--predicate-type", "https://spdx.dev/Document", "--predicate", spdx, ref}, logFlags...)...), 0)

		rep, _ := e.verifyTlog(0, append(append([]string{"--key", "toto.pub", "--require-all", "--type", "spdxjson"}, required...), ref)...)
		if rep.Signatures != 1 || rep.Attestations != 1 || rep.Failures != 0 || !rep.RequireTlog || !rep.RequireTimestamp {
			t.Fatalf("report: %+v", rep)
		}
		e.wantLogged(rep, 2)
		// The text report names them too.
		args := append(append([]string{"image", "verify", "--key", "toto.pub"}, required...), ref)
		r := e.toto(args...)
		e.wantCode(r, 0, args...)
		for _, want := range []string{"tlog " + e.rekor.URL + " index ", "inclusion verified", "(" + e.tsa.URL + ")", "VERIFIED (--require-tlog --require-timestamp): 1 signature(s), 1 attestation(s)"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("text report does not say %q:\n%s", want, r.Stdout)
			}
		}

		// An attestation attached without the log: ignored under the
		// requirement, so it cannot satisfy --type.
		e.wantCode(e.toto("image", "attest", "--key", "toto.key", "--predicate-type", "https://slsa.dev/provenance/v1", "--predicate", e.write("prov.json", `{"buildDefinition":{}}`), ref), 0)
		rep, _ = e.verifyTlog(0, append(append([]string{"--key", "toto.pub"}, required...), ref)...)
		if rep.Signatures != 1 || rep.Attestations != 1 || rep.Failures != 1 {
			t.Fatalf("with an unlogged attestation: %+v", rep)
		}
		rep, r = e.verifyTlog(1, append(append([]string{"--key", "toto.pub", "--type", "slsaprovenance1"}, required...), ref)...)
		if !strings.Contains(r.Stderr, "no verified attestation of type https://slsa.dev/provenance/v1") {
			t.Errorf("unlogged --type: %s", r.Stderr)
		}
		// Without the requirement it counts.
		e.verifyTlog(0, "--key", "toto.pub", "--trusted-root", "trusted_root.json", "--type", "slsaprovenance1", ref)

		// Another log key in the trusted root: the logged entries are
		// refused with the reason, so no signature verifies.
		e.trustedRoot("other_log_root.json", otherLogKey(t), nil, true)
		rep, r = e.verifyTlog(1, "--key", "toto.pub", "--trusted-root", "other_log_root.json", "--require-tlog", ref)
		if rep.Signatures != 0 || !strings.Contains(r.Stdout, "not one it lists") {
			t.Errorf("another log key: %+v\n%s", rep, r.Stdout)
		}
	})

	t.Run("toto unlogged", func(t *testing.T) {
		e.t = t
		ref := e.push("tlog-unlogged")
		e.wantCode(e.toto("image", "sign", "--key", "toto.key", ref), 0)
		for _, req := range []struct {
			flag, reason string
		}{
			{"--require-tlog", "the bundle has no transparency-log entry, and one is required"},
			{"--require-timestamp", "the bundle has no RFC 3161 timestamp, and one is required"},
		} {
			rep, r := e.verifyTlog(1, "--key", "toto.pub", "--trusted-root", "trusted_root.json", req.flag, ref)
			if rep.Signatures != 0 || len(rep.Referrers) != 1 || rep.Referrers[0].Status != "ignored" || !strings.Contains(rep.Referrers[0].Error, req.reason) {
				t.Errorf("%s: %+v", req.flag, rep)
			}
			if !strings.Contains(r.Stderr, "no signature by a trusted key with a verified") {
				t.Errorf("%s: the summary does not name the requirement: %s", req.flag, r.Stderr)
			}
		}
		// Without the requirement, with or without the trusted root.
		e.verifyTlog(0, "--key", "toto.pub", "--trusted-root", "trusted_root.json", ref)
		e.verifyTlog(0, "--key", "toto.pub", ref)
		// A requirement without a trusted root is a usage error.
		args := []string{"image", "verify", "--key", "toto.pub", "--require-tlog", ref}
		r := e.toto(args...)
		e.wantCode(r, 2, args...)
		if !strings.Contains(r.Stderr, "--trusted-root") {
			t.Errorf("usage error: %s", r.Stderr)
		}
	})

	t.Run("cosign v3 logged", func(t *testing.T) {
		e.t = t
		ref := e.push("tlog-cosign")
		cosignLog := append([]string{"--key", "cosign.key", "--signing-config", "signing_config.json", "--trusted-root", "trusted_root.json", "-y"}, registryFlags(oracle.CosignV3)...)
		e.cosign(oracle.CosignV3, append(append([]string{"sign"}, cosignLog...), ref)...)
		e.cosign(oracle.CosignV3, append(append([]string{"attest", "--type", "spdxjson", "--predicate", spdx}, cosignLog...), ref)...)
		rep, _ := e.verifyTlog(0, append(append([]string{"--key", "cosign.pub", "--require-all", "--type", "spdxjson"}, required...), ref)...)
		if rep.Signatures != 1 || rep.Attestations != 1 || rep.Failures != 0 {
			t.Fatalf("report: %+v", rep)
		}
		e.wantLogged(rep, 2)
		// A cosign v3 signature made without the log beside it: ignored
		// under --require-tlog, and the image still passes.
		e.sign(oracle.CosignV3, "cosign.key", ref)
		rep, _ = e.verifyTlog(0, append(append([]string{"--key", "cosign.pub"}, required...), ref)...)
		if rep.Signatures != 1 || rep.Failures != 1 {
			t.Errorf("with an unlogged cosign signature: %+v", rep)
		}
		e.verifyTlog(1, append(append([]string{"--key", "cosign.pub", "--require-all"}, required...), ref)...)
	})
}

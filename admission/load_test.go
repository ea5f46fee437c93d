package admission_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/toto-dev/toto/admission/admissiontest"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/admissionload"
	"github.com/toto-dev/toto/internal/oracle"
)

func TestMain(m *testing.M) {
	code := m.Run()
	oracle.RemoveToto()
	os.Exit(code)
}

// servedCLI is `toto admission serve` running as its own process.
type servedCLI struct {
	cmd    *exec.Cmd
	url    string
	client *http.Client
	stderr string
}

func serveCLI(t testing.TB, args ...string) *servedCLI {
	t.Helper()
	st := admissiontest.NewTLS(t, t.TempDir())
	addr := fmt.Sprintf("127.0.0.1:%d", oracle.FreePort(t))
	logf := filepath.Join(t.TempDir(), "stderr.log")
	errf, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(oracle.Toto(t), append([]string{"admission", "serve", "--addr", addr, "--tls-cert", st.CertFile, "--tls-key", st.KeyFile}, args...)...)
	cmd.Stderr = errf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &servedCLI{cmd: cmd, url: "https://" + addr, client: st.Client(), stderr: logf}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		errf.Close()
	})
	waitReady(t, s.client, s.url+"/readyz")
	return s
}

// stop sends SIGTERM and wants a clean exit (status 0) within 25s.
func (s *servedCLI) stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			log, _ := os.ReadFile(s.stderr)
			t.Errorf("toto admission serve after SIGTERM: %v\n%s", err, log)
		}
	case <-time.After(25 * time.Second):
		t.Error("toto admission serve did not stop within 25s of SIGTERM")
	}
}

func (s *servedCLI) metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := s.client.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+]+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("metric %s not found", name)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// cpu is the CPU time (user and system) the server process has used,
// from /proc (zero where there is none).
func (s *servedCLI) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which is in parentheses): utime
	// and stime are the 12th and 13th, in clock ticks of 1/100 s.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

func loadDuration(t testing.TB) time.Duration {
	if s := os.Getenv("TOTO_ADMISSION_LOAD_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("TOTO_ADMISSION_LOAD_DURATION: %v", err)
		}
		return d
	}
	return 2 * time.Second
}

// TestLoad drives a real `toto admission serve` over TLS on loopback with
// the load generator, against images in a real registry: warm (verdicts
// cached) and cold (--cache-ttl 0 and 32 distinct signed images, each
// worker sending its own, so every review resolves the tag and fetches
// and verifies the signatures from the registry), at 4 concurrent
// reviews and, saturating the registry, at 8. Every answer must be right
// and no request may fail. The targets (warm >= 2000 req/s with p99 <=
// 20ms, cold p99 <= 300ms at 4 concurrent reviews) are asserted with
// TOTO_ADMISSION_LOAD_STRICT=1 (bench/admission.sh), and reported always;
// TOTO_ADMISSION_LOAD_DURATION sets each run's length.
func TestLoad(t *testing.T) {
	dur := loadDuration(t)
	strict := os.Getenv("TOTO_ADMISSION_LOAD_STRICT") == "1"
	f := newRegistryFixture(t)
	pol := f.writePolicy(t, "policy.yaml", releasePolicy)

	// 32 more images signed by release.pub, for cold reviews.
	ctx := context.Background()
	release := f.signers["release"]
	var cold []admissionload.Case
	for i := range 32 {
		ref := fmt.Sprintf("%s/app:cold-%d", f.host, i)
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := name.ParseReference(ref)
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		tg, err := image.Open(ctx, ref, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := image.Sign(ctx, tg, release, image.SignOptions{}); err != nil {
			t.Fatal(err)
		}
		cold = append(cold, admissionload.Case{Body: reviewOf(t, fmt.Sprintf("cold-%d", i), podGVK, admissionv1.Create, "apps", podJSON(t, []string{ref}), nil), Allowed: true, Patched: true})
	}
	unsigned := admissionload.Case{Body: reviewOf(t, "unsigned", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.ref("unsigned")}), nil)}
	cold = append(cold, unsigned)
	warm := []admissionload.Case{
		{Body: reviewOf(t, "signed", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.ref("signed")}), nil), Allowed: true, Patched: true},
		{Body: reviewOf(t, "pinned", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.pinned("signed")}), nil), Allowed: true},
		{Body: reviewOf(t, "notation", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.ref("notation")}), nil), Allowed: true, Patched: true},
		unsigned,
	}

	for _, sc := range []struct {
		name     string
		cacheTTL string
		workers  int
		cases    []admissionload.Case
		// partition: no two reviews in flight name the same image, so
		// none shares another's verification (cold).
		partition bool
		check     func(r *admissionload.Report) error
	}{
		{"warm", "5m", 16, warm, false, func(r *admissionload.Report) error {
			if r.RPS() < 2000 || r.P99 > 20*time.Millisecond {
				return fmt.Errorf("warm: %.0f req/s p99 %s, target >= 2000 req/s, p99 <= 20ms", r.RPS(), r.P99)
			}
			return nil
		}},
		{"cold", "0s", 4, cold, true, func(r *admissionload.Report) error {
			if r.P99 > 300*time.Millisecond {
				return fmt.Errorf("cold: p99 %s, target <= 300ms", r.P99)
			}
			return nil
		}},
		// Twice the cold concurrency: the registry (one docker-registry
		// on the same 2 cores, about 16 requests per verification of the
		// two-requirement policy) saturates, and latency is queueing.
		// Reported, not held to the target.
		{"cold-saturated", "0s", 8, cold, true, func(*admissionload.Report) error { return nil }},
	} {
		t.Run(sc.name, func(t *testing.T) {
			s := serveCLI(t, "--policy", pol, "--cache-ttl", sc.cacheTTL)
			// One pass first: connections up, and (warm) the cache filled.
			for _, c := range sc.cases {
				if _, err := postReview(s.client, s.url+"/validate", c.Body); err != nil {
					t.Fatal(err)
				}
			}
			cpu0 := s.cpu()
			rep, err := admissionload.Run(ctx, admissionload.Options{URL: s.url + "/validate", Client: s.client, Duration: dur, Workers: sc.workers, Cases: sc.cases, Partition: sc.partition})
			if err != nil {
				t.Fatal(err)
			}
			cpu := s.cpu() - cpu0
			verif := s.metric(t, "toto_admission_verifications_total")
			t.Logf("%s (%d workers, --cache-ttl %s): %s; %.0f image verifications against the registry; webhook CPU %s (%.0f%% of one core, %s per review)",
				sc.name, sc.workers, sc.cacheTTL, rep, verif, cpu.Round(10*time.Millisecond), 100*cpu.Seconds()/rep.Elapsed.Seconds(),
				(cpu / time.Duration(max(rep.Requests, 1))).Round(time.Microsecond))
			if rep.Errors != 0 || rep.Wrong != 0 {
				t.Errorf("%s: %d errors, %d wrong decisions", sc.name, rep.Errors, rep.Wrong)
			}
			if err := sc.check(rep); err != nil {
				if strict {
					t.Error(err)
				} else {
					t.Logf("below target (asserted only with TOTO_ADMISSION_LOAD_STRICT=1): %v", err)
				}
			}
			s.stop(t)
		})
	}
}

// Package admissionload is a load generator for toto's admission webhook:
// workers post AdmissionReviews over HTTPS (HTTP/2, as kube-apiserver
// does) as fast as answers come, for a while, and check each answer's
// decision. It reports throughput, latency percentiles, transport errors
// and wrong decisions. It only talks to the URL it is given (loopback in
// toto's tests and bench).
package admissionload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// Case is one review to send and the decision it must get.
type Case struct {
	Body    []byte
	Allowed bool
	// Patched, when Allowed, says whether a JSONPatch must come back.
	Patched bool
}

// Options tune Run.
type Options struct {
	URL      string
	Client   *http.Client
	Duration time.Duration
	Workers  int
	// Cases are sent round-robin (each worker starting at its own
	// offset).
	Cases []Case
	// Partition gives each worker its own cases (worker w sends those
	// whose index is w modulo Workers), so that no two reviews in flight
	// name the same image and a cold run is not helped by verifications
	// shared between concurrent reviews. Needs len(Cases) >= Workers.
	Partition bool
}

// Report is what a run measured.
type Report struct {
	Requests, Errors, Wrong int
	Elapsed                 time.Duration
	P50, P90, P99, Max      time.Duration
	// FirstError and FirstWrong describe the first failure of each kind.
	FirstError, FirstWrong string
}

// RPS is requests answered per second.
func (r *Report) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r *Report) String() string {
	s := fmt.Sprintf("%d requests in %s: %.0f req/s, p50 %s, p90 %s, p99 %s, max %s, errors %d, wrong decisions %d",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.RPS(), r.P50.Round(10*time.Microsecond), r.P90.Round(10*time.Microsecond),
		r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Errors, r.Wrong)
	if r.FirstError != "" {
		s += "; first error: " + r.FirstError
	}
	if r.FirstWrong != "" {
		s += "; first wrong decision: " + r.FirstWrong
	}
	return s
}

// Run sends reviews until opts.Duration has passed or ctx is done.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if len(opts.Cases) == 0 || opts.Workers < 1 || opts.Duration <= 0 {
		return nil, fmt.Errorf("admissionload: need cases, workers and a duration")
	}
	if opts.Partition && len(opts.Cases) < opts.Workers {
		return nil, fmt.Errorf("admissionload: %d cases cannot be partitioned among %d workers", len(opts.Cases), opts.Workers)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	type result struct {
		lat                  []time.Duration
		errs, wrong          int
		firstErr, firstWrong string
	}
	results := make([]result, opts.Workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			res.lat = make([]time.Duration, 0, 1<<14)
			mine := opts.Cases
			if opts.Partition {
				mine = nil
				for i := w; i < len(opts.Cases); i += opts.Workers {
					mine = append(mine, opts.Cases[i])
				}
			}
			for i := w; ctx.Err() == nil; i++ {
				c := mine[i%len(mine)]
				t0 := time.Now()
				resp, err := post(ctx, opts.Client, opts.URL, c.Body)
				if ctx.Err() != nil {
					return // cut off by the end of the run: not counted
				}
				res.lat = append(res.lat, time.Since(t0))
				switch {
				case err != nil:
					res.errs++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				case resp.Allowed != c.Allowed || (c.Allowed && c.Patched != (resp.Patch != nil)):
					res.wrong++
					if res.firstWrong == "" {
						msg := ""
						if resp.Result != nil {
							msg = resp.Result.Message
						}
						res.firstWrong = fmt.Sprintf("allowed %v (want %v), patched %v (want %v): %s", resp.Allowed, c.Allowed, resp.Patch != nil, c.Patched, msg)
					}
				}
			}
		}()
	}
	wg.Wait()
	rep := &Report{Elapsed: time.Since(start)}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.lat...)
		rep.Errors += r.errs
		rep.Wrong += r.wrong
		if rep.FirstError == "" {
			rep.FirstError = r.firstErr
		}
		if rep.FirstWrong == "" {
			rep.FirstWrong = r.firstWrong
		}
	}
	rep.Requests = len(all)
	if len(all) > 0 {
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		rep.P50, rep.P90, rep.P99, rep.Max = q(.50), q(.90), q(.99), all[len(all)-1]
	}
	return rep, nil
}

func post(ctx context.Context, c *http.Client, url string, body []byte) (*admissionv1.AdmissionResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s: %s", resp.Status, data)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	if out.Response == nil {
		return nil, fmt.Errorf("no response in %s", data)
	}
	return out.Response, nil
}

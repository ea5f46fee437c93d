package admission

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the webhook's Prometheus series, in a registry of its own
// (so that several servers can live in one process, as in tests).
type metrics struct {
	reg *prometheus.Registry

	decisions      *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	images         *prometheus.CounterVec
	cacheHits      prometheus.Counter
	cacheMisses    prometheus.Counter
	verifications  prometheus.Counter
	reloads        prometheus.Counter
	reloadFailures prometheus.Counter
	reloadFailing  prometheus.Gauge
	generation     prometheus.Gauge
	inFlight       prometheus.Gauge
}

func newMetrics() *metrics {
	const ns = "toto_admission"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help})
	}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "decisions_total",
			Help: "Admission reviews answered, by outcome: allowed, allowed_patched, denied, or invalid (a review that could not be read).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "request_duration_seconds",
			Help:    "Time to answer an admission review, by outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"outcome"}),
		images: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "image_verdicts_total",
			Help: "Images judged, by outcome: allowed, denied, or error (could not be verified: registry unreachable, deadline).",
		}, []string{"outcome"}),
		cacheHits:      counter("cache_hits_total", "Image verdicts served from the cache."),
		cacheMisses:    counter("cache_misses_total", "Image verdicts not in the cache (verified, or joined a verification in flight)."),
		verifications:  counter("verifications_total", "Image verifications run against registries (cache misses less those that joined one in flight)."),
		reloads:        counter("policy_reloads_total", "Policy loads that succeeded after a change of its files."),
		reloadFailures: counter("policy_reload_failures_total", "Policy loads that failed; the last good policy stays in force."),
		reloadFailing:  gauge("policy_reload_failing", "1 while the policy files on disk do not load (the last good policy is in force), else 0."),
		generation:     gauge("policy_generation", "Generation of the policy in force (1 at start, +1 per successful reload)."),
		inFlight:       gauge("requests_in_flight", "Admission reviews being answered."),
	}
	m.reg.MustRegister(m.decisions, m.duration, m.images, m.cacheHits, m.cacheMisses, m.verifications,
		m.reloads, m.reloadFailures, m.reloadFailing, m.generation, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

#!/usr/bin/env bash
# bench/admission.sh — load on `toto admission serve`: the Go load
# generator (internal/admissionload) posts AdmissionReviews over TLS
# (HTTP/2) on loopback to a real `toto admission serve`, whose policy
# verifies images in a real registry (Debian's docker-registry on
# 127.0.0.1), signed with Sigstore bundles and a notation signature.
#
# Two runs (admission's TestLoad):
#   warm  --cache-ttl 5m, 16 workers: verdicts from the cache
#   cold  --cache-ttl 0, 4 workers, 32 distinct signed images, each worker
#         its own: each review resolves the tag and fetches and verifies
#         the signatures from the registry
#   cold-saturated  the same with 8 workers: the registry saturates
# Each prints requests/s, p50/p90/p99/max, errors and wrong decisions, and
# the verifications the webhook ran against the registry.
# Targets on the 2-core machine: warm >= 2000 req/s with p99 <= 20 ms,
# cold p99 <= 300 ms, no errors or wrong decisions (asserted here; the
# saturated run only reported).
#
# Settings (environment):
#   TOTO_ADMISSION_LOAD_DURATION  length of each run (default 60s)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export TOTO_ADMISSION_LOAD_DURATION=${TOTO_ADMISSION_LOAD_DURATION:-60s}
export TOTO_ADMISSION_LOAD_STRICT=1
echo "bench/admission.sh: warm, cold and cold-saturated runs of $TOTO_ADMISSION_LOAD_DURATION each" >&2
$GO test -count=1 -timeout 30m -run '^TestLoad$' -v ./admission/ 2>&1 |
	grep -E 'load_test.go|below target|^(--- |ok|FAIL|PASS)' || { echo "bench/admission.sh: failed" >&2; exit 1; }

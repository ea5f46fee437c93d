#!/usr/bin/env bash
# bench/verify.sh — time toto verify, in-toto-golang v0.11.0 and Python
# in-toto-verify on the same generated supply chain (four steps, rules of
# every kind; N artifacts in each main step, about 3.3·N in all).
#
# Usage: bench/verify.sh [N...]          default: 10000 50000 100000
#   BENCH_RUNS=3 bench/verify.sh 100000   best of 3 runs per tool
#   BENCH_SKIP_PYTHON=1                   leave Python out (it is slow)
#
# Needs Go and awk; in-toto-golang is installed from the Go module proxy into a
# temporary folder; Python in-toto from Debian's in-toto package
# (/usr/bin/in-toto-verify), skipped if absent. Prints wall-clock and CPU
# (user+sys) seconds, and the ratios of CPU time to toto's: on a shared
# machine CPU time is the steadier measure (wall time includes waiting for
# other processes).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 50000 100000)
runs=${BENCH_RUNS:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building toto and in-toto-golang v0.11.0..." >&2
(cd "$root" && go build -o "$work/toto" ./cmd/toto)
(cd "$work" && GOBIN="$work/bin" GOFLAGS=-mod=mod go install github.com/in-toto/in-toto-golang@v0.11.0)
python=/usr/bin/in-toto-verify
if [ -n "${BENCH_SKIP_PYTHON:-}" ] || [ ! -x "$python" ]; then
	python=""
	echo "Python in-toto-verify left out (${BENCH_SKIP_PYTHON:+BENCH_SKIP_PYTHON set}${BENCH_SKIP_PYTHON:-not installed})" >&2
fi

# timeit DIR CMD... : best wall and its CPU seconds over $runs runs; the
# command must exit 0 (the chain verifies).
timeit() {
	local dir=$1
	shift
	local best="" bestcpu="" i out
	for ((i = 0; i < runs; i++)); do
		out=$(cd "$dir" && { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>"$work/err"; } 2>&1) || {
			echo "FAILED: $* (in $dir):" >&2
			cat "$work/err" >&2
			exit 1
		}
		read -r wall user sys <<<"$(echo "$out" | tail -1)"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$wall bestcpu=$cpu
		fi
	done
	echo "$best $bestcpu"
}

ratio() { if [ "$2" != "-" ]; then awk -v t="$1" -v o="$2" 'BEGIN { printf "%.1f", o / t }'; else echo "-"; fi; }

printf "%-10s | %-15s | %-15s | %-15s | %-11s | %-11s\n" "artifacts" "toto s (cpu)" "golang s (cpu)" "python s (cpu)" "golang/toto" "python/toto"
printf -- "-----------+-----------------+-----------------+-----------------+-------------+------------\n"
for n in "${sizes[@]}"; do
	chain="$work/chain-$n"
	(cd "$root" && go run ./verifier/internal/chaingen/cmd/mkchain -n "$n" -out "$chain")
	read -r tw tc <<<"$(timeit "$chain" "$work/toto" verify --layout root.layout --layout-key owner.pub --links links)"
	read -r gw gc <<<"$(timeit "$chain" "$work/bin/in-toto-golang" verify --layout root.layout --layout-keys owner.pem --link-dir links)"
	pw="-" pc="-"
	if [ -n "$python" ]; then
		read -r pw pc <<<"$(timeit "$chain" "$python" --layout root.layout --layout-keys owner.pub --key-types ed25519 --link-dir links)"
	fi
	printf "%-10s | %6s (%6s) | %6s (%6s) | %6s (%6s) | %10sx | %10sx\n" "$n" "$tw" "$tc" "$gw" "$gc" "$pw" "$pc" "$(ratio "$tc" "$gc")" "$(ratio "$tc" "$pc")"
done
echo "(wall seconds, CPU seconds in parentheses, best wall time of $runs; ratios compare CPU time; $(nproc) cores)"

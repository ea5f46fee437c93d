#!/usr/bin/env bash
# bench/verify.sh — toto verify, in-toto-golang v0.11.0 and Python
# in-toto-verify 1.3.1 side by side, in one run, on the same files.
#
# The chain (built with the Python reference, RSA-3072 keys as
# in-toto-keygen makes them): a layout with steps x → s, where s's material
# rules are [MATCH * WITH PRODUCTS FROM x, DISALLOW *]; `in-toto-run` records
# N files as x's products and the same N files as s's materials, so the two
# links hold N artifacts each.
#
# Usage: bench/verify.sh [N...]          default: 20000 100000
#   BENCH_RUNS=3 bench/verify.sh 100000   best of 3 runs per tool
#   BENCH_TOOLS="toto golang"             leave Python out
#
# Needs Debian's in-toto (in-toto-run, in-toto-verify and its Python module)
# and GNU time (both installed by `make deps` / `make bench`); in-toto-golang
# is built from the Go module proxy once into ~/.cache/toto-bench. Prints,
# per tool, the best wall time with its CPU time (user+sys) and peak RSS, and
# in-toto-golang's and Python's figures as multiples of toto's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(20000 100000)
runs=${BENCH_RUNS:-1}
tools=${BENCH_TOOLS:-"toto golang python"}
work=$(mktemp -d)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

for t in in-toto-run in-toto-verify in-toto-keygen; do
	command -v $t >/dev/null || { echo "bench/verify.sh: $t not found (apt-get install in-toto)" >&2; exit 1; }
done
/usr/bin/time -f %M true >/dev/null 2>&1 || { echo "bench/verify.sh: GNU time not found (apt-get install time)" >&2; exit 1; }

echo "building toto and in-toto-golang v0.11.0..." >&2
(cd "$root" && go build -o "$work/toto" ./cmd/toto)
ig_cache=${XDG_CACHE_HOME:-$HOME/.cache}/toto-bench/in-toto-golang-v0.11.0
if [ ! -x "$ig_cache/in-toto-golang" ]; then
	mkdir -p "$ig_cache"
	(cd "$work" && GOBIN="$ig_cache" GOFLAGS= go install github.com/in-toto/in-toto-golang@v0.11.0)
fi
golang=$ig_cache/in-toto-golang

# The layout, made and signed by the Python reference.
mklayout='
import sys
from securesystemslib.interface import import_rsa_privatekey_from_file, import_rsa_publickey_from_file
from in_toto.models.layout import Layout, Step
from in_toto.models.metadata import Metablock
owner = import_rsa_privatekey_from_file("owner")
alice = import_rsa_publickey_from_file("alice.pub")
# in-toto-golang verifies a re-encoding of its own layout struct, which
# drops an empty "private" member: leave it out so that all three verify.
alice["keyval"].pop("private", None)
l = Layout()
l.set_relative_expiration(months=1)
l.add_functionary_key(alice)
x = Step(name="x"); x.pubkeys = [alice["keyid"]]
s = Step(name="s"); s.pubkeys = [alice["keyid"]]
s.expected_materials = [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "x"], ["DISALLOW", "*"]]
l.steps = [x, s]
m = Metablock(signed=l)
m.sign(owner)
m.dump("root.layout")
'

# measure CMD...: best wall time over $runs runs, with that run's CPU seconds
# and peak RSS in MB. The command must exit 0 (the chain verifies).
measure() {
	local best="" line i
	for ((i = 0; i < runs; i++)); do
		if ! line=$(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -1); then
			echo "FAILED: $*" >&2
			"$@" >&2 || true
			exit 1
		fi
		read -r wall user sys rss <<<"$line"
		line=$(awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN { printf "%.2f %.2f %.0f", w, u + s, r / 1024 }')
		if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
			best=$line
		fi
	done
	echo "$best"
}

times() { awk -v t="$1" -v o="$2" 'BEGIN { if (t > 0) printf "%.2fx", o / t; else print "-" }'; }

printf "%-8s %-24s %8s %8s %8s   %s\n" "N/link" "verifier" "wall s" "CPU s" "RSS MB" "(vs toto: wall, CPU, RSS)"
for n in "${sizes[@]}"; do
	chain="$work/chain-$n"
	mkdir -p "$chain/tree"
	echo "N=$n: recording $n files twice with in-toto-run..." >&2
	(
		cd "$chain"
		in-toto-keygen -t rsa owner >/dev/null
		in-toto-keygen -t rsa alice >/dev/null
		/usr/bin/python3 - "$n" <<-'EOF'
			import os, sys
			n = int(sys.argv[1])
			for i in range(n):
			    d = os.path.join("tree", "d%03d" % (i % 500))
			    os.makedirs(d, exist_ok=True)
			    with open(os.path.join(d, "f%07d" % i), "w") as f:
			        f.write("artifact %d\n" % i)
		EOF
		/usr/bin/python3 -c "$mklayout"
		cd tree
		in-toto-run -n x -k ../alice -p . -- true >/dev/null
		in-toto-run -n s -k ../alice -m . -- true >/dev/null
		mkdir ../links && mv ./*.link ../links/
	)
	cd "$chain"
	declare -A res=()
	for t in $tools; do
		case $t in
		toto) res[toto]=$(measure "$work/toto" verify --layout root.layout --layout-key owner.pub --links links) ;;
		golang) res[golang]=$(measure "$golang" verify --layout root.layout --layout-keys owner.pub --link-dir links) ;;
		python) res[python]=$(measure in-toto-verify --layout root.layout --layout-keys owner.pub --link-dir links) ;;
		esac
	done
	cd "$root"
	read -r tw tc tr <<<"${res[toto]:-0 0 0}"
	for t in $tools; do
		read -r w c r <<<"${res[$t]}"
		name=$t
		case $t in golang) name="in-toto-golang v0.11.0" ;; python) name="Python in-toto 1.3.1" ;; esac
		cmp=""
		[ "$t" != toto ] && cmp="($(times "$tw" "$w"), $(times "$tc" "$c"), $(times "$tr" "$r"))"
		printf "%-8s %-24s %8s %8s %8s   %s\n" "$n" "$name" "$w" "$c" "$r" "$cmp"
	done
	unset res
done
echo "(best wall time of $runs run(s) per tool; $(nproc) cores; every verifier read the same layout, keys and links)"

#!/usr/bin/env bash
# bench/runner.sh — artifact recording speed: `toto run` vs Python's
# in-toto-run vs in-toto-golang on the same tree, with the machine's raw
# crypto/sha256 throughput as the ceiling.
#
# Each tool records the whole tree as materials AND products of a step whose
# command is `true`, so every run hashes the tree twice. The tree is read once
# before timing (page cache warm) so that hashing, not the disk, is measured.
#
# Settings (environment):
#   TOTO_BENCH_FILES  number of files          (default 20000)
#   TOTO_BENCH_MB     total size in MiB        (default 1024; 0 skips the bench)
#   TOTO_BENCH_REPS   timed runs per tool, best kept (default 3)
#   TOTO_BENCH_TOOLS  tools to run             (default "toto in-toto-run in-toto-golang")
#   TOTO_BENCH_DIR    where to build the tree  (default a new temp dir, removed after)
#
# Prints a table: best wall time, CPU time, MB/s, speed relative to toto,
# peak RSS; and toto's throughput as a share of raw sha256, per wall-clock
# second (all cores) and per CPU-second (insensitive to other load).
set -euo pipefail

FILES=${TOTO_BENCH_FILES:-20000}
MB=${TOTO_BENCH_MB:-1024}
REPS=${TOTO_BENCH_REPS:-3}
TOOLS=${TOTO_BENCH_TOOLS:-"toto in-toto-run in-toto-golang"}
INTOTO_GOLANG_VERSION=v0.11.0

if [ "$MB" = 0 ]; then
	echo "bench/runner.sh: TOTO_BENCH_MB=0, skipping"
	exit 0
fi

cd "$(dirname "$0")/.."
REPO=$(pwd)
GO=${GO:-go}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

say() { echo "bench/runner.sh: $*" >&2; }

# GNU time for peak RSS.
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
	say "installing GNU time (for peak RSS)"
	$SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

WORK=${TOTO_BENCH_DIR:-$(mktemp -d -t toto-bench.XXXXXX)}
mkdir -p "$WORK"
if [ -z "${TOTO_BENCH_DIR:-}" ]; then trap 'rm -rf "$WORK"' EXIT; fi
BIN="$WORK/bin"
mkdir -p "$BIN" "$WORK/links"

say "building toto and helpers"
$GO build -o "$BIN/toto" ./cmd/toto
$GO build -o "$BIN/treegen" ./bench/treegen
$GO build -o "$BIN/rawsha" ./bench/rawsha

# in-toto-golang's own CLI, built from its module (cached between runs).
IG_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/toto-bench/in-toto-golang-$INTOTO_GOLANG_VERSION
IG_BIN=""
if [[ " $TOOLS " == *" in-toto-golang "* ]]; then
	if [ ! -x "$IG_CACHE/in-toto-golang" ]; then
		say "building in-toto-golang $INTOTO_GOLANG_VERSION CLI (first run only)"
		mkdir -p "$IG_CACHE"
		GOBIN="$IG_CACHE" GOFLAGS= $GO install "github.com/in-toto/in-toto-golang@$INTOTO_GOLANG_VERSION" >&2 || say "cannot build in-toto-golang; skipping it"
	fi
	[ -x "$IG_CACHE/in-toto-golang" ] && IG_BIN="$IG_CACHE/in-toto-golang"
fi
PY_RUN=""
if [[ " $TOOLS " == *" in-toto-run "* ]]; then
	if [ -x /usr/bin/in-toto-run ]; then PY_RUN=/usr/bin/in-toto-run; else say "no /usr/bin/in-toto-run (apt-get install in-toto); skipping it"; fi
fi

TREE="$WORK/tree"
if [ ! -d "$TREE" ]; then
	say "generating $FILES files, $MB MiB in $TREE"
	"$BIN/treegen" -files "$FILES" -mb "$MB" -o "$TREE"
fi
BYTES=$(( MB * 1024 * 1024 ))

# Keys: ed25519 PKCS#8 PEM for toto and in-toto-golang, the securesystemslib
# format for in-toto-run. Signing is negligible next to hashing.
( cd "$WORK" && "$BIN/toto" key generate --type ed25519 -o toto.key >/dev/null 2>&1 || true )
if [ -n "$PY_RUN" ] && [ ! -f "$WORK/py.key" ]; then
	( cd "$WORK" && /usr/bin/in-toto-keygen -t ed25519 py.key >/dev/null )
fi

say "warming the page cache"
find "$TREE" -type f -print0 | xargs -0 cat >/dev/null

# run_tool NAME CMD... : REPS timed runs in $WORK, best wall time kept.
declare -A WALL USER SYS RSS
run_tool() {
	local name=$1; shift
	local best="" out
	for _ in $(seq "$REPS"); do
		rm -f "$WORK"/links/*.link
		out=$( cd "$WORK" && { /usr/bin/time -f "%e %U %S %M" "$@" >/dev/null 2>"$WORK/err.$name"; } 2>&1 ) || true
		out=$(tail -n1 "$WORK/err.$name")
		if ! ls "$WORK"/links/*.link >/dev/null 2>&1; then
			say "$name failed:"; cat "$WORK/err.$name" >&2; return 0
		fi
		read -r w u s m <<<"$out"
		if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN{exit !(a<b)}'; then
			best=$w; WALL[$name]=$w; USER[$name]=$u; SYS[$name]=$s; RSS[$name]=$m
		fi
	done
	# Sanity: every tool must record every file, twice over.
	local n
	n=$(/usr/bin/python3 -c 'import json,sys,base64
d=json.load(open(sys.argv[1]))
s=d["signed"] if "signed" in d else json.loads(base64.b64decode(d["payload"]))
print(len(s["materials"]), len(s["products"]))' "$(ls "$WORK"/links/*.link | head -1)")
	say "$name recorded materials/products: $n (want $FILES $FILES)"
}

for tool in $TOOLS; do
	case $tool in
	toto)
		say "timing toto run"
		run_tool toto "$BIN/toto" run -q -n bench -k toto.key -m tree -p tree -d links -- true ;;
	in-toto-run)
		[ -n "$PY_RUN" ] || continue
		say "timing in-toto-run (Python)"
		run_tool in-toto-run env -u IN_TOTO_ARTIFACT_EXCLUDE_PATTERNS "$PY_RUN" -n bench -k py.key -t ed25519 -m tree -p tree -d links -- true ;;
	in-toto-golang)
		[ -n "$IG_BIN" ] || continue
		say "timing in-toto-golang run"
		run_tool in-toto-golang "$IG_BIN" run -n bench -k toto.key -m tree -p tree -d links -- true ;;
	esac
done

say "measuring raw crypto/sha256 (cache-resident blocks, and the tree preloaded into memory)"
read -r RAW_WALL RAW_CPU TREE_WALL TREE_CPU NCPU < <("$BIN/rawsha" -d 3s -tree "$TREE")

echo
echo "Recording $FILES files / $MB MiB as materials and products (2 x $MB MiB hashed), best of $REPS, $NCPU CPUs"
printf '%-16s %9s %9s %9s %10s %12s %10s\n' tool wall_s user_s sys_s MB/s "toto_faster" peak_RSS_MiB
for tool in toto in-toto-run in-toto-golang; do
	[ -n "${WALL[$tool]:-}" ] || continue
	awk -v t="$tool" -v w="${WALL[$tool]}" -v u="${USER[$tool]}" -v s="${SYS[$tool]}" -v m="${RSS[$tool]}" \
		-v tw="${WALL[toto]:-0}" -v b="$BYTES" 'BEGIN{
		mbs = 2*b/w/1e6; ratio = (tw > 0) ? sprintf("%.1fx", w/tw) : "-";
		printf "%-16s %9.2f %9.2f %9.2f %10.0f %12s %10.1f\n", t, w, u, s, mbs, ratio, m/1024 }'
done
if [ -n "${WALL[toto]:-}" ]; then
	awk -v w="${WALL[toto]}" -v u="${USER[toto]}" -v s="${SYS[toto]}" -v b="$BYTES" \
		-v rw="$RAW_WALL" -v rc="$RAW_CPU" -v tw="$TREE_WALL" -v tc="$TREE_CPU" 'BEGIN{
		wall = 2*b/w/1e6; cpu = 2*b/(u+s)/1e6;
		printf "\n%-52s %10s %14s\n", "raw crypto/sha256 on all cores", "MB/s", "MB/CPU-second";
		printf "%-52s %10.0f %14.0f\n", "  cache-resident 256 KiB blocks (hash peak)", rw, rc;
		printf "%-52s %10.0f %14.0f\n", "  the same tree, preloaded into memory", tw, tc;
		printf "%-52s %10.0f %14.0f\n", "toto run (whole CLI, incl. walk, JSON, signing)", wall, cpu;
		printf "toto vs cache-resident peak: %.0f%% wall-clock, %.0f%% per CPU-second\n", 100*wall/rw, 100*cpu/rc;
		printf "toto vs same data in memory: %.0f%% wall-clock, %.0f%% per CPU-second\n", 100*wall/tw, 100*cpu/tc }'
fi
echo "(toto_faster: how many times longer the tool took than toto; load avg now: $(cut -d' ' -f1-3 /proc/loadavg))"

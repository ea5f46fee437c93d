#!/usr/bin/env bash
# make demo: run the basic example (examples/basic) end to end: alice signs a
# layout, bob writes code, carl packages it, a consumer verifies the package;
# then an attacker swaps the package and the verifier explains why it fails.
#
# Uses $TOTO if set, else bin/toto of this repository (make build).
# Exit status: 0 when the honest chain verified and the tampering was caught;
# non-zero otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export TOTO=${TOTO:-$root/bin/toto}
if [ ! -x "$TOTO" ]; then
	echo "demo: $TOTO not found: run 'make build' first (or set TOTO)" >&2
	exit 2
fi

start=$(date +%s)
status=0
bash "$root/examples/basic/run.sh" || status=$?
elapsed=$(($(date +%s) - start))

echo
if [ "$status" -eq 0 ]; then
	echo "demo: done in ${elapsed}s: the honest package verified, the tampered one was caught."
	echo "More examples, with the commands to type: examples/README.md"
else
	echo "demo: FAILED (exit $status) after ${elapsed}s" >&2
fi
exit "$status"

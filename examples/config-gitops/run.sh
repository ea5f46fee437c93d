#!/usr/bin/env bash
# Signed configuration, GitOps style, end to end (see README.md):
#   olivia (owner) signs the layout; dave edits the configuration files;
#   erin reviews and approves exactly those files; the deploy controller
#   verifies them before applying. Then someone changes a file after the
#   review, and the controller refuses to apply it.
#
# Usage: bash run.sh
#   TOTO=path/to/toto  toto binary (default: bin/toto of this repository, else toto on PATH)
#   WORK=dir           work here (must be empty or absent) and keep it; default a
#                      fresh temporary directory, removed at the end unless KEEP=1
# Exit status: 0 if the reviewed change was applied and the tampered one refused.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# --- set-up: find toto, make a work directory (see ../lib.sh) ----------
. "$here/../lib.sh"
example_setup config-gitops

cat <<'EOF'
Signed configuration. olivia signs a layout saying dave edits config/ and
erin or frank reviews it; the deploy controller applies config/ only if it
verifies. Then someone changes a file after the review.
EOF

# --- 1. keys ------------------------------------------------------------------
step "Keys: olivia (owner), dave (author), erin and frank (reviewers)"
for who in olivia dave erin frank; do
	mkdir "$who"
	(cd "$who" && show toto key generate -o "$who")
done

# --- 2. olivia compiles and signs the layout ---------------------------------
step "olivia: create and sign the layout"
mkdir olivia/keys && cp dave/dave.pub erin/erin.pub frank/frank.pub olivia/keys/
cp "$here/layout.yaml" olivia/
(
	cd olivia
	show toto layout create layout.yaml -o root.layout
	show toto sign --key olivia root.layout
)

# The configuration as deployed today.
mkdir -p live
cp -R "$here/config" live/

# --- 3. dave edits the configuration (links in DSSE envelopes) ---------------
step "dave: edit (toto record start / edit / toto record stop)"
cp -R live/config dave/
(
	cd dave
	show toto record start --dsse --step edit --key dave -m config
	echo "# (dave releases web 2.4.0 with one more replica, and adds a cache)"
	sed 's|web:2.3.0|web:2.4.0|; s|^replicas: 3|replicas: 4|' config/app.yaml >config/app.yaml.new
	mv config/app.yaml.new config/app.yaml
	printf 'host: cache.internal.example.com\nport: 6379\n' >config/cache.yaml
	show toto record stop --dsse --step edit --key dave -p config
)

# --- 4. erin reviews the change and signs off --------------------------------
step "erin: review (a sign-off: toto run with no command)"
cp -R dave/config erin/
(
	cd erin
	diff -ru ../live/config config || true
	show toto run --dsse --step review --key erin -m config -p config
)

# --- 5. the change is merged; the deploy controller verifies, then applies ---
merge() { # merge DIR: the deploy branch as the controller checks it out
	mkdir -p "$1/links" "$1/keys"
	cp -R erin/config "$1/"
	cp olivia/root.layout "$1/"
	cp dave/*.link erin/*.link "$1/links/"
	cp olivia/olivia.pub "$1/keys/" # pinned in the controller's configuration
}
verify() {
	show toto verify --layout root.layout --layout-key keys/olivia.pub --links links
}

step "deploy controller: verify the merged configuration, then apply it"
merge deploy
(cd deploy && find . -type f | sort | sed 's|^\./|  |')
if (cd deploy && verify); then
	rm -rf live/config && cp -R deploy/config live/
	echo "VERDICT: the configuration PASSED verification and was applied"
else
	echo "VERDICT: the reviewed configuration FAILED verification (unexpected)" >&2
	exit 1
fi

# --- 6. someone changes a file after the review ------------------------------
step "attacker: after the review, make the web front end privileged and swap its image"
merge tampered
sed 's|web:2.4.0|web:2.4.0-debug|; s|privileged: false|privileged: true|' tampered/config/app.yaml >tampered/app.yaml.new
mv tampered/app.yaml.new tampered/config/app.yaml
diff -u deploy/config/app.yaml tampered/config/app.yaml || true

step "deploy controller: verify the tampered configuration"
before=$(cat live/config/app.yaml)
if (cd tampered && verify); then
	rm -rf live/config && cp -R tampered/config live/
	echo "VERDICT: the tampered configuration PASSED verification and was applied: the attack was NOT caught" >&2
	exit 1
else
	code=$?
	if [ "$code" -ne 1 ]; then
		echo "VERDICT: toto verify exited $code (a usage or input error), not 1 (verification failed)" >&2
		exit 1
	fi
	[ "$(cat live/config/app.yaml)" = "$before" ] # nothing was applied
	echo "VERDICT: the tampered config/app.yaml was REJECTED (exit $code) and not applied: the attack was caught"
fi

#!/usr/bin/env bash
# A Go release pipeline, end to end (see README.md):
#   ana and omar (owners) both sign the layout; dana checks out the release
#   tag; bob and carol build it on two machines (threshold 2); bob writes the
#   SBOM; pat packages binary and SBOM and signs an SBOM attestation. The
#   consumer verifies the release; then an attacker who controls carol's build
#   machine slips a backdoor into the source, and the consumer verifies again.
#
# Usage: bash run.sh
#   TOTO=path/to/toto  toto binary (default: bin/toto of this repository, else toto on PATH)
#   WORK=dir           work here (must be empty or absent) and keep it; default a
#                      fresh temporary directory, removed at the end unless KEEP=1
# Exit status: 0 if the honest release verified and the tampering was caught.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# --- set-up: find toto, make a work directory (see ../lib.sh) ----------
. "$here/../lib.sh"
example_setup go-release

# Reproducible Go builds: the local toolchain, no absolute paths, no cgo.
export GOTOOLCHAIN=local GOFLAGS=-trimpath CGO_ENABLED=0
# git: ignore the user's configuration, fixed identity and dates (so the
# release commit is the same on every run), no "detached HEAD" advice.
: >"$WORK/gitconfig"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$WORK/gitconfig"
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=advice.detachedHead GIT_CONFIG_VALUE_0=false
export GIT_AUTHOR_NAME=dana GIT_AUTHOR_EMAIL=dana@example.com GIT_AUTHOR_DATE=2025-01-01T00:00:00Z
export GIT_COMMITTER_NAME=dana GIT_COMMITTER_EMAIL=dana@example.com GIT_COMMITTER_DATE=2025-01-01T00:00:00Z

VERSION=1.0.0
cat <<'EOF'
A Go release. ana and omar both sign the layout; dana checks out tag v1.0.0;
build machines bob and carol must both build the same binary; bob writes
its SBOM; pat packages them. The consumer verifies; then an attacker who
controls carol's build machine slips a file into the build.
EOF

# --- 1. keys ------------------------------------------------------------------
step "Keys: ana, omar (owners); dana (release manager); bob, carol (build machines); pat (packager)"
for who in ana omar dana bob carol pat; do
	mkdir "$who"
	(cd "$who" && show toto key generate -o "$who")
done

# --- 2. the owners compile the layout and both sign it ----------------------
step "ana and omar: create the layout, each signs it"
mkdir ana/keys && cp dana/dana.pub bob/bob.pub carol/carol.pub pat/pat.pub ana/keys/
cp "$here/layout.yaml" ana/
(
	cd ana
	show toto layout lint layout.yaml
	show toto layout create layout.yaml -o root.layout
	show toto sign --key ana root.layout
)
cp ana/root.layout omar/
(cd omar && show toto sign --key omar root.layout)

# --- 3. the upstream repository: hello's source, tagged v1.0.0 --------------
step "upstream: a git repository with hello's source, tag v$VERSION"
mkdir -p upstream/hello
cp "$here"/hello/go.mod "$here"/hello/main.go upstream/hello/
(
	cd upstream/hello
	git init --quiet --initial-branch=main
	git add .
	git commit --quiet -m "hello $VERSION"
	git tag "v$VERSION"
)
git clone --quiet --bare upstream/hello upstream/hello.git
echo "upstream/hello.git at $(git -C upstream/hello.git rev-parse "v$VERSION")"

# --- 4. dana checks out the tag ---------------------------------------------
step "dana: checkout"
(cd dana && show toto run --step checkout --key dana -p src -- git clone --quiet --branch "v$VERSION" ../upstream/hello.git src)

# --- 5. two build machines build it; their links must agree -----------------
for who in bob carol; do
	step "$who: build (GOFLAGS=$GOFLAGS CGO_ENABLED=$CGO_ENABLED)"
	cp -R dana/src "$who/"
	(cd "$who" && show toto run --step build --key "$who" -m src -p hello -- go build -C src -o ../hello .)
done
if cmp -s bob/hello carol/hello; then
	echo "bob and carol built bit-identical binaries"
else
	echo "bob's and carol's binaries differ: verification will fail"
fi

# --- 6. bob describes the binary in an SBOM ----------------------------------
step "bob: sbom"
(cd bob && show toto run --step sbom --key bob -m hello -p hello.spdx.json -- toto sbom hello -o hello.spdx.json)

# --- 7. pat packages binary and SBOM, and attests the SBOM to the package ---
step "pat: package, and an SBOM attestation about the package"
cp bob/hello bob/hello.spdx.json pat/
(
	cd pat
	show toto run --step package --key pat -m hello -m hello.spdx.json -p "hello-$VERSION.tar.gz" -- tar czf "hello-$VERSION.tar.gz" hello hello.spdx.json
	show toto sbom --attest --key pat --subject "hello-$VERSION.tar.gz" hello -o "hello-$VERSION.sbom.att.json"
)

# --- 8. the consumer: release files, links and the two owners' keys ---------
publish() { # publish DIR PACKAGER-DIR BUILDER-DIR...: what a consumer downloads
	local dir=$1 pkg=$2
	shift 2
	mkdir -p "$dir/links" "$dir/keys"
	cp "$pkg/hello-$VERSION.tar.gz" "$pkg/hello-$VERSION.sbom.att.json" omar/root.layout "$dir/"
	cp dana/*.link bob/sbom.*.link "$pkg"/package.*.link "$dir/links/"
	for b in "$@"; do cp "$b"/build.*.link "$dir/links/"; done
	cp ana/ana.pub omar/omar.pub "$dir/keys/" # obtained out of band
}
verify() {
	show toto verify --layout root.layout --layout-key keys/ana.pub --layout-key keys/omar.pub \
		--links links --param VERSION="$VERSION" \
		--attestation "hello-$VERSION.sbom.att.json" --sbom-policy ../sbom-policy.yaml
}

step "consumer: download the release, layout and links; pin ana's and omar's keys"
publish consumer pat bob carol
cp "$here/sbom-policy.yaml" . # the consumer's own SBOM policy
(cd consumer && find . -type f | sort | sed 's|^\./|  |')

step "consumer: verify"
if (cd consumer && verify); then
	echo "VERDICT: hello-$VERSION.tar.gz PASSED verification"
else
	echo "VERDICT: the honest release FAILED verification (unexpected)" >&2
	exit 1
fi
mkdir install
tar xzf consumer/"hello-$VERSION.tar.gz" -C install
show install/hello consumer

# --- 9. an attacker controls carol's build machine ---------------------------
# Like the SolarWinds build-server implant (SUNSPOT): a source file is slipped
# in during the build, and the machine signs a link for what it did with
# carol's key. pat packages carol's binary.
step "attacker: on carol's machine, add src/backdoor.go during the build"
mkdir evil-carol
cp -R dana/src evil-carol/
cat >evil-carol/src/backdoor.go <<'EOF'
package main

func init() { println("(backdoor installed)") }
EOF
(cd evil-carol && show toto run --step build --key ../carol/carol -m src -p hello -- go build -C src -o ../hello .)
echo "# pat packages the binary from carol's machine"
mkdir evil-pat
cp evil-carol/hello bob/hello.spdx.json evil-pat/
(
	cd evil-pat
	toto run --quiet --step package --key ../pat/pat -m hello -m hello.spdx.json -p "hello-$VERSION.tar.gz" -- tar czf "hello-$VERSION.tar.gz" hello hello.spdx.json
	toto sbom --attest --key ../pat/pat --subject "hello-$VERSION.tar.gz" hello -o "hello-$VERSION.sbom.att.json"
)
publish tampered evil-pat bob evil-carol

step "consumer: verify the release built with the backdoor"
if (cd tampered && verify); then
	echo "VERDICT: the backdoored release PASSED verification: the attack was NOT caught" >&2
	exit 1
else
	code=$?
	if [ "$code" -ne 1 ]; then
		echo "VERDICT: toto verify exited $code (a usage or input error), not 1 (verification failed)" >&2
		exit 1
	fi
	echo "VERDICT: the backdoored hello-$VERSION.tar.gz was REJECTED (exit $code): the attack was caught"
fi

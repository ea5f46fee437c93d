#!/usr/bin/env bash
# Installs the real clients and servers the interop tests run against, into
# a cache folder outside the repo ($1, default ~/.cache/toto-interop), once:
# later runs reuse what is there. Debian packages come from apt; Go tools
# are built from the Go module proxy (CGO_ENABLED=0) under pinned versions.
# The first run takes about 20 minutes on 2 cores (mostly the two cosign
# builds, then rekor-server and timestamp-server); a warm cache takes seconds.
set -euo pipefail
cache="${1:-$HOME/.cache/toto-interop}"
bin="$cache/bin"
mkdir -p "$bin"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

# Debian: the registry (distribution 2.8), skopeo, gnupg, and notary 0.7
# (notary-server and the notary CLI, for Docker Content Trust).
pkgs=""
command -v docker-registry >/dev/null 2>&1 || pkgs="$pkgs docker-registry"
{ command -v notary-server && command -v notary; } >/dev/null 2>&1 || pkgs="$pkgs notary"
command -v skopeo >/dev/null 2>&1 || pkgs="$pkgs skopeo"
command -v gpg >/dev/null 2>&1 || pkgs="$pkgs gnupg"
if [ -n "$pkgs" ]; then
	echo "interop: installing Debian packages:$pkgs"
	$sudo apt-get update -qq
	# The registry package would start a system service on its default
	# port; tests start their own on a free loopback port instead.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
	if command -v systemctl >/dev/null 2>&1; then
		$sudo systemctl stop docker-registry >/dev/null 2>&1 || true
		$sudo systemctl stop notary-server >/dev/null 2>&1 || true
	fi
fi

# Go tools: name, package@version. The binary is built into a private
# folder and moved under its versioned name, so that two versions of one
# tool (cosign v2 and v3) can sit side by side.
tools=(
	"cosign-v3.1.3 github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3"
	"cosign-v2.6.5 github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"
	"crane github.com/google/go-containerregistry/cmd/crane@v0.22.1"
	"oras oras.land/oras/cmd/oras@v1.3.6"
	# A Rekor v2 log (C2SP tiles on disk; reads are served by the test) and
	# an RFC 3161 timestamp authority, for the transparency tests.
	"rekor-server-posix-v2.3.0 github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix@v2.3.0"
	"timestamp-server-v2.1.3 github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server@v2.1.3"
)
for t in "${tools[@]}"; do
	name=${t%% *}
	pkg=${t#* }
	[ -x "$bin/$name" ] && continue
	echo "interop: building $name ($pkg)"
	tmp=$(mktemp -d)
	GOBIN="$tmp" CGO_ENABLED=0 go install "$pkg"
	mv "$tmp"/* "$bin/$name"
	rm -rf "$tmp"
done
echo "interop: tools in $bin"

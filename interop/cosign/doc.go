// Package cosign holds the interop tests against the real cosign v2 and v3
// binaries, a real registry, crane, oras and skopeo. They build only with
// the "interop" tag: `make interop` installs the oracles and runs them.
package cosign

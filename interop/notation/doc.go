// Package notation holds the interop tests of toto's Notary Project
// signatures against notation-go (the library the notation CLI is built
// on, used directly as the oracle), a real registry (distribution 2.8, no
// referrers API), the sigstore timestamp-authority, cosign v3 and the
// test vectors of notation-go and notation-core-go. They build only with
// the "interop" tag: `make interop` installs the oracles and runs them.
package notation

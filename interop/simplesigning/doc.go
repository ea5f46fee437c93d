// Package simplesigning holds the interop tests of toto's Red Hat simple
// signing against the real clients: Debian's gnupg and skopeo (which signs
// and verifies through containers/image and gpgme). They build only with
// the "interop" tag: `make interop` installs the oracles and runs them.
package simplesigning

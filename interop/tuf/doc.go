// Package tufinterop holds the interop tests of toto's TUF repositories
// served from an OCI registry (trust/tufoci) against the real oras CLI and
// a real registry (distribution 2.8): what toto pushes, oras lists, fetches
// and pulls into a tree that serves as the same TUF repository; what oras
// pushes from a published folder, toto reads through oci://. They build
// only with the "interop" tag: `make interop` installs the oracles and
// runs them.
package tufinterop

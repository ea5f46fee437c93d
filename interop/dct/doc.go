// Package dctinterop holds the interop tests of toto's Docker Content
// Trust (Notary v1) verification against the real notary-server and
// notary CLI (Debian's notary 0.7 package) and a real registry
// (distribution 2.8): trust data is published with `notary init`,
// `addhash`, `publish`, delegations with `notary delegation add` and
// `key import`, and toto verifies tags against it. They build only with
// the "interop" tag: `make interop` installs the oracles and runs them.
package dctinterop

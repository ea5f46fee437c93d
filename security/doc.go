// Package security holds toto's bad-input suite: end-to-end tests, through
// the public APIs (verifier.Verify with a links folder, runner, keys,
// envelope) and the toto CLI, of what the verifier must refuse and what it
// must survive, each asserting the exact failure an attacker's input
// produces next to an honest control that passes.
//
// It also holds fuzz targets that drive the whole verifier with metadata
// signed by an authorised key, so that a functionary or layout owner cannot
// crash it or make it pass something its rules forbid.
//
// The threat model these tests back is in SECURITY.md at the repository
// root. The package has no non-test code.
package security

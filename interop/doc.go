// Package interop checks that toto and the two reference implementations of
// in-toto agree on signed metadata, in both directions. It holds only tests.
//
// What it checks:
//
//   - Python → toto: keys made by Debian's in-toto 1.3.1 / securesystemslib
//     0.26 (in-toto-keygen and the Python module), links made by in-toto-run,
//     layouts signed by in-toto-sign and by Metablock.sign, and DSSE
//     envelopes signed with securesystemslib, all load and verify in toto;
//     the keyids toto computes equal the ones Python wrote (in file names and
//     signatures).
//   - toto → Python: links and layouts toto signs with toto-generated keys
//     verify with in-toto-sign --verify, with the Python module, and, as a
//     whole supply chain, with in-toto-verify.
//   - in-toto-golang v0.11 ↔ toto: metadata signed by in-toto-golang
//     (Metablock and DSSE) verifies in toto, and toto's verifies in
//     in-toto-golang, for ed25519, ECDSA P-256/P-384 and RSA-PSS keys.
//   - RSA PKCS#1 v1.5 signatures, which securesystemslib can emit, verify.
//   - Every signed file of the shared corpus (../shared/corpus) verifies with
//     the key that signed it; GPG-signed links parse.
//   - Malformed input to every parser (envelope, link, layout, keys) gives an
//     error naming the file and field, never a panic.
//
// The Python tests run the real CLIs from /usr/bin and /usr/bin/python3 (the
// only interpreter that has the in_toto module) as subprocesses; they skip
// when Debian's in-toto package is not installed. The corpus tests skip when
// ../shared/corpus is absent.
package interop

package image

import "github.com/toto-dev/toto/statement"

// Statement is the in-toto Statement a verified attestation holds (nil for
// a finding that did not verify, and for a cosign v2 .sig layer), for
// policies over predicates (package imagepolicy). It was verified as
// signed, about this image, by a trusted identity: the statement is what
// the signed bytes say, not a re-marshalled copy.
func (f *Finding) Statement() *statement.Statement {
	if !f.Verified {
		return nil
	}
	return f.st
}

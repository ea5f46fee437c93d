package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/timestamp"
	"github.com/toto-dev/toto/transparency"
)

// Create signs payload with k into a keyed v0.3 bundle: a DSSE envelope
// (payloadType, default application/vnd.in-toto+json) whose one signature
// covers PAE(payloadType, payload), and verification material holding only
// a public-key hint, the one cosign writes for the same key
// (keys.Key.SigstoreHint); the DSSE signature's own keyid is left empty,
// as Sigstore clients expect. No transparency-log entry or timestamp is
// added: a verifier trusts the key itself, out of band (for example from
// a layout).
//
// An RSA key signs as Sigstore clients verify (PKCS#1 v1.5, SHA-256; see
// keys.Key.ForSigstore) unless the payload is in-toto link or layout
// metadata, which keeps the in-toto scheme of the key (RSA-PSS): a layout
// checks a step's link with the functionary's in-toto key, whatever
// envelope holds it. Verify accepts both for RSA.
//
// The output is sigstore-go's canonical protobuf JSON encoding of the
// bundle, so any Sigstore client can read it.
func Create(ctx context.Context, k *keys.Key, payloadType string, payload []byte) ([]byte, error) {
	return CreateWith(ctx, k, payloadType, payload, CreateOptions{})
}

// CreateOptions add what proves when a bundle was signed, and by whom.
type CreateOptions struct {
	// Log, when set, records the signature in a transparency log (a
	// Rekor v2 log: transparency.NewRekor); the entry, its inclusion
	// proof and the checkpoint go into the bundle's tlogEntries.
	Log transparency.Log
	// Timestamps, when set, has an RFC 3161 timestamp authority sign the
	// time (timestamp.New); the response goes into the bundle's
	// timestampVerificationData.
	Timestamps timestamp.Authority
	// Certificate, when set, is the signer's X.509 certificate (DER),
	// whose public key must be k's: the bundle then carries the
	// certificate instead of a key hint, and verifies as a certificate
	// ("keyless") bundle against the certificate authorities of a
	// trusted root, at the time the log or TSA proves.
	Certificate []byte
}

// CreateWith is Create with a transparency log, a timestamp authority or
// a certificate (see CreateOptions). The log and the TSA are contacted in
// that order after signing; either failing fails the call (errors wrap
// transparency.ErrLog or timestamp.ErrAuthority), and nothing is written.
//
// Rekor v2 records a digest of the signed bytes, so a logged signature
// must be pre-hashed: ECDSA keys qualify, and RSA keys for statements
// (PKCS#1 v1.5). toto's Ed25519 keys (pure Ed25519) and RSA-PSS
// signatures over in-toto links and layouts cannot be logged: CreateWith
// refuses them with ErrUnloggable before signing.
func CreateWith(ctx context.Context, k *keys.Key, payloadType string, payload []byte, opts CreateOptions) ([]byte, error) {
	if payloadType == "" {
		payloadType = envelope.PayloadTypeInToto
	}
	signer := k
	if !inTotoMetadata(payloadType, payload) {
		signer = k.ForSigstore()
	}
	var cert *x509.Certificate
	if len(opts.Certificate) > 0 {
		c, err := x509.ParseCertificate(opts.Certificate)
		if err != nil {
			return nil, fmt.Errorf("bundle: certificate: %w", err)
		}
		if !samePublicKey(c.PublicKey, k.CryptoPublicKey()) {
			return nil, fmt.Errorf("bundle: the certificate's public key is not the signing key's (%s)", keys.ShortID(k.ID()))
		}
		cert = c
	}
	if opts.Log != nil {
		if err := loggable(k, signer); err != nil {
			return nil, err
		}
	}
	pae := dsse.PAE(payloadType, payload)
	sig, err := signer.Sign(ctx, pae)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	pb := build(payloadType, payload, k.SigstoreHint(), sig)
	if cert != nil {
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{
			Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw},
		}
	}
	if opts.Log != nil {
		e := transparency.Entry{Signed: pae, Signature: sig, Certificate: cert}
		if cert == nil {
			e.PublicKey = k.CryptoPublicKey()
		}
		tle, err := opts.Log.Append(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		pb.VerificationMaterial.TlogEntries = append(pb.VerificationMaterial.TlogEntries, tle)
	}
	if opts.Timestamps != nil {
		ts, err := opts.Timestamps.Timestamp(ctx, sig)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		pb.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}},
		}
	}
	return encode(pb)
}

// ErrUnloggable: the key signs in a way a Rekor v2 log cannot record.
var ErrUnloggable = errors.New("this signature cannot be recorded in a Rekor v2 log")

// loggable refuses, before anything is signed, keys whose signatures
// Rekor v2 would refuse (see CreateWith).
func loggable(k, signer *keys.Key) error {
	switch k.CryptoPublicKey().(type) {
	case ed25519.PublicKey:
		return fmt.Errorf("bundle: %w: key %s is Ed25519, which toto signs as pure Ed25519 (in-toto's scheme) while Rekor v2 records digests (Ed25519ph); use an ECDSA key", ErrUnloggable, keys.ShortID(k.ID()))
	case *rsa.PublicKey:
		if signer == k && k.ForSigstore() != k {
			return fmt.Errorf("bundle: %w: key %s signs in-toto links and layouts with RSA-PSS, which Rekor v2 does not accept (it takes RSA PKCS#1 v1.5); use an ECDSA key", ErrUnloggable, keys.ShortID(k.ID()))
		}
	}
	return nil
}

// samePublicKey compares two public keys by their DER encoding.
func samePublicKey(a, b crypto.PublicKey) bool {
	da, err1 := x509.MarshalPKIXPublicKey(a)
	db, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(da, db)
}

// inTotoMetadata reports whether payload is an in-toto link or layout (or
// a link attestation), which a layout verifies with the functionary's
// in-toto key and scheme.
func inTotoMetadata(payloadType string, payload []byte) bool {
	if payloadType != envelope.PayloadTypeInToto {
		return false
	}
	var probe struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(payload, &probe) != nil {
		return false
	}
	switch strings.ToLower(probe.Type) {
	case "link", "layout":
		return true
	}
	return probe.PredicateType == link.PredicateType
}

// build makes a keyed v0.3 bundle with one DSSE signature and the public
// key hint.
func build(payloadType string, payload []byte, hint string, sig []byte) *protobundle.Bundle {
	return &protobundle.Bundle{
		MediaType: MediaTypeV03,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{
				PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint},
			},
		},
		Content: &protobundle.Bundle_DsseEnvelope{
			DsseEnvelope: &protodsse.Envelope{
				Payload:     payload,
				PayloadType: payloadType,
				// The keyid stays empty, as Sigstore signers write it:
				// sigstore-go (through go-securesystemslib's DSSE
				// verifier) skips a signature whose keyid is not the
				// SHA-256 of the key's DER, which a toto keyid is not.
				Signatures: []*protodsse.Signature{{Sig: sig}},
			},
		},
	}
}

// encode checks pb with sigstore-go and writes its canonical JSON.
func encode(pb *protobundle.Bundle) ([]byte, error) {
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	out, err := b.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return out, nil
}

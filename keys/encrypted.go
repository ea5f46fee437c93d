package keys

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/youmark/pkcs8"
)

// PEM block types of encrypted private keys.
const (
	// PEMEncryptedPKCS8 is an encrypted PKCS#8 key (RFC 5958, PBES2), as
	// `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it.
	PEMEncryptedPKCS8 = "ENCRYPTED PRIVATE KEY"
	// PEMSigstoreEncrypted is the key cosign generate-key-pair writes:
	// go-securesystemslib's encrypted format (scrypt and NaCl secretbox)
	// around a PKCS#8 key.
	PEMSigstoreEncrypted = "ENCRYPTED SIGSTORE PRIVATE KEY"
	// pemCosignEncrypted is the same format under the name cosign used
	// before v1.14.
	pemCosignEncrypted = "ENCRYPTED COSIGN PRIVATE KEY"
)

// ErrPasswordRequired is returned for an encrypted private key when the
// caller gave no way to get its password (LoadOptions.Password is nil).
var ErrPasswordRequired = errors.New("the private key is encrypted and no password was given")

// ErrWrongPassword is returned when an encrypted private key does not
// decrypt with the password given. The formats cannot tell a wrong
// password from a damaged file.
var ErrWrongPassword = errors.New("wrong password (or a damaged key file)")

// LoadOptions tunes LoadWith and ParseWith. The zero value loads
// unencrypted keys only.
type LoadOptions struct {
	// Password returns the password of an encrypted private key. It is
	// called at most once, and only when the key is encrypted and well
	// formed. The library never prompts or reads the environment itself:
	// a command-line tool supplies this callback.
	Password func() ([]byte, error)
}

// LoadWith is Load with options: encrypted private keys (cosign's
// ENCRYPTED SIGSTORE PRIVATE KEY and encrypted PKCS#8) are decrypted with
// the password opts.Password returns. Errors name the file; a key that
// needs a password wraps ErrPasswordRequired or ErrWrongPassword.
func LoadWith(path string, opts LoadOptions) (*Key, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseWith(data, opts)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return k, nil
}

// ParseWith is Parse with options (see LoadWith).
func ParseWith(data []byte, opts LoadOptions) (*Key, error) {
	return parse(data, opts)
}

// IsEncrypted reports whether data is an encrypted private key in one of
// the formats LoadWith reads. It does not validate the key.
func IsEncrypted(data []byte) bool {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return false
		}
		switch block.Type {
		case PEMEncryptedPKCS8, PEMSigstoreEncrypted, pemCosignEncrypted:
			return true
		case "EC PARAMETERS":
			continue
		}
		return false
	}
}

func askPassword(opts LoadOptions, what string) ([]byte, error) {
	if opts.Password == nil {
		return nil, fmt.Errorf("%s: %w", what, ErrPasswordRequired)
	}
	pw, err := opts.Password()
	if err != nil {
		return nil, fmt.Errorf("%s: password: %w", what, err)
	}
	return pw, nil
}

// sigstoreEnvelope is the JSON go-securesystemslib's encrypted package
// writes. It is read here only to tell a malformed file (refused before a
// password is asked for) from a wrong password; encrypted.Decrypt parses
// it again and does the cryptography.
type sigstoreEnvelope struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N, R, P int
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// sigstoreScryptParams are the scrypt parameter sets go-securesystemslib
// accepts (legacy, standard, OWASP); cosign writes the standard one.
var sigstoreScryptParams = [][3]int{{32768, 8, 1}, {65536, 8, 1}, {131072, 8, 1}}

func parseSigstoreEncrypted(block *pem.Block, opts LoadOptions) (*Key, error) {
	what := fmt.Sprintf("encrypted cosign key (%s)", block.Type)
	var env sigstoreEnvelope
	if err := json.Unmarshal(block.Bytes, &env); err != nil {
		return nil, fmt.Errorf("%s: malformed: %v", what, err)
	}
	if env.KDF.Name != "scrypt" || env.Cipher.Name != "nacl/secretbox" {
		return nil, fmt.Errorf("%w: %s: kdf %q, cipher %q (want scrypt, nacl/secretbox)", ErrUnsupported, what, env.KDF.Name, env.Cipher.Name)
	}
	p := [3]int{env.KDF.Params.N, env.KDF.Params.R, env.KDF.Params.P}
	if !slices.Contains(sigstoreScryptParams, p) {
		return nil, fmt.Errorf("%w: %s: scrypt parameters N=%d r=%d p=%d", ErrUnsupported, what, p[0], p[1], p[2])
	}
	if len(env.Cipher.Nonce) != 24 || len(env.Ciphertext) == 0 || len(env.KDF.Salt) == 0 {
		return nil, fmt.Errorf("%s: malformed: want a 24-byte nonce, a salt and a ciphertext", what)
	}
	pw, err := askPassword(opts, what)
	if err != nil {
		return nil, err
	}
	der, err := encrypted.Decrypt(block.Bytes, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, ErrWrongPassword)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: the decrypted key is not PKCS#8: %v", what, err)
	}
	return fromPrivate(priv)
}

// Object identifiers of PKCS#5 v2 (RFC 8018) and scrypt (RFC 7914) that
// the encrypted PKCS#8 reader accepts.
var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

// Bounds on the work an encrypted PKCS#8 file may ask for: the file names
// its own key-derivation cost, and a key path may point at a file someone
// else wrote. openssl writes 2048 PBKDF2 iterations by default, toto
// 600000; scrypt keys as openssl -scrypt writes them use N=16384, r=8
// (16 MiB), and the bound admits OWASP's N=131072, r=8.
const (
	maxPBKDF2Iterations = 1 << 21
	maxScryptMemory     = 128 << 20 // 128·N·r bytes
	maxScryptWork       = 1 << 18   // N·p
)

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

type scryptParams struct {
	Salt                     []byte
	CostParameter            int
	BlockSize                int
	ParallelizationParameter int
	KeyLength                int `asn1:"optional"`
}

// checkEncryptedPKCS8 reads the PBES2 parameters of an encrypted PKCS#8
// key and refuses what github.com/youmark/pkcs8 (which decrypts it) would
// mishandle: unbounded key-derivation cost, an IV or ciphertext that is
// not whole cipher blocks (which would panic), or AES-GCM (which it
// decrypts as CBC).
func checkEncryptedPKCS8(der []byte) error {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return fmt.Errorf("not an EncryptedPrivateKeyInfo: %v", err)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return fmt.Errorf("%w: encryption %s (only PBES2 is supported)", ErrUnsupported, info.Algorithm.Algorithm)
	}
	var p pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p); err != nil || len(rest) > 0 {
		return fmt.Errorf("PBES2 parameters: %v", err)
	}
	switch kdf := p.KeyDerivationFunc.Algorithm; {
	case kdf.Equal(oidPBKDF2):
		var kp pbkdf2Params
		if rest, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil || len(rest) > 0 {
			return fmt.Errorf("PBKDF2 parameters: %v", err)
		}
		if kp.IterationCount < 1 || kp.IterationCount > maxPBKDF2Iterations {
			return fmt.Errorf("%w: PBKDF2 iteration count %d (at most %d)", ErrUnsupported, kp.IterationCount, maxPBKDF2Iterations)
		}
	case kdf.Equal(oidScrypt):
		var sp scryptParams
		if rest, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &sp); err != nil || len(rest) > 0 {
			return fmt.Errorf("scrypt parameters: %v", err)
		}
		n, r, q := sp.CostParameter, sp.BlockSize, sp.ParallelizationParameter
		if n < 2 || n&(n-1) != 0 || r < 1 || q < 1 || n > maxScryptMemory/128/r || q > maxScryptWork/n {
			return fmt.Errorf("%w: scrypt parameters N=%d r=%d p=%d", ErrUnsupported, n, r, q)
		}
	default:
		return fmt.Errorf("%w: key derivation %s (want PBKDF2 or scrypt)", ErrUnsupported, kdf)
	}
	block := 0
	switch c := p.EncryptionScheme.Algorithm; {
	case c.Equal(oidAES128CBC), c.Equal(oidAES192CBC), c.Equal(oidAES256CBC):
		block = 16
	case c.Equal(oidDESEDE3CBC):
		block = 8
	default:
		return fmt.Errorf("%w: cipher %s (want AES-CBC or DES-EDE3-CBC)", ErrUnsupported, c)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(p.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(rest) > 0 {
		return fmt.Errorf("cipher parameters: %v", err)
	}
	if len(iv) != block {
		return fmt.Errorf("IV of %d bytes, want %d", len(iv), block)
	}
	if n := len(info.EncryptedData); n == 0 || n%block != 0 {
		return fmt.Errorf("encrypted data of %d bytes is not whole %d-byte blocks", n, block)
	}
	return nil
}

func parseEncryptedPKCS8(block *pem.Block, opts LoadOptions) (*Key, error) {
	what := fmt.Sprintf("encrypted PKCS#8 key (%s)", block.Type)
	if err := checkEncryptedPKCS8(block.Bytes); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	pw, err := askPassword(opts, what)
	if err != nil {
		return nil, err
	}
	if len(pw) == 0 {
		// youmark/pkcs8 reads an empty password as "not encrypted".
		return nil, fmt.Errorf("%s: %w", what, ErrWrongPassword)
	}
	priv, _, err := pkcs8.ParsePrivateKey(block.Bytes, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, ErrWrongPassword)
	}
	return fromPrivate(priv)
}

// EncryptedPKCS8Iterations is the PBKDF2-HMAC-SHA256 iteration count
// MarshalEncryptedPEM uses (OWASP's 2023 recommendation).
const EncryptedPKCS8Iterations = 600000

// MarshalEncryptedPEM writes the private key as encrypted PKCS#8 PEM
// (ENCRYPTED PRIVATE KEY): PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC,
// which openssl, Python's cryptography (and so Python in-toto) and toto
// read.
func (k *Key) MarshalEncryptedPEM(password []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, errors.New("key has no private part")
	}
	if len(password) == 0 {
		return nil, errors.New("encrypt key: empty password")
	}
	der, err := pkcs8.MarshalPrivateKey(k.priv, password, &pkcs8.Opts{
		Cipher:  pkcs8.AES256CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: EncryptedPKCS8Iterations, HMACHash: crypto.SHA256},
	})
	if err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMEncryptedPKCS8, Bytes: der}), nil
}

// MarshalSigstorePEM writes the private key as cosign generate-key-pair
// does (ENCRYPTED SIGSTORE PRIVATE KEY: go-securesystemslib's encrypted
// format, scrypt and NaCl secretbox, around PKCS#8), which cosign signs
// with. An empty password is allowed, as cosign allows it.
func (k *Key) MarshalSigstorePEM(password []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, errors.New("key has no private part")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, err
	}
	b, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMSigstoreEncrypted, Bytes: b}), nil
}

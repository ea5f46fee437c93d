package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/term"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/keys/kms"
)

// Environment variables that hold the password of an encrypted private
// key, in the order they are read: toto's own, then cosign's, so that a
// cosign key works in both tools with one setting.
const (
	envPassword       = "TOTO_PASSWORD"
	envCosignPassword = "COSIGN_PASSWORD"
)

// errNoPassword is returned when an encrypted key needs a password and
// none can be had: no variable is set and stdin is not a terminal.
var errNoPassword = fmt.Errorf("set %s (or %s), or run on a terminal to be asked", envPassword, envCosignPassword)

// passwordFor returns the password callback for the key file path: the
// first of TOTO_PASSWORD and COSIGN_PASSWORD that is set (even empty, as
// cosign reads it), else a prompt without echo when stdin is a terminal.
// The library calls it only for an encrypted key.
func passwordFor(path string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if pw, ok := envPasswordValue(); ok {
			return pw, nil
		}
		return promptPassword(fmt.Sprintf("Enter password for private key %s: ", path), false)
	}
}

func envPasswordValue() ([]byte, bool) {
	for _, v := range []string{envPassword, envCosignPassword} {
		if pw, ok := os.LookupEnv(v); ok {
			return []byte(pw), true
		}
	}
	return nil, false
}

// promptPassword asks on the terminal, without echo; confirm asks twice
// (for a new key).
func promptPassword(prompt string, confirm bool) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errNoPassword
	}
	fmt.Fprint(os.Stderr, prompt)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if confirm {
		fmt.Fprint(os.Stderr, "Enter password again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the passwords differ")
		}
	}
	return pw, nil
}

// newKeyPassword is the password for a key toto writes encrypted.
func newKeyPassword(path string) ([]byte, error) {
	if pw, ok := envPasswordValue(); ok {
		return pw, nil
	}
	return promptPassword(fmt.Sprintf("Enter password for new private key %s: ", path), true)
}

// loadKey loads any key file toto takes, asking for the password of an
// encrypted private key (cosign's format or encrypted PKCS#8) as
// passwordFor does.
func loadKey(path string) (*keys.Key, error) {
	// hashivault://NAME: a key that stays in Vault (VAULT_ADDR,
	// VAULT_TOKEN), signing by requests to it.
	if kms.IsReference(path) {
		return kms.Load(context.Background(), path)
	}
	// toto key generate -o NAME writes NAME.key: --key NAME finds it.
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(path + ".key"); err == nil {
			path += ".key"
		}
	}
	return keys.LoadWith(path, keys.LoadOptions{Password: passwordFor(path)})
}

// loadPrivate loads a key file that must hold a private key.
func loadPrivate(path string) (*keys.Key, error) {
	if path == "" {
		return nil, errors.New("--key is required")
	}
	k, err := loadKey(path)
	if err != nil {
		return nil, err
	}
	if !k.IsPrivate() {
		return nil, fmt.Errorf("%s: a private key is needed to sign", path)
	}
	return k, nil
}

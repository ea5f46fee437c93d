// Package endpoint checks the base URLs of the network services toto
// talks to (a timestamp authority, a transparency log) before any
// request, so a typo in configuration is reported as such rather than as
// a failed connection.
package endpoint

import (
	"errors"
	"fmt"
	"net/url"
)

// Check returns an error unless raw is an absolute http or https URL with
// a host. Callers wrap it in their own configuration error.
func Check(raw string) error {
	if raw == "" {
		return errors.New("no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return nil
}

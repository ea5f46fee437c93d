package keys_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/toto-dev/toto/keys"
)

// A "keyid" member naming another key does not become one of the key's
// keyids; one computed another reference's way still does.
func TestDeclaredKeyIDMustBeTheKeys(t *testing.T) {
	a, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	b, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	raw, err := json.Marshal(a.Public())
	if err != nil {
		t.Fatal(err)
	}
	forged, err := keys.Parse(bytes.Replace(raw, []byte(a.ID()), []byte(b.ID()), 1))
	if err != nil {
		t.Fatal(err)
	}
	if forged.HasID(b.ID()) || forged.ID() != a.ID() {
		t.Errorf("key a declaring b's keyid: HasID(b) = %v, ID() = %s; want false, %s", forged.HasID(b.ID()), forged.ID(), a.ID())
	}
	for _, id := range a.IDs() {
		k, err := keys.Parse(bytes.Replace(raw, []byte(a.ID()), []byte(id), 1))
		if err != nil {
			t.Fatal(err)
		}
		if k.ID() != id {
			t.Errorf("declared keyid %s, computed another way, is not kept: ID() = %s", id, k.ID())
		}
	}
}

package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// NotaryServer starts Debian's notary-server (notary 0.7) on a free
// loopback port, without TLS, with the local trust service (it holds the
// timestamp key itself, no notary-signer) and in-memory storage, and
// returns its URL ("http://127.0.0.1:PORT"). It is stopped when the test
// ends.
func NotaryServer(t testing.TB) string {
	t.Helper()
	bin := Tool(t, "notary-server")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	cfg := fmt.Sprintf(`{"server":{"http_addr":%q},"trust_service":{"type":"local"},"storage":{"backend":"memory"},"logging":{"level":"error"}}`, addr)
	path := filepath.Join(dir, "server.json")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, bin, "-config", path)
	url := "http://" + addr
	p.waitHTTP(t, "notary-server", url+"/_notary_server/health")
	return url
}

// NotaryPassphrases are the passphrases the notary CLI reads from its
// environment instead of asking: for the root, targets, snapshot and
// delegation keys.
var NotaryPassphrases = []string{
	"NOTARY_ROOT_PASSPHRASE=toto-root",
	"NOTARY_TARGETS_PASSPHRASE=toto-targets",
	"NOTARY_SNAPSHOT_PASSPHRASE=toto-snapshot",
	"NOTARY_DELEGATION_PASSPHRASE=toto-delegation",
}

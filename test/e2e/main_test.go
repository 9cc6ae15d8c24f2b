//go:build linux

package e2e

import (
	"os"
	"testing"
)

// TestMain removes the hostnet binary that the tests built, if any. The
// tests do not run in parallel: each makes namespaces, veths and taps, and
// starts daemons that the next one must not see.
func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBinary()
	os.Exit(code)
}

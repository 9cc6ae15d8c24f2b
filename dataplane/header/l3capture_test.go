package header

import (
	"testing"

	"github.com/hostnet/hostnet/test/pkt"
)

// readCapture returns the frames of a pcapng file under ../shared/pcaps.
func readCapture(t *testing.T, name string) [][]byte {
	t.Helper()
	frames, err := pkt.ReadCapture("../../../shared/pcaps/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

package header

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// readCapture returns the frames of a pcapng file under ../shared/pcaps.
func readCapture(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open("../../../shared/pcaps/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		b, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), b...))
	}
}

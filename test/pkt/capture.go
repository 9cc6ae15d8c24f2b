package pkt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ReadCapture returns the Ethernet frames of a pcap or pcapng file (told
// apart by their magic): frames of other link types are left out, so a
// classic pcap of another link type gives none. It fails, naming the file,
// on what pcapgo cannot read.
func ReadCapture(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	if bytes.HasPrefix(data, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for {
			d, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				return frames, nil
			}
			if err != nil {
				return frames, fmt.Errorf("%s: frame %d: %w", path, len(frames)+1, err)
			}
			if intf, err := r.Interface(ci.InterfaceIndex); err != nil || intf.LinkType != layers.LinkTypeEthernet {
				continue
			}
			frames = append(frames, append([]byte(nil), d...))
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.LinkType()&0xffff != layers.LinkTypeEthernet {
		return nil, nil
	}
	for {
		d, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return frames, fmt.Errorf("%s: frame %d: %w", path, len(frames)+1, err)
		}
		frames = append(frames, append([]byte(nil), d...))
	}
}

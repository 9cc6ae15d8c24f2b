package l2

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	testpkt "github.com/hostnet/hostnet/test/pkt"
)

// pcapDir holds third-party captures (DESIGN.md), relative to this package.
const pcapDir = "../../shared/pcaps"

// readCapture returns the frames of a pcap or pcapng file.
func readCapture(t *testing.T, name string) [][]byte {
	t.Helper()
	path := filepath.Join(pcapDir, name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("capture not available: %v", err)
		}
		t.Skipf("capture not available: %v", err)
	}
	frames, err := testpkt.ReadCapture(path)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// TestCaptures runs real captures through a bridge's input and checks
// what the bridge makes of every frame. Each source MAC sits on its own
// member (em1, tap3, tap4 in the order they appear), so that a
// conversation crosses the bridge.
func TestCaptures(t *testing.T) {
	tests := []struct {
		file string
		// check returns what is wrong with the decision for frame f, or "".
		check func(f []byte, d Decision, after int) string
	}{
		{"tcpdump-802.1D_spanning_tree.pcap", func(f []byte, d Decision, after int) string {
			if d.Action != ActionFlood || after != len(f) {
				return "STP must flood unchanged"
			}
			return ""
		}},
		{"tcpdump-LACP.pcap", func(f []byte, d Decision, after int) string {
			if d.Reason != packet.DropReservedGroup {
				return "LACP must be dropped as a reserved group"
			}
			return ""
		}},
		{"tcpdump-LLDP_and_CDP.pcap", func(f []byte, d Decision, after int) string {
			lldp := binary.BigEndian.Uint16(f[12:]) == header.EtherTypeLLDP
			switch {
			case lldp && d.Reason != packet.DropReservedGroup:
				return "LLDP must be dropped"
			case !lldp && (d.Action != ActionFlood || after != len(f)):
				return "CDP must flood unchanged"
			}
			return ""
		}},
		{"gopacket-test_vlan.pcap", func(f []byte, d Decision, after int) string {
			if d.Action == ActionDrop || after != len(f) {
				return "tagged frames must cross unchanged"
			}
			return ""
		}},
		{"tcpdump-802.1ad_QinQ.pcap", func(f []byte, d Decision, after int) string {
			if d.Action == ActionDrop || after != len(f) {
				return "QinQ frames must cross unchanged"
			}
			return ""
		}},
		{"tcpdump-ipv4_invalid_hdr_length.pcap", func(f []byte, d Decision, after int) string {
			if d.Reason != packet.DropBadIPHeader {
				return "IHL 4 must be dropped as a bad header"
			}
			return ""
		}},
		{"chrissanders-tcp_teardown.pcapng", func(f []byte, d Decision, after int) string {
			ip := header.IPv4(f[14:])
			if d.Action == ActionDrop || after != 14+int(ip.TotalLen()) {
				return "padded frames must be cut to the IP length"
			}
			return ""
		}},
		{"chrissanders-arp_resolution.pcapng", func(f []byte, d Decision, after int) string {
			if d.Action == ActionDrop || after != len(f) {
				return "ARP runts must cross unchanged"
			}
			return ""
		}},
		{"chrissanders-http_ip4and6.pcapng", func(f []byte, d Decision, after int) string {
			if d.Action == ActionDrop {
				return "IPv4 and IPv6 traffic must cross"
			}
			return ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			frames := readCapture(t, tc.file)
			if len(frames) == 0 {
				t.Fatalf("%s: no frames", tc.file)
			}
			b := newTestBridge(t, Config{}, nil)
			on := map[header.MAC]int{}
			for i, f := range frames {
				src := header.Ethernet(f).Src()
				m, ok := on[src]
				if !ok {
					m = []int{mEm1, mTap3, mTap4}[len(on)%3]
					on[src] = m
				}
				p := pkt(t, f)
				d := b.Input(p, m, 1)
				d.Apply(p)
				if msg := tc.check(f, d, p.Len()); msg != "" {
					t.Errorf("frame %d (%d bytes): Input = %+v, length after %d: %s", i+1, len(f), d, p.Len(), msg)
				}
			}
		})
	}
}

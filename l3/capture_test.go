package l3

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// readCapture returns the frames of a pcapng file under ../shared/pcaps.
func readCapture(t *testing.T, name string) [][]byte {
	t.Helper()
	frames, err := pkt.ReadCapture("../../shared/pcaps/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// captureHost is a stack that plays one host of a capture: interface 1
// with the given MAC and address.
func captureHost(t *testing.T, mac header.MAC, addr string) *env {
	t.Helper()
	pool := packet.NewPool()
	c := &capture{pool: pool}
	r := NewRouter(Config{Pool: pool, Output: c, Seed: 1})
	must(t, r.AddInterface(1, Interface{Name: "em0", MAC: mac, Addrs: []netip.Prefix{netip.MustParsePrefix(addr)}}))
	c.take()
	return &env{t: t, r: r, out: c, pool: pool}
}

func TestCaptureARPResolution(t *testing.T) {
	// The capture's request asks for 192.168.0.1, which the second frame
	// answers from 00:13:46:0b:22:ba: play that host and compare.
	frames := readCapture(t, "chrissanders-arp_resolution.pcapng")
	e := captureHost(t, header.MAC{0x00, 0x13, 0x46, 0x0b, 0x22, 0xba}, "192.168.0.1/24")
	e.input(1, frames[0], sec)
	pk := e.one(1)
	want := frames[1][:arpFrameSize] // the capture's reply carries a 4-byte trailer
	if got := pk.Data(); string(got) != string(want) {
		t.Errorf("reply\n%x\nwant (from the capture)\n%x", got, want)
	}
}

func TestCaptureEcho(t *testing.T) {
	// The capture pings 192.168.100.1 at 00:12:80:4b:c0:7f from
	// 192.168.100.138; play the pinged host and compare the replies'
	// ICMP messages with the captured ones (the IP identification is the
	// host's own choice).
	frames := readCapture(t, "chrissanders-icmp_echo.pcapng")
	e := captureHost(t, header.MAC{0x00, 0x12, 0x80, 0x4b, 0xc0, 0x7f}, "192.168.100.1/24")
	must(t, e.r.AddStaticNeighbor(1, netip.MustParseAddr("192.168.100.138"), header.MAC{0x00, 0x16, 0xd4, 0xb8, 0x59, 0xb1}))
	for i := 0; i+1 < len(frames); i += 2 {
		e.input(1, frames[i], int64(i)*sec)
		pk := e.one(1)
		want := frames[i+1]
		if got := pk.Data(); string(got[:14]) != string(want[:14]) || string(got[34:]) != string(want[34:]) {
			t.Errorf("reply %d\n%x\nwant (from the capture, IP header aside)\n%x", i/2, got, want)
		}
		if ip := ip4Of(pk); ip.TTL != 255 || ip.Protocol != layers.IPProtocolICMPv4 {
			t.Errorf("reply %d: TTL %d protocol %v, want 255 ICMP", i/2, ip.TTL, ip.Protocol)
		}
	}
}

func TestCaptureNeighborSolicitation(t *testing.T) {
	// The capture's solicitation asks for 2001:db8:1:2::1000 at
	// 00:0c:29:1f:a7:55; play it and compare with the captured
	// advertisement.
	frames := readCapture(t, "chrissanders-icmpv6_neighbor_solicitation.pcapng")
	e := captureHost(t, header.MAC{0x00, 0x0c, 0x29, 0x1f, 0xa7, 0x55}, "2001:db8:1:2::1000/64")
	e.input(1, frames[0], sec)
	pk := e.one(1)
	if got, want := pk.Data(), frames[1]; string(got) != string(want) {
		t.Errorf("advertisement\n%x\nwant (from the capture)\n%x", got, want)
	}
}

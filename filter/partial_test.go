package filter

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// makePartial turns p's TCP checksum into the partial one a sender with
// checksum offload leaves (the pseudo-header sum, not complemented, with
// VIRTIO_NET_HDR_F_NEEDS_CSUM), as a super-frame from a VM carries it.
func makePartial(p *packet.Packet) {
	m := &p.Meta
	b := p.Bytes()
	end := int(m.L3) + int(m.L3Len)
	ph := header.PseudoHeaderChecksum(header.ProtoTCP, m.Flow.Src.Addr(), m.Flow.Dst.Addr(), uint32(end-int(m.L4)))
	binary.BigEndian.PutUint16(b[int(m.L4)+16:], ph)
	p.GSO = packet.GSO{Type: 1, NeedsCsum: true, CsumStart: m.L4, CsumOffset: 16, Size: 1448}
}

// completeTCP completes a partial TCP checksum as a NIC would and reports
// whether the segment's checksum then verifies.
func completeTCP(t *testing.T, p *packet.Packet) bool {
	t.Helper()
	m := &p.Meta
	b := p.Bytes()
	end := int(m.L3) + int(m.L3Len)
	binary.BigEndian.PutUint16(b[int(m.L4)+16:], ^header.Checksum(b[m.L4:end], 0))
	pk := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	nl := pk.NetworkLayer()
	if tcp == nil || nl == nil {
		t.Fatalf("not a TCP packet:\n%s", pk.Dump())
	}
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		t.Fatal(err)
	}
	want := binary.BigEndian.Uint16(b[int(m.L4)+16:])
	buf := gopacket.NewSerializeBuffer()
	tcp.Payload = b[int(m.L4)+int(tcp.DataOffset)*4 : end]
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, tcp, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint16(buf.Bytes()[16:]) == want
}

// TestScrubPartialChecksum: a super-frame with a partial checksum whose
// timestamps reassemble tcp rewrites keeps a checksum that completes
// right. Its field holds the pseudo-header sum, which a rewrite of the TCP
// header must leave alone (the completion sums the new bytes).
func TestScrubPartialChecksum(t *testing.T) {
	f := newTestFilter(t, "pass in on em0 proto tcp scrub (reassemble tcp)\n", Options{})
	c, s := "198.51.100.7", "203.0.113.1"
	send := func(dir Dir, h hdr, partial bool) (*packet.Packet, packet.Verdict) {
		t.Helper()
		var p *packet.Packet
		if dir == In {
			p = scrubPkt(t, c, 4000, s, 22, h)
		} else {
			p = scrubPkt(t, s, 22, c, 4000, h)
		}
		if partial {
			makePartial(p)
		}
		return p, f.Test(dir, ifEm0, p, 10).Verdict
	}
	syn, _ := send(In, hdr{flags: "S", seq: 100, ts: 1, tsval: 1000}, false)
	sa, _ := send(Out, hdr{flags: "SA", seq: 500, ack: 101, ts: 1, tsval: 5000, tsecr: readHdr(t, syn).tsval}, false)
	data, v := send(In, hdr{flags: "PA", seq: 101, ack: 501, ts: 1, tsval: 1001, tsecr: readHdr(t, sa).tsval, data: 4000}, true)
	if v != packet.Pass {
		t.Fatalf("super-frame: %v, want pass", v)
	}
	if !completeTCP(t, data) {
		t.Fatalf("a partial checksum completed wrong after the timestamps' rewrite")
	}
	if got := readHdr(t, data).tsval; got == 1001 {
		t.Errorf("super-frame's tsval left at 1001: the test did not test a rewrite")
	}
}

// TestScrubMSSPartialChecksum: a guest with checksum offload sends its
// SYNs with a partial checksum too; max-mss rewrites the option and the
// checksum still completes right, at even and odd offsets.
func TestScrubMSSPartialChecksum(t *testing.T) {
	for _, nop := range []bool{false, true} {
		f := newTestFilter(t, "match in all scrub (max-mss 1200)\npass\n", Options{})
		p := scrubPkt(t, "198.51.100.7", 4000, "203.0.113.1", 22, hdr{flags: "S", seq: 100, mss: 1460, nop: nop})
		makePartial(p)
		if v := f.Test(In, ifEm0, p, 1).Verdict; v != packet.Pass {
			t.Fatalf("SYN: %v", v)
		}
		if !completeTCP(t, p) {
			t.Errorf("nop %v: a partial checksum completed wrong after max-mss", nop)
		}
		if got := readHdr(t, p).mss; got != 1200 {
			t.Errorf("nop %v: MSS %d, want 1200", nop, got)
		}
	}
}

package l2

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Frame builders for the tests of this package. They build exactly the
// bytes a case needs, including broken ones.

func mac(s string) header.MAC {
	m, err := net.ParseMAC(s)
	if err != nil || len(m) != 6 {
		panic("bad test MAC " + s)
	}
	return header.MAC(m)
}

// eth returns an Ethernet II frame; tags are 0x8100 VIDs, outermost first.
func eth(dst, src string, etype uint16, payload []byte, tags ...uint16) []byte {
	d, s := mac(dst), mac(src)
	f := append([]byte{}, d[:]...)
	f = append(f, s[:]...)
	for _, vid := range tags {
		f = binary.BigEndian.AppendUint16(f, header.EtherTypeDot1Q)
		f = binary.BigEndian.AppendUint16(f, vid)
	}
	f = binary.BigEndian.AppendUint16(f, etype)
	return append(f, payload...)
}

// ipv4 returns an IPv4 header with a correct checksum and n bytes of
// payload.
func ipv4(src, dst string, n int) []byte {
	b := make([]byte, header.IPv4MinSize+n)
	header.IPv4(b).Encode(&header.IPv4Fields{
		TotalLen: uint16(len(b)),
		TTL:      64,
		Protocol: header.ProtoUDP,
		Src:      netip.MustParseAddr(src),
		Dst:      netip.MustParseAddr(dst),
	})
	return b
}

// ipv6 returns an IPv6 header with n bytes of payload.
func ipv6(src, dst string, n int) []byte {
	b := make([]byte, header.IPv6Size+n)
	h := header.IPv6(b)
	h.SetVersionTCFlow(0, 0)
	h.SetPayloadLen(uint16(n))
	h.SetNextHeader(header.ProtoUDP)
	h.SetHopLimit(64)
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return b
}

// arp returns an Ethernet/IPv4 ARP packet.
func arp(op uint16, sha, spa, tha, tpa string) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], header.EtherTypeIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], op)
	s, t := mac(sha), mac(tha)
	copy(b[8:], s[:])
	sp, tp := netip.MustParseAddr(spa).As4(), netip.MustParseAddr(tpa).As4()
	copy(b[14:], sp[:])
	copy(b[18:], t[:])
	copy(b[24:], tp[:])
	return b
}

// snap returns an 802.3 frame carrying etype in LLC/SNAP form.
func snap(dst, src string, etype uint16, payload []byte) []byte {
	l := []byte{0xaa, 0xaa, 0x03, 0, 0, 0}
	l = binary.BigEndian.AppendUint16(l, etype)
	l = append(l, payload...)
	return eth(dst, src, uint16(len(l)), l)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func pkt(t testing.TB, f []byte) *packet.Packet {
	t.Helper()
	p := packet.New()
	p.SetFrame(f)
	return p
}

// Addresses used throughout.
const (
	macEm1    = "00:00:00:00:0e:01"
	macVether = "fe:e1:ba:d0:00:00"
	macA      = "02:00:00:00:00:0a" // a host behind em1
	macB      = "02:00:00:00:00:0b" // guest on tap3
	macC      = "02:00:00:00:00:0c" // guest on tap4
	bcast     = "ff:ff:ff:ff:ff:ff"
)

// Members of the test bridge.
const (
	mEm1 = iota
	mTap3
	mTap4
	mVether
	mSpan
)

func testMembers() []Member {
	return []Member{
		mEm1:    {Name: "em1", MAC: mac(macEm1)},
		mTap3:   {Name: "tap3"},
		mTap4:   {Name: "tap4"},
		mVether: {Name: "vether0", MAC: mac(macVether), Stack: true},
		mSpan:   {Name: "em2", Span: true},
	}
}

func newTestBridge(t testing.TB, cfg Config, edit func(ms []Member)) *Bridge {
	t.Helper()
	ms := testMembers()
	if edit != nil {
		edit(ms)
	}
	if cfg.MaxAddr == 0 {
		cfg.MaxAddr = DefaultMaxAddr
	}
	b, err := NewBridge("bridge0", cfg, ms)
	if err != nil {
		t.Fatalf("NewBridge: %v", err)
	}
	return b
}

package l2

import (
	"encoding/binary"

	"github.com/hostnet/hostnet/dataplane/header"
)

// etherMTU is the largest 802.3 length field; a larger value is an
// EtherType.
const etherMTU = 1500

// llcSNAPSize is the size of an 802.2 LLC header with a SNAP extension:
// DSAP 0xaa, SSAP 0xaa, control 0x03 (UI), OUI 00:00:00, EtherType.
const llcSNAPSize = 8

// snapType returns the EtherType an 802.3 frame carries in LLC/SNAP form
// with OUI 0, and whether f is such a frame. f is at least an Ethernet
// header.
func snapType(f []byte) (uint16, bool) {
	if binary.BigEndian.Uint16(f[12:]) > etherMTU || len(f) < header.EthernetSize+llcSNAPSize {
		return 0, false
	}
	l := f[header.EthernetSize:]
	if l[0] != 0xaa || l[1] != 0xaa || l[2] != 0x03 || l[3] != 0 || l[4] != 0 || l[5] != 0 {
		return 0, false
	}
	return binary.BigEndian.Uint16(l[6:]), true
}

func isIPType(t uint16) bool {
	switch t {
	case header.EtherTypeIPv4, header.EtherTypeIPv6, header.EtherTypeARP, header.EtherTypeRARP:
		return true
	}
	return false
}

// blockNonIP is bridge_blocknonip: it reports whether a member with
// blocknonip keeps f out. Only IPv4, IPv6, ARP and RARP pass, as Ethernet
// II or in LLC/SNAP form; a VLAN-tagged frame never does, whatever it
// carries (its EtherType is the tag's).
func blockNonIP(f []byte) bool {
	if len(f) < header.EthernetSize {
		return true
	}
	if isIPType(binary.BigEndian.Uint16(f[12:])) {
		return false
	}
	t, ok := snapType(f)
	return !ok || !isIPType(t)
}

// ipCheck is the header check bridge_ip makes on an untagged IPv4 or IPv6
// frame (Ethernet II or LLC/SNAP) entering the bridge: OpenBSD's
// ipv4_check and ipv6_check. It reports whether f passes and the length f
// is to be cut to (the IP length: Ethernet padding, trailers and FCS go),
// or 0 to leave it. Other frames, tagged ones included, pass unchanged.
func ipCheck(f []byte) (n int, ok bool) {
	off := header.EthernetSize
	t := binary.BigEndian.Uint16(f[12:])
	if t != header.EtherTypeIPv4 && t != header.EtherTypeIPv6 {
		st, snap := snapType(f)
		if !snap || (st != header.EtherTypeIPv4 && st != header.EtherTypeIPv6) {
			return 0, true
		}
		t, off = st, off+llcSNAPSize
	}
	var l int
	if t == header.EtherTypeIPv4 {
		h := header.IPv4(f[off:])
		// A bad checksum is dropped here, as ipv4_check does, so that a
		// corrupt header is not forwarded to a guest. 127/8 must not
		// appear on the wire (RFC 1122).
		if !h.IsValid(len(h)) || !h.IsChecksumValid() || h[12] == 127 || h[16] == 127 {
			return 0, false
		}
		l = int(h.TotalLen())
	} else {
		h := header.IPv6(f[off:])
		if !h.IsValid(len(h)) || !h.HasValidAddrs() {
			return 0, false
		}
		l = header.IPv6Size + int(h.PayloadLen())
	}
	if off+l < len(f) {
		return off + l, true
	}
	return 0, true
}

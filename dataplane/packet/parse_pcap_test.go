package packet

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/test/pkt"
)

// pcapDir holds the third-party captures, relative to this package.
const pcapDir = "../../../shared/pcaps"

// readEthernetFrames returns the Ethernet frames of a pcap or pcapng file;
// frames of other link types are skipped. It reports an error for files
// pcapgo cannot read.
func readEthernetFrames(t *testing.T, path string) ([][]byte, error) {
	t.Helper()
	return pkt.ReadCapture(path)
}

// checkParsed reports what is wrong with m as Parse's result for frame b:
// offsets outside the frame, a length that runs past it, a Kind that
// disagrees with Drop. It is shared by the capture and fuzz tests.
func checkParsed(b []byte, m Parsed) string {
	n := len(b)
	switch {
	case (m.Kind == KindUnknown) != (m.Drop != DropNone):
		return "Kind unknown if and only if Drop is set"
	case m.NTags > 2:
		return "more than two tags"
	case int(m.L3) > n:
		return "L3 beyond the frame"
	case m.L4 != 0 && (m.L4 <= m.L3 || int(m.L4) > n):
		return "L4 outside the frame or before L3"
	}
	switch m.Kind {
	case KindIPv4, KindIPv6, KindARP:
		if m.L3Len == 0 || int(m.L3)+int(m.L3Len) > n {
			return "L3Len runs past the frame"
		}
		if m.L4 != 0 && int(m.L4) >= int(m.L3)+int(m.L3Len) {
			return "L4 past the end of the datagram"
		}
	case KindOther:
		if m.L3Len != 0 || m.L4 != 0 {
			return "KindOther with L3Len or L4"
		}
	}
	// DropBadIPHeader is exactly what the header views' IsValid rejects.
	if m.Drop == DropBadIPHeader {
		switch {
		case m.EtherType == header.EtherTypeIPv4 && header.IPv4(b[m.L3:]).IsValid(n-int(m.L3)):
			return "DropBadIPHeader for an IPv4 header IsValid accepts"
		case m.EtherType == header.EtherTypeIPv6 && header.IPv6(b[m.L3:]).IsValid(n-int(m.L3)):
			return "DropBadIPHeader for an IPv6 header IsValid accepts"
		}
	}
	switch m.Kind {
	case KindIPv4:
		h := header.IPv4(b[m.L3:])
		if !h.IsValid(n-int(m.L3)) || int(h.TotalLen()) != int(m.L3Len) {
			return "KindIPv4 with a header IsValid rejects"
		}
		if m.Flow.Src.Addr() != h.Src() || m.Flow.Dst.Addr() != h.Dst() || m.Flow.Proto != h.Protocol() {
			return "Flow disagrees with the IPv4 header"
		}
		if m.HasOptions != (h.HeaderLen() > header.IPv4MinSize) {
			return "HasOptions disagrees with IHL"
		}
	case KindIPv6:
		h := header.IPv6(b[m.L3:])
		if !h.IsValid(n-int(m.L3)) || header.IPv6Size+int(h.PayloadLen()) != int(m.L3Len) {
			return "KindIPv6 with a header IsValid rejects"
		}
		if m.Flow.Src.Addr() != h.Src() || m.Flow.Dst.Addr() != h.Dst() || m.Flow.Proto != m.Proto {
			return "Flow disagrees with the IPv6 header"
		}
	}
	if m.Kind == KindIPv4 || m.Kind == KindIPv6 {
		if m.Frag&FragIsFragment != 0 && m.Frag&FragFirst == 0 && (m.L4 != 0 || m.Flow.Src.Port() != 0 || m.Flow.Dst.Port() != 0) {
			return "a non-first fragment with L4 or ports"
		}
		if m.Frag != 0 && m.Frag&FragIsFragment == 0 {
			return "Frag flags without FragIsFragment"
		}
	}
	return ""
}

// TestParsePcaps parses every Ethernet frame of every capture in
// ../shared/pcaps, checks the invariants of checkParsed, and compares
// addresses, protocol and ports with gopacket's decoder, a slow and
// independent reference.
func TestParsePcaps(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no captures in %s", pcapDir)
	}
	p := New()
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			frames, err := readEthernetFrames(t, path)
			if err != nil {
				t.Logf("%s: not read (%v); the pcap port reports it", name, err)
			}
			kinds := map[Kind]int{}
			for i, b := range frames {
				p.SetFrame(b)
				Parse(p)
				m := p.Meta
				kinds[m.Kind]++
				if msg := checkParsed(b, m); msg != "" {
					t.Errorf("frame %d: Parse(%x) = %+v: %s", i+1, b, m, msg)
				}
				if msg := compareGopacket(b, m); msg != "" {
					t.Errorf("frame %d: Parse(%x) = %+v: %s", i+1, b, m, msg)
				}
			}
			t.Logf("%d frames: %v", len(frames), kinds)
		})
	}
}

// compareGopacket decodes b with gopacket and reports where Parse's result
// disagrees on addresses, protocol, ports, TCP flags or ICMP type.
func compareGopacket(b []byte, m Parsed) string {
	pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var src, dst netip.Addr
	var proto uint8
	if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && m.Kind == KindIPv4 {
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		proto = uint8(ip.Protocol)
		if int(ip.Length) != int(m.L3Len) {
			return "IPv4 length differs from gopacket's"
		}
	} else if ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok && m.Kind == KindIPv6 {
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		proto = m.Proto // gopacket names the first next header; compared below by layer
	} else {
		if m.Kind == KindIPv4 || m.Kind == KindIPv6 {
			return "gopacket found no IP layer"
		}
		if m.Kind == KindARP && pkt.Layer(layers.LayerTypeARP) == nil {
			return "gopacket found no ARP layer"
		}
		return ""
	}
	if m.Flow.Src.Addr() != src || m.Flow.Dst.Addr() != dst || m.Proto != proto {
		return "addresses or protocol differ from gopacket's " + src.String() + " " + dst.String()
	}
	if m.Frag&FragIsFragment != 0 {
		return "" // gopacket does not decode past a fragment
	}
	switch l := pkt.TransportLayer().(type) {
	case *layers.TCP:
		if m.Proto != header.ProtoTCP || m.Flow.Src.Port() != uint16(l.SrcPort) || m.Flow.Dst.Port() != uint16(l.DstPort) {
			return "TCP ports differ from gopacket's"
		}
		if m.TCPFlags != b[int(m.L4)+13] {
			return "TCP flags differ from the header"
		}
	case *layers.UDP:
		if m.Proto != header.ProtoUDP || m.Flow.Src.Port() != uint16(l.SrcPort) || m.Flow.Dst.Port() != uint16(l.DstPort) {
			return "UDP ports differ from gopacket's"
		}
	}
	// Parse reads ICMP only in IPv4 and ICMPv6 only in IPv6.
	if l, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && m.Kind == KindIPv4 {
		if m.ICMPType != l.TypeCode.Type() || m.ICMPCode != l.TypeCode.Code() {
			return "ICMP type or code differ from gopacket's"
		}
		if (l.TypeCode.Type() == 0 || l.TypeCode.Type() == 8) && m.Flow.Src.Port() != l.Id {
			return "ICMP echo identifier differs from gopacket's"
		}
	}
	if l, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok && m.Kind == KindIPv6 {
		if m.ICMPType != l.TypeCode.Type() || m.ICMPCode != l.TypeCode.Code() {
			return "ICMPv6 type or code differ from gopacket's"
		}
	}
	return ""
}

// TestParsePcapCases checks what the capture README says of particular
// files.
func TestParsePcapCases(t *testing.T) {
	tests := []struct {
		file  string
		frame int // 1-based
		check func(b []byte, m Parsed) bool
		want  string
	}{
		{"tcpdump-ipv4_invalid_hdr_length.pcap", 1, func(b []byte, m Parsed) bool {
			return m.Kind == KindUnknown && m.Drop == DropBadIPHeader
		}, "IHL 4 is a bad IP header"},
		{"tcpdump-802.1ad_QinQ.pcap", 1, func(b []byte, m Parsed) bool {
			return m.Kind == KindARP && m.NTags == 2 && m.Tags[0] == Tag{stag, 200} && m.Tags[1].TPID == ctag &&
				m.Tags[1].VID() == 2001 && m.L3 == 22
		}, "ARP under S-VID 200 and C-VID 2001"},
		{"gopacket-test_vlan.pcap", 1, func(b []byte, m Parsed) bool {
			return m.Kind == KindIPv4 && m.NTags == 1 && m.Tags[0].VID() == 32 && m.Proto == header.ProtoTCP && m.L4 != 0
		}, "TCP over IPv4 in VLAN 32"},
		{"chrissanders-ppa1e-destunreachable.pcap", 2, func(b []byte, m Parsed) bool {
			return m.Kind == KindIPv4 && int(m.L3)+int(m.L3Len)+4 == len(b) && m.ICMPType == 3 && m.ICMPCode == 1
		}, "ICMP host unreachable with a 4-byte FCS past L3Len"},
		{"chrissanders-ip_frag_source.pcapng", 1, func(b []byte, m Parsed) bool {
			return m.Kind == KindIPv4 && m.Frag == FragIsFragment|FragFirst|FragMore && m.ICMPType == 8 && m.L4 != 0
		}, "first fragment of an echo request"},
		{"chrissanders-ip_frag_source.pcapng", 2, func(b []byte, m Parsed) bool {
			return m.Kind == KindIPv4 && m.Frag == FragIsFragment|FragMore && m.FragOff == 185*8 && m.L4 == 0
		}, "second fragment, offset 1480"},
		{"chrissanders-ip_frag_source.pcapng", 3, func(b []byte, m Parsed) bool {
			return m.Kind == KindIPv4 && m.Frag == FragIsFragment && m.FragOff == 370*8 && m.L4 == 0
		}, "last fragment, offset 2960"},
		{"chrissanders-tcp_teardown.pcapng", 0, func(b []byte, m Parsed) bool {
			return m.Kind == KindIPv4 && m.TCPFlags&header.TCPFlagACK != 0 && m.L3Len == 40 && int(m.L3)+int(m.L3Len) <= len(b)
		}, "FIN/ACK and ACK, the 60-byte ones padded"},
		{"tcpdump-LLDP_and_CDP.pcap", 0, func(b []byte, m Parsed) bool {
			return m.Kind == KindOther && (m.EtherType == header.EtherTypeLLDP || m.EtherType < 0x0600)
		}, "LLDP and CDP (802.3 SNAP) are other"},
		{"tcpdump-LACP.pcap", 0, func(b []byte, m Parsed) bool {
			return m.Kind == KindOther && m.EtherType == 0x8809
		}, "LACP (slow protocols) is other"},
		{"tcpdump-ipv4_tcp_http_xml_tso.pcap", 1, func(b []byte, m Parsed) bool {
			// Captured on the sender before the NIC filled in the total
			// length (0): ipv4_check rejects it, and so does Parse.
			return m.Kind == KindUnknown && m.Drop == DropBadIPHeader
		}, "TSO capture with total length 0 is a bad IP header"},
		{"tcpdump-gso-ipv4.pcap", 1, func(b []byte, m Parsed) bool {
			return m.Kind == KindIPv4 && m.L3Len == 7292 && m.Proto == header.ProtoTCP && m.L4 == 34
		}, "7306-byte GSO super-frame"},
		{"tcpdump-802.1D_spanning_tree.pcap", 1, func(b []byte, m Parsed) bool {
			return m.Kind == KindOther && m.EtherType < 0x0600
		}, "802.3 LLC is other"},
		{"chrissanders-arp_resolution.pcapng", 2, func(b []byte, m Parsed) bool {
			return m.Kind == KindARP && m.L3Len == 28 && len(b) == 46
		}, "46-byte ARP reply with a trailer"},
		{"tcpdump-tcp_header_heapoverflow.pcap", 1, func(b []byte, m Parsed) bool {
			return m.Kind == KindUnknown
		}, "truncated record is unknown"},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, filepath.Ext(tc.file))+"/"+tc.want, func(t *testing.T) {
			frames, err := readEthernetFrames(t, filepath.Join(pcapDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			idx := []int{tc.frame - 1}
			if tc.frame == 0 { // every frame
				idx = idx[:0]
				for i := range frames {
					idx = append(idx, i)
				}
			}
			for _, i := range idx {
				if i >= len(frames) {
					t.Fatalf("%s has %d frames, want frame %d", tc.file, len(frames), i+1)
				}
				m := parseBytes(frames[i])
				if !tc.check(frames[i], m) {
					t.Errorf("%s frame %d: Parse(%x) = %+v, want %s", tc.file, i+1, frames[i], m, tc.want)
				}
			}
		})
	}
}

// TestParseIPv6Fragments checks the IPv6 fragments of
// chrissanders-ipv6_fragments.pcapng: every fragment is flagged, first
// fragments carry the ICMPv6 echo, the others have no L4.
func TestParseIPv6Fragments(t *testing.T) {
	frames, err := readEthernetFrames(t, filepath.Join(pcapDir, "chrissanders-ipv6_fragments.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	var first, rest int
	for i, b := range frames {
		m := parseBytes(b)
		if m.Kind != KindIPv6 {
			t.Errorf("frame %d: Parse(%x).Kind = %v, want ipv6", i+1, b, m.Kind)
			continue
		}
		switch {
		case m.Frag&FragFirst != 0:
			first++
			if m.Proto != header.ProtoICMPv6 || (m.ICMPType != 128 && m.ICMPType != 129) || m.L4 == 0 {
				t.Errorf("frame %d: first fragment Parse = %+v, want an ICMPv6 echo", i+1, m)
			}
		case m.Frag&FragIsFragment != 0:
			rest++
			if m.L4 != 0 || m.FragOff == 0 {
				t.Errorf("frame %d: later fragment Parse = %+v, want L4 0 and an offset", i+1, m)
			}
		}
	}
	if first != 10 || rest == 0 {
		t.Errorf("ipv6_fragments: %d first and %d later fragments, want 10 (5 echoes, 5 replies) and some", first, rest)
	}
}

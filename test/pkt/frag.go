package pkt

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Fragment cuts an untagged IPv4 frame, or an IPv6 one without extension
// headers, into fragments carrying size data bytes each (a multiple of 8;
// the last carries the rest), as a sending host would: the same Ethernet
// header; for IPv4 the header without options, with the original's
// identification and flags and MF on all but the last; for IPv6 a
// fragment header of identification id, M set on all but the last.
func Fragment(frame []byte, size int, id uint32) [][]byte {
	if size%8 != 0 {
		panic(fmt.Sprintf("pkt.Fragment: size %d is not a multiple of 8", size))
	}
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ip6, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	var data []byte
	if ip4 != nil {
		data = ip4.Payload
	} else {
		data = ip6.Payload
	}
	var out [][]byte
	for off := 0; off < len(data); off += size {
		n := min(size, len(data)-off)
		more := off+n < len(data)
		if ip4 != nil {
			f := *ip4
			f.Options, f.Padding, f.IHL = nil, nil, 5
			f.FragOffset = uint16(off / 8)
			f.Flags = ip4.Flags &^ layers.IPv4MoreFragments
			if more {
				f.Flags |= layers.IPv4MoreFragments
			}
			out = append(out, Serialize(eth, &f, gopacket.Payload(data[off:off+n])))
			continue
		}
		f := *ip6
		f.NextHeader = layers.IPProtocolIPv6Fragment
		fh := &layers.IPv6Fragment{NextHeader: ip6.NextHeader, FragmentOffset: uint16(off / 8), MoreFragments: more, Identification: id}
		out = append(out, Serialize(eth, &f, fh, gopacket.Payload(data[off:off+n])))
	}
	return out
}

// Fragments is what Defrag4 and Defrag6 learned from a train of
// fragments.
type Fragments struct {
	// Sizes are the data lengths of the fragments, in order.
	Sizes []int
	// Header is the first fragment's IP header (IPv6: the unfragmentable
	// part, with the next header restored), Payload the data joined.
	Header, Payload []byte
	// ID is the identification they share.
	ID uint32
}

// Defrag4 decodes IPv4 fragments with gopacket and checks that they are
// one datagram cut right: each has a valid header checksum and fits mtu
// (IP length; 0 for no limit), they share the addresses, protocol and
// identification, their offsets follow one another from 0 without gap or
// overlap, every one but the last has MF and a multiple of 8 data bytes,
// the last has no MF, and later fragments carry only options whose copied
// flag is set. It returns the datagram's header and payload.
func Defrag4(frames [][]byte, mtu int) (Fragments, error) {
	var fr Fragments
	if len(frames) == 0 {
		return fr, fmt.Errorf("no fragments")
	}
	var first *layers.IPv4
	for i, b := range frames {
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			return fr, fmt.Errorf("fragment %d: no IPv4 header: %s", i+1, Summary(b))
		}
		hdr := ip.Contents
		if Checksum(hdr) != 0 {
			return fr, fmt.Errorf("fragment %d: bad header checksum %#04x", i+1, ip.Checksum)
		}
		if mtu > 0 && int(ip.Length) > mtu {
			return fr, fmt.Errorf("fragment %d: %d bytes, over the MTU %d", i+1, ip.Length, mtu)
		}
		if int(ip.FragOffset)*8 != len(fr.Payload) {
			return fr, fmt.Errorf("fragment %d: offset %d, want %d", i+1, int(ip.FragOffset)*8, len(fr.Payload))
		}
		last := i == len(frames)-1
		if more := ip.Flags&layers.IPv4MoreFragments != 0; more == last {
			return fr, fmt.Errorf("fragment %d of %d: MF %v", i+1, len(frames), more)
		}
		if !last && len(ip.Payload)%8 != 0 {
			return fr, fmt.Errorf("fragment %d: %d data bytes, not a multiple of 8", i+1, len(ip.Payload))
		}
		if first == nil {
			first = ip
			fr.Header = append([]byte(nil), hdr...)
			fr.ID = uint32(ip.Id)
		} else {
			if ip.Id != first.Id || !ip.SrcIP.Equal(first.SrcIP) || !ip.DstIP.Equal(first.DstIP) || ip.Protocol != first.Protocol {
				return fr, fmt.Errorf("fragment %d: not of the first's datagram: %s", i+1, Summary(b))
			}
			for _, o := range ip.Options {
				if o.OptionType&0x80 == 0 && o.OptionType > 1 {
					return fr, fmt.Errorf("fragment %d: option %d, which is not copied", i+1, o.OptionType)
				}
			}
		}
		fr.Sizes = append(fr.Sizes, len(ip.Payload))
		fr.Payload = append(fr.Payload, ip.Payload...)
	}
	return fr, nil
}

// Defrag6 decodes IPv6 fragments with gopacket and checks that they are
// one datagram cut right: each fits mtu (0 for no limit) and has a
// fragment header right after the IPv6 header or its extension headers,
// with reserved fields zero; they share addresses, next header and
// identification; offsets follow one another from 0; every one but the
// last has M set and a multiple of 8 data bytes. It returns the
// unfragmentable part (with the fragment header's next header put back)
// and the payload.
func Defrag6(frames [][]byte, mtu int) (Fragments, error) {
	var fr Fragments
	if len(frames) == 0 {
		return fr, fmt.Errorf("no fragments")
	}
	var first *layers.IPv6Fragment
	var firstIP *layers.IPv6
	for i, b := range frames {
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		fh, ok2 := p.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
		if !ok || !ok2 {
			return fr, fmt.Errorf("fragment %d: no IPv6 fragment header: %s", i+1, Summary(b))
		}
		if mtu > 0 && 40+int(ip.Length) > mtu {
			return fr, fmt.Errorf("fragment %d: %d bytes, over the MTU %d", i+1, 40+int(ip.Length), mtu)
		}
		if fh.Reserved1 != 0 || fh.Reserved2 != 0 {
			return fr, fmt.Errorf("fragment %d: reserved bits %d %d", i+1, fh.Reserved1, fh.Reserved2)
		}
		data := fh.Payload
		if int(fh.FragmentOffset)*8 != len(fr.Payload) {
			return fr, fmt.Errorf("fragment %d: offset %d, want %d", i+1, int(fh.FragmentOffset)*8, len(fr.Payload))
		}
		last := i == len(frames)-1
		if fh.MoreFragments == last {
			return fr, fmt.Errorf("fragment %d of %d: M %v", i+1, len(frames), fh.MoreFragments)
		}
		if !last && len(data)%8 != 0 {
			return fr, fmt.Errorf("fragment %d: %d data bytes, not a multiple of 8", i+1, len(data))
		}
		// The unfragmentable part: from the IPv6 header to the fragment
		// header.
		ipStart := 0
		for _, l := range p.Layers() {
			if l.LayerType() == layers.LayerTypeIPv6 {
				break
			}
			ipStart = len(b) - len(l.LayerPayload())
		}
		fhStart := len(b) - len(fh.Contents) - len(fh.Payload)
		unfrag := b[ipStart:fhStart]
		if first == nil {
			first, firstIP = fh, ip
			fr.ID = fh.Identification
			fr.Header = append([]byte(nil), unfrag...)
			// The byte that names the fragment header names what it
			// carries in the datagram.
			if err := restoreNext(fr.Header, uint8(fh.NextHeader)); err != nil {
				return fr, err
			}
		} else if fh.Identification != first.Identification || fh.NextHeader != first.NextHeader ||
			!ip.SrcIP.Equal(firstIP.SrcIP) || !ip.DstIP.Equal(firstIP.DstIP) || len(unfrag) != len(fr.Header) {
			return fr, fmt.Errorf("fragment %d: not of the first's datagram: %s", i+1, Summary(b))
		}
		fr.Sizes = append(fr.Sizes, len(data))
		fr.Payload = append(fr.Payload, data...)
	}
	binary.BigEndian.PutUint16(fr.Header[4:], uint16(len(fr.Header)-40+len(fr.Payload)))
	return fr, nil
}

// restoreNext finds the last next-header byte of the unfragmentable part
// h, which must name a fragment header (44), and sets it to next.
func restoreNext(h []byte, next uint8) error {
	at, nh, off := 6, h[6], 40
	for off < len(h) {
		if off+2 > len(h) {
			return fmt.Errorf("unfragmentable part of %d bytes ends inside a header", len(h))
		}
		at, nh = off, h[off]
		off += (int(h[off+1]) + 1) * 8
	}
	if h[at] != 44 || off != len(h) {
		return fmt.Errorf("unfragmentable part: next header %d at %d, want 44 (fragment)", nh, at)
	}
	h[at] = next
	return nil
}

// Checksum is the Internet checksum of b (RFC 1071): 0 over a header or
// segment whose checksum is right.
func Checksum(b []byte) uint16 {
	var s uint32
	for ; len(b) >= 2; b = b[2:] {
		s += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// TransportChecksumOK reports whether segment seg of protocol proto
// between src and dst (IPv4 or IPv6) has a right TCP, UDP, ICMPv6
// checksum (ICMPv4: over seg alone).
func TransportChecksumOK(src, dst net.IP, proto uint8, seg []byte) bool {
	if proto == 1 {
		return Checksum(seg) == 0
	}
	var ph []byte
	if s4, d4 := src.To4(), dst.To4(); s4 != nil && d4 != nil {
		ph = append(append(append(ph, s4...), d4...), 0, proto, byte(len(seg)>>8), byte(len(seg)))
	} else {
		ph = append(append(ph, src.To16()...), dst.To16()...)
		ph = binary.BigEndian.AppendUint32(ph, uint32(len(seg)))
		ph = append(ph, 0, 0, 0, proto)
	}
	return Checksum(append(ph, seg...)) == 0
}

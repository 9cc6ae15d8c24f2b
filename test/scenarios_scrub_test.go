package test

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/test/pkt"
)

// pf's scrub options on a routed flow (PF.md 1.2, 7): the guest's
// packets come in on vether0 and leave by em0, so each flow has an in
// state on vether0 and an out state on em0, each keeping the options of
// the rules that created it and giving them to the replies as well.
var scrubScenarios = []scenario{
	{
		name: "pf-scrub",
		conf: routed(map[string]string{"pf.conf": `set skip on lo
isol_net = "10.50.0.0/24"

# The most common line: every packet coming in loses DF, gets a new
# IPv4 id and has its SYNs' MSS clamped.
match in all scrub (no-df random-id max-mss 1440)
# Out on the uplink: a TTL floor and a TOS.
match out on em0 all scrub (min-ttl 32) set tos 0x10

block all
pass in on vether0 from $isol_net
# Each side of the TCP connection keeps the highest TTL it sent.
pass out on em0 proto tcp scrub (reassemble tcp)
# No state: the match rules' options still apply.
pass out on em0 proto udp no state
`}),
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(1), guestARP},
				{at(2), scrubSeg(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, DF: true, ID: 0x1001}, 40000, 80, pkt.SYN, 1000, 0, 1460, 1000, 0)},
				{at(4), scrubSeg(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, DF: true, ID: 0x1002}, 40000, 80, pkt.ACK, 1001, 5001, 0)},
				{at(6), pkt.UDP(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, DF: true, TTL: 10, ID: 0x1003}, 41000, 53, []byte("query"))},
			}},
			{ifname: "em0", frames: []frame{
				{at(2.5), pkt.ARP(pkt.Eth{Src: macGW, Dst: macEm0}, 2, macGW, ipGW, macEm0, ipEm0)},
				// Its timestamp echo is demodulated on the way back.
				{at(3), scrubSeg(gwEth, pkt.IPHdr{Src: ipFar, Dst: ipGuest, DF: true, TTL: 50, ID: 0x2001}, 80, 40000, pkt.SYN|pkt.ACK, 5000, 1001, 1460, 5000, farEcho)},
				// The far side's TTL drops: raised to the 50 it sent before.
				{at(5), scrubSeg(gwEth, pkt.IPHdr{Src: ipFar, Dst: ipGuest, DF: true, TTL: 20, ID: 0x2002}, 80, 40000, pkt.ACK, 5001, 1001, 0)},
			}},
		},
		check: func(t *testing.T, r result) {
			var syn, udp, synAck, lowTTL bool
			var modC uint32 // the em0 state's timestamp offset for the guest
			for _, p := range decodeAll(r, "em0") {
				ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if !ok {
					continue
				}
				what := "em0 " + pkt.Summary(p.Data())
				scrubbedOK(t, what, p, ip, 0x1001, 0x1002, 0x1003)
				switch l := p.Layer(ip.NextLayerType()).(type) {
				case *layers.TCP:
					if l.SYN {
						syn = true
						if m := mssOf(l); m != 1440 {
							t.Errorf("%s: MSS %d, want 1440", what, m)
						}
						tsval, _, ok := tsOf(l)
						if modC = tsval - 1000; !ok || modC == 0 {
							t.Errorf("%s: timestamp %d (%v), want 1000 modulated by reassemble tcp", what, tsval, ok)
						}
					}
				case *layers.UDP:
					udp = true
					if ip.TTL != 32 {
						t.Errorf("%s: TTL %d, want min-ttl 32", what, ip.TTL)
					}
				}
			}
			for _, p := range decodeAll(r, "tap0") {
				ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if !ok {
					continue
				}
				tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if !ok {
					continue
				}
				// The em0 state gives its TOS, the vether0 state clears DF
				// and renumbers.
				what := "tap0 " + pkt.Summary(p.Data())
				scrubbedOK(t, what, p, ip, 0x2001, 0x2002)
				if tcp.SYN {
					synAck = true
					if m := mssOf(tcp); m != 1440 {
						t.Errorf("%s: MSS %d, want 1440", what, m)
					}
					if tsval, tsecr, ok := tsOf(tcp); !ok || tsval == 5000 || tsecr != farEcho-modC {
						t.Errorf("%s: timestamps %d, %d (%v), want 5000 modulated, %d demodulated to %d", what, tsval, tsecr, ok, farEcho, farEcho-modC)
					}
				} else {
					lowTTL = true
					if ip.TTL != 49 {
						t.Errorf("%s: TTL %d, want 49 (50 raised by reassemble tcp, less the hop)", what, ip.TTL)
					}
				}
			}
			if !syn || !udp || !synAck || !lowTTL {
				t.Errorf("seen SYN %v, UDP %v out em0, SYN+ACK %v, ACK %v out tap0; want all", syn, udp, synAck, lowTTL)
			}
		},
	},
	{
		// IPv6 routed: a match rule in on vether0 gives the guest's state
		// a hop limit floor, a traffic class and an MSS clamp, which the
		// answers from beyond em0 get too on their way out to the guest.
		name: "pf-scrub-inet6",
		conf: routed(map[string]string{
			"hostname.vether0": "inet 10.50.0.1 255.255.255.0\ninet6 2001:db8:50::1 64\nup\n",
			"hostname.em0":     "inet 192.0.2.1 255.255.255.0\ninet6 2001:db8:ff::1 64\nup\n",
			"mygate":           "192.0.2.254\n2001:db8:ff::fe\n",
			"sysctl.conf":      "net.inet.ip.forwarding=1\nnet.inet6.ip6.forwarding=1\n",
			"pf.conf":          "set skip on lo\nmatch in on vether0 inet6 all scrub (min-ttl 100 max-mss 1220) set tos 0x20\npass\n",
		}),
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(1), neighborSolicit(macGuest, ip6Gst, "2001:db8:50::1")},
				{at(2), scrubSeg(guestEth, pkt.IPHdr{Src: ip6Gst, Dst: ip6Far}, 40000, 80, pkt.SYN, 1000, 0, 1440)},
			}},
			{ifname: "em0", frames: []frame{
				{at(2.5), neighborAdvert(macGW, ip6GW, macEm0, ip6Em0)},
				{at(3), scrubSeg(gwEth, pkt.IPHdr{Src: ip6Far, Dst: ip6Gst, TTL: 50, TOS: 0x04}, 80, 40000, pkt.SYN|pkt.ACK, 5000, 1001, 1460)},
			}},
		},
		check: func(t *testing.T, r result) {
			seen := map[string]bool{}
			for _, ifname := range []string{"em0", "tap0"} {
				for _, p := range decodeAll(r, ifname) {
					ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
					tcp, isTCP := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
					if !ok || !isTCP {
						continue
					}
					what := ifname + " " + pkt.Summary(p.Data())
					l6ChecksumOK(t, what, ip)
					seen[ifname] = true
					// 100 less the hop to em0; the answer gets 100 as it
					// leaves for the guest.
					want := uint8(99)
					if ifname == "tap0" {
						want = 100
					}
					if ip.HopLimit != want || ip.TrafficClass != 0x20 || mssOf(tcp) != 1220 {
						t.Errorf("%s: hop limit %d class %#x MSS %d, want %d, 0x20, 1220", what, ip.HopLimit, ip.TrafficClass, mssOf(tcp), want)
					}
				}
			}
			if !seen["em0"] || !seen["tap0"] {
				t.Errorf("TCP seen out em0 %v, out tap0 %v; want both", seen["em0"], seen["tap0"])
			}
		},
	},
}

func init() {
	scenarios = append(scenarios, scrubScenarios...)
}

// scrubSeg is a TCP segment over IPv4 or IPv6 with an MSS option when
// mss is not 0 and a timestamp option when ts holds tsval and tsecr.
func scrubSeg(e pkt.Eth, h pkt.IPHdr, sport, dport uint16, flags uint8, seq, ack uint32, mss uint16, ts ...uint32) []byte {
	ttl := h.TTL
	if ttl == 0 {
		ttl = 64
	}
	var ip gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	et := layers.EthernetTypeIPv4
	if src := net.ParseIP(h.Src); src.To4() == nil {
		ip6 := &layers.IPv6{Version: 6, HopLimit: ttl, TrafficClass: h.TOS, NextHeader: layers.IPProtocolTCP,
			SrcIP: src, DstIP: net.ParseIP(h.Dst)}
		ip, nl, et = ip6, ip6, layers.EthernetTypeIPv6
	} else {
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: layers.IPProtocolTCP, Id: h.ID, TOS: h.TOS,
			SrcIP: src.To4(), DstIP: net.ParseIP(h.Dst).To4()}
		if h.DF {
			ip4.Flags = layers.IPv4DontFragment
		}
		ip, nl = ip4, ip4
	}
	t := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 65535,
		SYN: flags&pkt.SYN != 0, ACK: flags&pkt.ACK != 0, FIN: flags&pkt.FIN != 0, RST: flags&pkt.RST != 0}
	if mss != 0 {
		t.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(mss >> 8), byte(mss)}}}
	}
	if len(ts) == 2 {
		d := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, ts[0]), ts[1])
		t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d})
	}
	t.SetNetworkLayerForChecksum(nl)
	eth := &layers.Ethernet{SrcMAC: pkt.MAC(e.Src), DstMAC: pkt.MAC(e.Dst), EthernetType: et}
	return pkt.Serialize(eth, ip, t)
}

// scrubbedOK checks p's checksums and that its IPv4 header ip lost DF,
// carries TOS 0x10 and a new identification, none of the input ids.
func scrubbedOK(t *testing.T, what string, p gopacket.Packet, ip *layers.IPv4, ids ...uint16) {
	t.Helper()
	l4ChecksumOK(t, what, p)
	df := ip.Flags&layers.IPv4DontFragment != 0
	if df || ip.TOS != 0x10 || slices.Contains(ids, ip.Id) {
		t.Errorf("%s: DF %v TOS %#x id %#x, want no DF, TOS 0x10, a new id", what, df, ip.TOS, ip.Id)
	}
}

// farEcho is the timestamp echo the far side of pf-scrub sends: not
// what it was sent, which pf does not check before both sides echoed.
const farEcho = 0x12345678

// tsOf returns the timestamps of a TCP segment, ok false without.
func tsOf(t *layers.TCP) (tsval, tsecr uint32, ok bool) {
	for _, o := range t.Options {
		if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
			return binary.BigEndian.Uint32(o.OptionData), binary.BigEndian.Uint32(o.OptionData[4:]), true
		}
	}
	return 0, 0, false
}

// mssOf returns the MSS option of a TCP segment, 0 without one.
func mssOf(t *layers.TCP) uint16 {
	for _, o := range t.Options {
		if o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2 {
			return uint16(o.OptionData[0])<<8 | uint16(o.OptionData[1])
		}
	}
	return 0
}

package test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// The hosts of the per-VM anchor scenarios, all on bridge0's one link:
// web01 and db01 are VMs, the admin host (in the seed's admin subnet
// 10.10.0.0/24) and an outside host sit beyond em1.
const (
	macWeb   = "02:00:00:00:00:20"
	macDB    = "02:00:00:00:00:30"
	macAdmin = "02:00:00:00:00:05"
	macOut   = "02:00:00:00:00:07"
	ipWeb    = "10.50.0.20" // the address the seed's db01.conf trusts
	ipDB     = "10.50.0.30"
	ipAdmin  = "10.10.0.5"
	ipOut    = "198.51.100.7"
)

// vmConf is vm.conf for web01 and db01 on switch "lan" (bridge0); taps
// are named in vm.conf order unless given: tap0 and tap1.
func vmConf(webTap, dbTap string) string {
	return fmt.Sprintf(`switch "lan" {
    interface bridge0
}

vm "web01" {
    memory 1024M
    interface %s{ switch "lan" }
}

vm "db01" {
    memory 2048M
    interface %s{ switch "lan" }
}
`, webTap, dbTap)
}

// vmAnchorsConf is the seed's anchor framework (section 4) with the LAN
// side of bridge0 let through: a bridged packet is tested in on the member
// it arrives on and out on the one it leaves by, so what reaches a VM is
// decided out on its tap, by the VM's anchor.
const vmAnchorsConf = `set skip on lo

# Load all per-VM policies from a dedicated directory
anchor "vm/*"
load anchor "vm/*" from "/etc/pf.vm/*.conf"

# Default posture
block all
pass out on egress proto { tcp udp icmp } keep state

# The LAN beyond em1: in from it, out to it.
pass in on em1
pass out on em1
`

// The per-VM files, written for what the seed says they are for. $vm_if
// is the VM's tap (hostnet predefines it in vm/NAME for the VMs of
// vm.conf). A packet the bridge forwards to the VM leaves by its tap, so
// pf tests it "out on $vm_if"; the tap has no address, so the rules match
// the destination port. The rules are quick: the main ruleset's block all
// comes after the anchor, and the last match would win.
const (
	web01Conf = `# web01: HTTP/HTTPS from anywhere, SSH from the admin subnet only.
pass out quick on $vm_if proto tcp to port { 80, 443 } keep state
pass out quick on $vm_if proto tcp from 10.10.0.0/24 to port 22 keep state

# What web01 sends is let in; where it goes decides the rest (out on the
# other VM's tap, or on em1).
pass in quick on $vm_if keep state
`
	db01Conf = `# db01: MySQL only from web01; everything else is blocked.
web01 = "10.50.0.20"
pass out quick on $vm_if proto tcp from $web01 to port 3306 keep state

pass in quick on $vm_if keep state
`
)

// announce is host mac/ip's gratuitous ARP, so that the bridge learns it
// before any unicast (ARP crosses pf untouched).
func announce(mac, ip string) []byte {
	return pkt.ARP(pkt.Eth{Src: mac, Dst: bcast}, 1, mac, ip, "00:00:00:00:00:00", ip)
}

// syn is a TCP SYN from src to dst (mac/ip pairs on one link).
func syn(srcMAC, src string, sport uint16, dstMAC, dst string, dport uint16, seq uint32) []byte {
	return pkt.TCP(pkt.Eth{Src: srcMAC, Dst: dstMAC}, pkt.IPHdr{Src: src, Dst: dst}, pkt.TCPSeg{Sport: sport, Dport: dport, Seq: seq, Flags: pkt.SYN})
}

// seg is a TCP segment from src to dst with flags, seq and ack.
func seg(srcMAC, src string, sport uint16, dstMAC, dst string, dport uint16, flags uint8, seq, ack uint32, payload string) []byte {
	return pkt.TCP(pkt.Eth{Src: srcMAC, Dst: dstMAC}, pkt.IPHdr{Src: src, Dst: dst}, pkt.TCPSeg{Sport: sport, Dport: dport, Seq: seq, Ack: ack, Flags: flags, Payload: []byte(payload)})
}

// flowsOf describes the IPv4 packets among frames, one line each:
// "tcp 10.0.0.1:1000 > 10.0.0.2:80 S", "udp ...", "icmp A > B echo";
// other frames (ARP) are left out.
func flowsOf(frames [][]byte) []string {
	var out []string
	for _, f := range frames {
		p := decode(f)
		ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			continue
		}
		switch l := p.Layer(ip.NextLayerType()).(type) {
		case *layers.TCP:
			fl := ""
			for _, x := range []struct {
				on bool
				c  string
			}{{l.FIN, "F"}, {l.SYN, "S"}, {l.RST, "R"}, {l.PSH, "P"}, {l.ACK, "A"}} {
				if x.on {
					fl += x.c
				}
			}
			out = append(out, fmt.Sprintf("tcp %s:%d > %s:%d %s", ip.SrcIP, l.SrcPort, ip.DstIP, l.DstPort, fl))
		case *layers.UDP:
			out = append(out, fmt.Sprintf("udp %s:%d > %s:%d", ip.SrcIP, l.SrcPort, ip.DstIP, l.DstPort))
		case *layers.ICMPv4:
			out = append(out, fmt.Sprintf("icmp %s > %s %s", ip.SrcIP, ip.DstIP, l.TypeCode))
		default:
			out = append(out, fmt.Sprintf("ip %s > %s proto %d", ip.SrcIP, ip.DstIP, ip.Protocol))
		}
	}
	return out
}

// expectFlows checks that ifname sent exactly the IPv4 packets want (as
// flowsOf describes them), in order.
func expectFlows(t *testing.T, r result, ifname string, want ...string) {
	t.Helper()
	if got := flowsOf(r.out[ifname]); !slices.Equal(got, want) {
		t.Errorf("%s sent IPv4:\n  %s\nwant:\n  %s", ifname, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func init() {
	scenarios = append(scenarios, pf2Scenarios...)
}

var pf2Scenarios = []scenario{
	{
		// The seed's micro-segmentation (section 4) on bridged VMs, with
		// per-VM files that do what the seed says: web01 answers 80 and
		// 443 from anywhere and 22 from 10.10.0.0/24 only; db01 answers
		// 3306 to web01 only; nothing else crosses between the VMs.
		// Answers pass on the states the pass rules created.
		name: "pf-vm-anchors",
		conf: map[string]string{
			"hostname.bridge0": "add em1\nup\n",
			"vm.conf":          vmConf("", ""),
			"pf.conf":          vmAnchorsConf,
			"pf.vm/web01.conf": web01Conf,
			"pf.vm/db01.conf":  db01Conf,
		},
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(0.1), announce(macWeb, ipWeb)},
				{at(1.1), seg(macWeb, ipWeb, 80, macOut, ipOut, 30001, pkt.SYN|pkt.ACK, 900, 101, "")},
				{at(4.1), seg(macWeb, ipWeb, 22, macAdmin, ipAdmin, 30004, pkt.SYN|pkt.ACK, 700, 401, "")},
				{at(6), syn(macWeb, ipWeb, 30006, macDB, ipDB, 3306, 600)},
				{at(6.2), seg(macWeb, ipWeb, 30006, macDB, ipDB, 3306, pkt.ACK, 601, 2001, "")},
				{at(7), syn(macWeb, ipWeb, 30007, macDB, ipDB, 22, 700)},
				{at(8), pkt.Ping(pkt.Eth{Src: macWeb, Dst: macDB}, pkt.IPHdr{Src: ipWeb, Dst: ipDB}, false, 8, 1, []byte("ping"))},
				{at(13), syn(macWeb, ipWeb, 30013, macOut, ipOut, 443, 1300)},
			}},
			{ifname: "tap1", frames: []frame{
				{at(0.2), announce(macDB, ipDB)},
				{at(6.1), seg(macDB, ipDB, 3306, macWeb, ipWeb, 30006, pkt.SYN|pkt.ACK, 2000, 601, "")},
				{at(9), syn(macDB, ipDB, 30009, macWeb, ipWeb, 80, 900)},
				{at(10), syn(macDB, ipDB, 30010, macWeb, ipWeb, 22, 1000)},
				{at(11), pkt.Ping(pkt.Eth{Src: macDB, Dst: macWeb}, pkt.IPHdr{Src: ipDB, Dst: ipWeb}, false, 11, 1, []byte("ping"))},
			}},
			{ifname: "em1", frames: []frame{
				{at(0.3), announce(macAdmin, ipAdmin)},
				{at(0.4), announce(macOut, ipOut)},
				{at(1), syn(macOut, ipOut, 30001, macWeb, ipWeb, 80, 100)},
				{at(1.2), seg(macOut, ipOut, 30001, macWeb, ipWeb, 80, pkt.ACK, 101, 901, "")},
				{at(2), syn(macOut, ipOut, 30002, macWeb, ipWeb, 443, 200)},
				{at(3), syn(macOut, ipOut, 30003, macWeb, ipWeb, 22, 300)},
				{at(4), syn(macAdmin, ipAdmin, 30004, macWeb, ipWeb, 22, 400)},
				{at(5), syn(macAdmin, ipAdmin, 30005, macDB, ipDB, 3306, 500)},
				{at(12), pkt.UDP(pkt.Eth{Src: macOut, Dst: macWeb}, pkt.IPHdr{Src: ipOut, Dst: ipWeb}, 30012, 53, []byte("query"))},
			}},
		},
		check: func(t *testing.T, r result) {
			// web01 gets 80 and 443 from outside, 22 from the admin
			// host, db01's answer, and 80 from db01 (anywhere); not 22
			// from outside or db01, not db01's ping, not UDP. The
			// outside host's ACK (flags S/SA: no rule matches it) and
			// db01's SYN-ACK (no rule of web01's lets 3306 out on tap0)
			// pass on the states the SYNs created.
			expectFlows(t, r, "tap0",
				"tcp 198.51.100.7:30001 > 10.50.0.20:80 S",
				"tcp 198.51.100.7:30001 > 10.50.0.20:80 A",
				"tcp 198.51.100.7:30002 > 10.50.0.20:443 S",
				"tcp 10.10.0.5:30004 > 10.50.0.20:22 S",
				"tcp 10.50.0.30:3306 > 10.50.0.20:30006 SA",
				"tcp 10.50.0.30:30009 > 10.50.0.20:80 S",
			)
			// db01 gets 3306 from web01 only: not from the admin host,
			// not 22 or ping from web01.
			expectFlows(t, r, "tap1",
				"tcp 10.50.0.20:30006 > 10.50.0.30:3306 S",
				"tcp 10.50.0.20:30006 > 10.50.0.30:3306 A",
			)
			// The answers go back out on em1 on their states, and
			// web01 reaches the LAN.
			expectFlows(t, r, "em1",
				"tcp 10.50.0.20:80 > 198.51.100.7:30001 SA",
				"tcp 10.50.0.20:22 > 10.10.0.5:30004 SA",
				"tcp 10.50.0.20:30013 > 198.51.100.7:443 S",
			)
			// What did not reach a VM was pf's to drop, out on its tap.
			expectDrops(t, r, "tap0", packet.DropFilter, 4)
			expectDrops(t, r, "tap1", packet.DropFilter, 3)
		},
	},
	{
		// The seed's anchor framework and its per-VM files as written,
		// on the taps they name (tap3 and tap4): `pass in on tap3 ...
		// to (tap3)` is for packets web01 sends to tap3's own address,
		// which does not exist; and the rules are not quick, so block
		// all after the anchor would win anyway. Nothing reaches the
		// VMs, nothing leaves them.
		name: "pf-seed-anchors-literal",
		conf: seedAnchorsLiteral(`set skip on lo

# Load all per-VM policies from a dedicated directory
anchor "vm/*"
load anchor "vm/*" from "/etc/pf.vm/*.conf"

# Default posture
block all
pass out on egress proto { tcp udp icmp } keep state
`),
		inputs: seedAnchorsInputs(),
		check: func(t *testing.T, r result) {
			for _, ifname := range []string{"tap3", "tap4", "em1"} {
				expectFlows(t, r, ifname)
			}
			// In on em1 (block all) for the LAN's three, in on the
			// taps for the VMs' three.
			expectDrops(t, r, "em1", packet.DropFilter, 3)
			expectDrops(t, r, "tap3", packet.DropFilter, 2)
			expectDrops(t, r, "tap4", packet.DropFilter, 1)
		},
	},
	{
		// The same files with the anchor last, after block all and
		// passes for the LAN side, so that any of its rules that
		// matched would decide: none does. In on tap3 to (tap3) does
		// not match web01's own packets (tap3 has no address), and the
		// LAN's packets to web01 are out on tap3, not in.
		name: "pf-seed-anchors-literal-last",
		conf: seedAnchorsLiteral(`set skip on lo
block all
pass in on em1
pass out on em1
anchor "vm/*"
load anchor "vm/*" from "/etc/pf.vm/*.conf"
`),
		inputs: seedAnchorsInputs(),
		check: func(t *testing.T, r result) {
			for _, ifname := range []string{"tap3", "tap4", "em1"} {
				expectFlows(t, r, ifname)
			}
			// Out on tap3 for the LAN's three (em1 lets them in), in
			// on the taps for the VMs' three.
			expectDrops(t, r, "em1", packet.DropFilter, 0)
			expectDrops(t, r, "tap3", packet.DropFilter, 3+2)
			expectDrops(t, r, "tap4", packet.DropFilter, 1)
		},
	},
	{
		// block return on the routed segment: TCP gets RST|ACK with
		// seq = the segment's ack and ack = its seq + length (+1 for
		// SYN and FIN); a blocked RST and everything that is not TCP
		// get ICMP port unreachable; an ICMP error gets nothing. The
		// answers leave although pf blocks everything out: hostnet's
		// own replies are not filtered again.
		name: "pf-block-return",
		conf: routed(map[string]string{"pf.conf": `set skip on lo
pass
# Unsolicited inbound on the uplink is refused loudly.
block return in on em0
# The guests may not send mail or use outside DNS.
block return in on vether0 proto tcp to port 25
block return in on vether0 proto udp to port 53
# hostnet's answers are not filtered again: this does not stop them.
block out on { em0 vether0 }
`}),
		inputs: []input{
			{ifname: "em0", frames: []frame{
				{at(1), seg(macGW, ipFar, 5555, macEm0, ipEm0, 22, pkt.SYN, 1000, 0, "")},
				{at(2), seg(macGW, ipFar, 5556, macEm0, ipEm0, 80, pkt.PSH|pkt.ACK, 2000, 3000, "0123456789")},
				{at(3), seg(macGW, ipFar, 5557, macEm0, ipEm0, 80, pkt.FIN|pkt.ACK, 4000, 5000, "")},
				{at(4), seg(macGW, ipFar, 5558, macEm0, ipEm0, 22, pkt.RST, 6000, 0, "")},
				{at(5), pkt.UDP(gwEth, pkt.IPHdr{Src: ipFar, Dst: ipEm0, ID: 5}, 5559, 161, []byte("get"))},
				{at(6), pkt.Ping(gwEth, pkt.IPHdr{Src: ipFar, Dst: ipEm0, ID: 6}, false, 66, 1, []byte("ping"))},
				{at(7), icmpPortUnreachable(gwEth, ipFar, ipEm0, pkt.UDP(pkt.Eth{Src: macEm0, Dst: macGW}, pkt.IPHdr{Src: ipEm0, Dst: ipFar}, 7000, 53, []byte("q")))},
				// A SYN with a bad TCP checksum gets nothing back.
				{at(8), badTCPChecksum(seg(macGW, ipFar, 5560, macEm0, ipEm0, 22, pkt.SYN, 8000, 0, ""))},
			}},
			{ifname: "tap0", frames: []frame{
				{at(0.5), guestARP},
				{at(9), seg(macGuest, ipGuest, 40025, macVether, ipFar, 25, pkt.SYN, 9000, 0, "")},
				{at(10), pkt.UDP(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, ID: 10}, 40053, 53, []byte("query"))},
			}},
		},
		check: func(t *testing.T, r result) {
			expectFlows(t, r, "em0",
				"tcp 192.0.2.1:22 > 198.51.100.7:5555 RA",
				"tcp 192.0.2.1:80 > 198.51.100.7:5556 RA",
				"tcp 192.0.2.1:80 > 198.51.100.7:5557 RA",
				"icmp 192.0.2.1 > 198.51.100.7 DestinationUnreachable(Port)",
				"icmp 192.0.2.1 > 198.51.100.7 DestinationUnreachable(Port)",
				"icmp 192.0.2.1 > 198.51.100.7 DestinationUnreachable(Port)",
			)
			// The RST's seq is the segment's ack, its ack the segment's
			// seq plus its length, plus one for SYN and for FIN.
			want := [][2]uint32{{0, 1001}, {3000, 2010}, {5000, 4001}}
			var rsts, unreach []gopacket.Packet
			for _, p := range decodeAll(r, "em0") {
				if p.Layer(layers.LayerTypeTCP) != nil {
					rsts = append(rsts, p)
				}
				if p.Layer(layers.LayerTypeICMPv4) != nil {
					unreach = append(unreach, p)
				}
			}
			for i, p := range rsts {
				tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				if i < len(want) && (tcp.Seq != want[i][0] || tcp.Ack != want[i][1]) {
					t.Errorf("RST %d: seq %d ack %d, want seq %d ack %d", i+1, tcp.Seq, tcp.Ack, want[i][0], want[i][1])
				}
				if tcp.Window != 0 || len(tcp.Payload) != 0 || ip.TTL != 64 {
					t.Errorf("RST %d: window %d, %d bytes, ttl %d; want window 0, no payload, ttl 64", i+1, tcp.Window, len(tcp.Payload), ip.TTL)
				}
				if eth.SrcMAC.String() != macEm0 || eth.DstMAC.String() != macGW {
					t.Errorf("RST %d: %s > %s, want %s > %s", i+1, eth.SrcMAC, eth.DstMAC, macEm0, macGW)
				}
				l4ChecksumOK(t, fmt.Sprintf("RST %d", i+1), p)
			}
			// The unreachables quote the blocked packet's IP header and
			// 8 bytes: the RST's, the UDP datagram's, the echo's.
			quoted := []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolICMPv4}
			for i, p := range unreach {
				ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				q := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Default)
				qip, ok := q.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if !ok || len(ic.Payload) != 28 || i < len(quoted) && qip.Protocol != quoted[i] || qip.SrcIP.String() != ipFar {
					t.Errorf("unreachable %d quotes %d bytes %v, want the %v packet's 20-byte header from %s and 8 bytes", i+1, len(ic.Payload), qip, quoted[min(i, len(quoted)-1)], ipFar)
				}
				if ip.TTL != 255 {
					t.Errorf("unreachable %d: ttl %d, want 255 (icmp_error)", i+1, ip.TTL)
				}
				l4ChecksumOK(t, fmt.Sprintf("unreachable %d", i+1), p)
			}
			// From the guests: the RST comes from the blocked packet's
			// destination, the unreachable from the router's address
			// on vether0 (the destination is not local).
			expectFlows(t, r, "tap0",
				"tcp 198.51.100.7:25 > 10.50.0.10:40025 RA",
				"icmp 10.50.0.1 > 10.50.0.10 DestinationUnreachable(Port)",
			)
			for _, p := range decodeAll(r, "tap0") {
				if p.Layer(layers.LayerTypeIPv4) == nil {
					continue
				}
				eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				if eth.SrcMAC.String() != macVether || eth.DstMAC.String() != macGuest {
					t.Errorf("tap0 %s: %s > %s, want %s > %s", pkt.Summary(p.Data()), eth.SrcMAC, eth.DstMAC, macVether, macGuest)
				}
				l4ChecksumOK(t, "tap0 "+pkt.Summary(p.Data()), p)
				if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && (tcp.Seq != 0 || tcp.Ack != 9001) {
					t.Errorf("RST to the guest: seq %d ack %d, want 0 and 9001", tcp.Seq, tcp.Ack)
				}
			}
			// Every blocked packet is counted, answered or not.
			expectDrops(t, r, "em0", packet.DropFilter, 8)
			expectDrops(t, r, "vether0", packet.DropFilter, 2)
		},
	},
	{
		// block return over IPv6: RST|ACK with hop limit 64 for TCP,
		// ICMPv6 port unreachable (type 1 code 4) for the rest,
		// quoting the blocked packet.
		name: "pf-block-return-inet6",
		conf: routed(map[string]string{
			"hostname.vether0": "inet 10.50.0.1 255.255.255.0\ninet6 2001:db8:50::1 64\nup\n",
			"hostname.em0":     "inet 192.0.2.1 255.255.255.0\ninet6 2001:db8:ff::1 64\nup\n",
			"mygate":           "192.0.2.254\n2001:db8:ff::fe\n",
			"sysctl.conf":      "net.inet.ip.forwarding=1\nnet.inet6.ip6.forwarding=1\n",
			"pf.conf":          "set skip on lo\npass\nblock return in on em0 inet6 proto { tcp udp icmp6 } to 2001:db8:ff::1\n",
		}),
		inputs: []input{{ifname: "em0", frames: []frame{
			{at(1), seg(macGW, ip6Far, 5555, macEm0, ip6Em0, 22, pkt.SYN, 1000, 0, "")},
			{at(2), pkt.UDP(gwEth, pkt.IPHdr{Src: ip6Far, Dst: ip6Em0}, 5559, 161, []byte("get"))},
			{at(3), pkt.Ping(gwEth, pkt.IPHdr{Src: ip6Far, Dst: ip6Em0}, false, 66, 1, []byte("ping"))},
		}}},
		check: func(t *testing.T, r result) {
			var got []string
			for _, p := range decodeAll(r, "em0") {
				ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if !ok {
					continue
				}
				if ip.SrcIP.String() != ip6Em0 || ip.DstIP.String() != ip6Far {
					t.Errorf("em0 sent %s, want %s > %s", pkt.Summary(p.Data()), ip6Em0, ip6Far)
				}
				l6ChecksumOK(t, "em0 "+pkt.Summary(p.Data()), ip)
				switch l := p.Layer(ip.NextLayerType()).(type) {
				case *layers.TCP:
					got = append(got, fmt.Sprintf("tcp RST %v ACK %v seq %d ack %d win %d hlim %d", l.RST, l.ACK, l.Seq, l.Ack, l.Window, ip.HopLimit))
				case *layers.ICMPv6:
					// The quote is the blocked packet whole (it is
					// shorter than the 1280-byte minimum MTU).
					q := gopacket.NewPacket(l.Payload[4:], layers.LayerTypeIPv6, gopacket.Default)
					qip, _ := q.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
					what := "nothing"
					if qip != nil {
						what = fmt.Sprintf("%v %d bytes", qip.NextHeader, len(l.Payload[4:]))
					}
					got = append(got, fmt.Sprintf("icmp6 %v quoting %s", l.TypeCode, what))
				}
			}
			want := []string{
				"tcp RST true ACK true seq 0 ack 1001 win 0 hlim 64",
				"icmp6 DestinationUnreachable(PortUnreachable) quoting UDP 51 bytes",
				"icmp6 DestinationUnreachable(PortUnreachable) quoting ICMPv6 52 bytes",
			}
			if !slices.Equal(got, want) {
				t.Errorf("em0 sent:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			expectDrops(t, r, "em0", packet.DropFilter, 3)
		},
	},
	{
		// quick ends the whole evaluation at any anchor depth: a later
		// block in the main ruleset does not apply to what a quick
		// rule in an anchor passed; a non-quick pass in the anchor is
		// overridden by it (last match wins across anchors). A quick
		// anchor stops evaluation when its own rule matched last, not
		// when the match lies in a sub-anchor of it; a `match quick`
		// stops it too, with the decision of the pass before it.
		name: "pf-quick-in-anchor",
		conf: map[string]string{
			"hostname.bridge0": "add em1\nadd tap0\nup\n",
			"pf.conf": `set skip on lo
pass
anchor "web" {
    pass out quick on tap0 proto tcp to port 80
    pass out on tap0 proto tcp to port 8080
    anchor "deep" {
        anchor "deeper" {
            pass out quick on tap0 proto tcp to port 443
        }
    }
}
anchor "api" quick {
    pass out on tap0 proto tcp to port 8443
}
anchor "match" {
    match out quick on tap0 proto tcp to port 9000
}
anchor "nested" quick {
    anchor "inner" {
        pass out on tap0 proto tcp to port 9443
    }
}
block out on tap0
`,
		},
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(0.1), announce(macB, ipOf(macB))},
				{at(1.1), seg(macB, ipOf(macB), 80, macA, ipOf(macA), 1080, pkt.SYN|pkt.ACK, 5000, 101, "")},
			}},
			{ifname: "em1", frames: []frame{
				{at(0.2), announce(macA, ipOf(macA))},
				{at(1), syn(macA, ipOf(macA), 1080, macB, ipOf(macB), 80, 100)},
				{at(2), syn(macA, ipOf(macA), 1081, macB, ipOf(macB), 8080, 200)},
				{at(3), syn(macA, ipOf(macA), 1082, macB, ipOf(macB), 443, 300)},
				{at(4), syn(macA, ipOf(macA), 1083, macB, ipOf(macB), 8443, 400)},
				{at(5), syn(macA, ipOf(macA), 1084, macB, ipOf(macB), 22, 500)},
				{at(6), syn(macA, ipOf(macA), 1085, macB, ipOf(macB), 9000, 600)},
				{at(7), syn(macA, ipOf(macA), 1086, macB, ipOf(macB), 9443, 700)},
			}},
		},
		check: func(t *testing.T, r result) {
			expectFlows(t, r, "tap0",
				"tcp 10.0.0.1:1080 > 10.0.0.2:80 S",
				"tcp 10.0.0.1:1082 > 10.0.0.2:443 S",
				"tcp 10.0.0.1:1083 > 10.0.0.2:8443 S",
				"tcp 10.0.0.1:1085 > 10.0.0.2:9000 S",
			)
			expectFlows(t, r, "em1", "tcp 10.0.0.2:80 > 10.0.0.1:1080 SA")
			// 8080 (non-quick pass in the anchor), 22 (nothing but the
			// block), 9443 (last matched in a sub-anchor of the quick
			// anchor, so it does not stop there).
			expectDrops(t, r, "tap0", packet.DropFilter, 3)
		},
	},
	{
		// A match rule's nat-to is kept by a later plain pass and done
		// when that pass creates the state; later rules see the
		// translated source (a block of the untranslated one does not
		// match); a no-state pass is never translated; a pass with its
		// own nat-to replaces the match rule's.
		name: "pf-match-nat-kept",
		conf: routed(map[string]string{"pf.conf": `set skip on lo
isol_net = "10.50.0.0/24"

match out on em0 from $isol_net to any nat-to (em0)

block all
pass in on vether0 from $isol_net
# Plain pass: the match rule's nat-to is kept.
pass out on em0 proto tcp
# Compared with the translated source: never matches.
block out on em0 proto tcp from $isol_net to any port 25
# No state, no translation.
pass out on em0 proto udp no state
# Its own nat-to wins over the match rule's.
pass out on em0 proto icmp nat-to 192.0.2.99
`}),
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(1), guestARP},
				{at(2), seg(macGuest, ipGuest, 40000, macVether, ipFar, 80, pkt.SYN, 1000, 0, "")},
				{at(4), seg(macGuest, ipGuest, 40000, macVether, ipFar, 80, pkt.ACK, 1001, 5001, "")},
				{at(5), seg(macGuest, ipGuest, 40001, macVether, ipFar, 25, pkt.SYN, 2000, 0, "")},
				{at(6), pkt.UDP(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, ID: 3}, 41000, 53, []byte("query"))},
				{at(7), pkt.Ping(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, ID: 4}, false, 77, 1, []byte("ping"))},
			}},
			{ifname: "em0", frames: []frame{
				{at(2.5), pkt.ARP(pkt.Eth{Src: macGW, Dst: macEm0}, 2, macGW, ipGW, macEm0, ipEm0)},
				{at(3), seg(macGW, ipFar, 80, macEm0, ipEm0, matchNATTCP, pkt.SYN|pkt.ACK, 5000, 1001, "")},
			}},
		},
		check: func(t *testing.T, r result) {
			var tcpPorts []uint16
			var udpSeen, icmpSeen bool
			for _, p := range decodeAll(r, "em0") {
				ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if !ok {
					continue
				}
				l4ChecksumOK(t, "em0 "+pkt.Summary(p.Data()), p)
				switch l := p.Layer(ip.NextLayerType()).(type) {
				case *layers.TCP:
					if ip.SrcIP.String() != ipEm0 {
						t.Errorf("em0 sent %s from %s, want the match rule's nat-to %s", pkt.Summary(p.Data()), ip.SrcIP, ipEm0)
					}
					if l.SYN {
						tcpPorts = append(tcpPorts, uint16(l.SrcPort))
					}
				case *layers.UDP:
					udpSeen = true
					if ip.SrcIP.String() != ipGuest || l.SrcPort != 41000 {
						t.Errorf("no-state UDP left as %s:%d, want untranslated %s:41000", ip.SrcIP, l.SrcPort, ipGuest)
					}
				case *layers.ICMPv4:
					icmpSeen = true
					if ip.SrcIP.String() != "192.0.2.99" {
						t.Errorf("echo left from %s, want the pass rule's own nat-to 192.0.2.99", ip.SrcIP)
					}
				}
			}
			if len(tcpPorts) != 2 || !udpSeen || !icmpSeen {
				t.Fatalf("em0 sent TCP SYNs from ports %v, UDP %v, ICMP %v; want two SYNs (80 and 25), UDP and ICMP:\n%s", tcpPorts, udpSeen, icmpSeen, listing(r.out["em0"]))
			}
			for _, port := range tcpPorts {
				if port < 50001 {
					t.Errorf("NAT source port %d, want one in 50001-65535", port)
				}
			}
			if tcpPorts[0] != matchNATTCP {
				t.Fatalf("NAT picked TCP port %d; the scenario's SYN-ACK goes to %d: update matchNATTCP", tcpPorts[0], matchNATTCP)
			}
			// The answer reaches the guest, translated back.
			expectFlows(t, r, "tap0", "tcp 198.51.100.7:80 > 10.50.0.10:40000 SA")
			checksumsOK(t, r, "tap0")
		},
	},
}

// matchNATTCP is the port NAT picks for the first TCP flow of
// pf-match-nat-kept (seed 1).
const matchNATTCP = 58802

// The uplink's IPv6 address and a host beyond it.
const (
	ip6Em0 = "2001:db8:ff::1"
	ip6Far = "2001:db8:99::7"
)

// l6ChecksumOK verifies the TCP, UDP or ICMPv6 checksum of an IPv6
// packet without extension headers from scratch.
func l6ChecksumOK(t *testing.T, what string, ip *layers.IPv6) {
	t.Helper()
	switch ip.NextHeader {
	case layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolICMPv6:
	default:
		return
	}
	src := netip.AddrFrom16([16]byte(ip.SrcIP.To16()))
	dst := netip.AddrFrom16([16]byte(ip.DstIP.To16()))
	if c := header.Checksum(ip.Payload, header.PseudoHeaderChecksum(uint8(ip.NextHeader), src, dst, uint32(len(ip.Payload)))); c != 0xffff {
		t.Errorf("%s: %v checksum does not verify", what, ip.NextHeader)
	}
}

// seedAnchorsLiteral is bridge0 with em1, web01 on tap3 and db01 on tap4
// (the taps the seed's files name), pf.conf, and the seed's per-VM files
// as written (examples/seed/pf.vm).
func seedAnchorsLiteral(pfConf string) map[string]string {
	conf := map[string]string{
		"hostname.bridge0": "add em1\nup\n",
		"vm.conf":          vmConf("tap3 ", "tap4 "),
		"pf.conf":          pfConf,
	}
	for _, vm := range []string{"web01", "db01"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "seed", "pf.vm", vm+".conf"))
		if err != nil {
			panic(err)
		}
		conf["pf.vm/"+vm+".conf"] = string(b)
	}
	return conf
}

// seedAnchorsInputs is what the seed's files mean to let through: HTTP
// and HTTPS from outside to web01, SSH from the admin host, MySQL from
// web01 to db01; and web01's own HTTP, HTTPS and SSH packets, in on tap3,
// the direction the files name.
func seedAnchorsInputs() []input {
	return []input{
		{ifname: "tap3", frames: []frame{
			{at(0.1), announce(macWeb, ipWeb)},
			{at(4), syn(macWeb, ipWeb, 30006, macDB, ipDB, 3306, 600)},
			{at(5), syn(macWeb, ipWeb, 30007, macOut, ipOut, 80, 700)},
		}},
		{ifname: "tap4", frames: []frame{
			{at(0.2), announce(macDB, ipDB)},
			{at(6), syn(macDB, ipDB, 30008, macWeb, ipWeb, 3306, 800)},
		}},
		{ifname: "em1", frames: []frame{
			{at(0.3), announce(macAdmin, ipAdmin)},
			{at(0.4), announce(macOut, ipOut)},
			{at(1), syn(macOut, ipOut, 30001, macWeb, ipWeb, 80, 100)},
			{at(2), syn(macOut, ipOut, 30002, macWeb, ipWeb, 443, 200)},
			{at(3), syn(macAdmin, ipAdmin, 30003, macWeb, ipWeb, 22, 300)},
		}},
	}
}

// TestSeedAnchorsCheck runs `hostnet check` on the seed's literal per-VM
// files: it must say where they differ from their stated intent.
func TestSeedAnchorsCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/hostnet")
	}
	dir := filepath.Join("testdata", "pf-seed-anchors-literal", "etc")
	bin := filepath.Join(t.TempDir(), "hostnet")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/hostnet").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "check", "-f", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("hostnet check -f %s: %v\n%s", dir, err, out)
	}
	for _, want := range []string{
		"pf.vm/web01.conf:6: warning: (tap3) has no address: the rule matches nothing",
		"pf.vm/web01.conf:6: warning: pass in on tap3 ... to (tap3) is for traffic web01 sends to itself; traffic to web01 crosses the bridge out on tap3: write pass out on tap3",
		"pf.vm/web01.conf:9: warning: (tap3) has no address: the rule matches nothing",
		"pf.vm/db01.conf:5: warning: (tap4) has no address: the rule matches nothing",
		"pf.vm/db01.conf:5: warning: pass in on tap4 ... to (tap4) is for traffic db01 sends to itself; traffic to db01 crosses the bridge out on tap4: write pass out on tap4",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("hostnet check -f %s does not say %q:\n%s", dir, want, out)
		}
	}
}

// badTCPChecksum returns frame, an untagged TCP/IPv4 frame without
// options, with its TCP checksum broken.
func badTCPChecksum(frame []byte) []byte {
	out := append([]byte(nil), frame...)
	out[14+20+16] ^= 0xff
	return out
}

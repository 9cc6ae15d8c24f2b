package dataplane

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// routedPF is the seed's routed segment with pf doing most of what it can:
// scrub, NAT out, a redirection in, block return, stateful passes.
var routedPF = map[string]string{
	"hostname.em0":     "inet 192.0.2.1/24\nup\n",
	"hostname.vether0": "inet 10.50.0.1/24\nup\n",
	"hostname.bridge0": "add vether0\nadd tap0\nup\n",
	"mygate":           "192.0.2.254\n",
	"sysctl.conf":      "net.inet.ip.forwarding=1\n",
	"pf.conf": `match in all scrub (no-df random-id max-mss 1400 reassemble tcp)
match out on em0 from 10.50.0.0/24 nat-to (em0)
block return all
pass out
pass in on em0 proto tcp to port 80 rdr-to 10.50.0.10 port 8080
pass in on em0 proto icmp
pass in on vether0
pass on tap0
`,
}

// FuzzRoutedPF runs arbitrary frames into the routed segment with pf, on
// the uplink and on a guest's tap: nothing may panic, every frame is
// counted in, and every IPv4 packet hostnet sends out of the uplink, which
// it routed (checked on the way in) or built itself, has a valid header
// checksum after pf's rewrites.
func FuzzRoutedPF(f *testing.F) {
	gw := header.MAC{2, 0, 0, 0, 0, 0xfe}
	guest := header.MAC{2, 0, 0, 0, 0, 0x10}
	spec := load(f, routedPF)
	d, ports := memDataplane(f, spec)
	em0, _ := d.Interface("em0")
	vether, _ := d.Interface("vether0")
	if err := d.Router().AddStaticNeighbor(int(em0.Index), netip.MustParseAddr("192.0.2.254"), gw); err != nil {
		f.Fatal(err)
	}
	ipv4 := func(dst, src header.MAC, proto uint8, s, t [4]byte, l4 []byte) []byte {
		b := make([]byte, 34+len(l4))
		e := header.Ethernet(b)
		e.SetDst(dst)
		e.SetSrc(src)
		e.SetType(header.EtherTypeIPv4)
		ip := b[14:34]
		ip[0], ip[8], ip[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		copy(ip[12:], s[:])
		copy(ip[16:], t[:])
		binary.BigEndian.PutUint16(ip[10:], ^header.Checksum(ip, 0))
		copy(b[34:], l4)
		return b
	}
	syn := []byte{0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4}
	udp := []byte{0x13, 0x88, 0, 53, 0, 12, 0, 0, 'q', 'u', 'e', 'r'}
	echo := []byte{8, 0, 0xf7, 0xfe, 0, 1, 0, 0}
	guestIP, remote, em0IP := [4]byte{10, 50, 0, 10}, [4]byte{198, 51, 100, 7}, [4]byte{192, 0, 2, 1}
	f.Add(byte(1), ipv4(vether.MAC, guest, header.ProtoTCP, guestIP, remote, syn))          // guest out, NAT
	f.Add(byte(1), ipv4(vether.MAC, guest, header.ProtoUDP, guestIP, remote, udp))          // guest out, UDP
	f.Add(byte(1), ipv4(vether.MAC, guest, header.ProtoICMP, guestIP, remote, echo))        // guest ping
	f.Add(byte(0), ipv4(em0.MAC, gw, header.ProtoTCP, remote, em0IP, syn))                  // rdr-to in
	f.Add(byte(0), ipv4(em0.MAC, gw, header.ProtoUDP, remote, em0IP, udp))                  // blocked, return
	f.Add(byte(0), ipv4(em0.MAC, gw, header.ProtoICMP, remote, em0IP, echo))                // ping the host
	f.Add(byte(1), ipv4(vether.MAC, guest, header.ProtoTCP, guestIP, remote, syn[:10]))     // short TCP
	f.Add(byte(0), ipv4(header.BroadcastMAC, gw, header.ProtoUDP, remote, em0IP, udp)[:30]) // runt
	names := []string{"em0", "tap0"}
	w := d.NewWorker()
	w.SetClock(1e9)
	// The fuzz checks what leaves em0: make sure something does, NATed.
	tap0, _ := d.Interface("tap0")
	ports["em0"].Take()
	inject(w, d, "tap0", ipv4(vether.MAC, guest, header.ProtoTCP, guestIP, remote, syn))
	if out := ports["em0"].Take(); len(out) != 1 || [4]byte(out[0][26:30]) != em0IP {
		f.Fatalf("a guest's SYN: em0 sent %d frames (want 1 from %v); tap0 drops %+v", len(out), em0IP, tap0.Stats().Drops)
	}
	f.Fuzz(func(t *testing.T, which byte, frame []byte) {
		if len(frame) > 9100 {
			return
		}
		ifc, _ := d.Interface(names[int(which)%len(names)])
		before := ifc.Counters.InPackets.Load()
		w.SetClock(1e9 + int64(which)*1e8)
		p := d.Pool().Get()
		p.SetFrame(frame)
		w.Input(ifc, p)
		if got := ifc.Counters.InPackets.Load(); got != before+1 {
			t.Fatalf("%s counted %d frames in, want %d", ifc.Name, got, before+1)
		}
		ports["tap0"].Take()
		for _, out := range ports["em0"].Take() {
			if len(out) < 34 || binary.BigEndian.Uint16(out[12:]) != header.EtherTypeIPv4 {
				continue
			}
			ip := header.IPv4(out[14:])
			if ip[0]>>4 != 4 || ip.HeaderLen() < 20 || len(ip) < ip.HeaderLen() {
				t.Fatalf("em0 sent a malformed IPv4 packet: % x", out)
			}
			if !ip.IsChecksumValid() {
				t.Fatalf("em0 sent an IPv4 header with a bad checksum (in on %s: % x)\nout: % x", ifc.Name, frame, out)
			}
		}
	})
}

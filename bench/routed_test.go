package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// routedNAT is a router between a LAN on em1 and a WAN on em0 that NATs
// the LAN out of em0, as the seed's routed segment does.
var routedNAT = map[string]string{
	"hostname.em1": "inet 10.50.0.1/16\nup\n",
	"hostname.em0": "inet 192.0.2.1/24\nup\n",
	"mygate":       "192.0.2.254\n",
	"sysctl.conf":  "net.inet.ip.forwarding=1\n",
	// Each flow has two states, in on em1 and out on em0.
	"pf.conf": `set limit states 300000
match out on em0 from 10.50.0.0/16 nat-to (em0)
pass
`,
}

// udpFlow returns a UDP/IPv4 frame of the i-th flow from the LAN to a
// server beyond the gateway, addressed to em1's MAC.
func udpFlow(dst header.MAC, i, n int) []byte {
	f := make([]byte, n)
	e := header.Ethernet(f)
	e.SetDst(dst)
	e.SetSrc(header.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)})
	e.SetType(header.EtherTypeIPv4)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(n-14))
	ip[8], ip[9] = 64, header.ProtoUDP
	// Sources 10.50.x.y (one per 64 flows), ports 1024 + i%64.
	h := i / 64
	copy(ip[12:16], []byte{10, 50, byte(1 + h>>8), byte(h)})
	// A server per 8192 flows: NAT to em0's one address has 15535 ports
	// per destination.
	copy(ip[16:20], []byte{198, 51, 100, byte(1 + i/8192)})
	binary.BigEndian.PutUint16(ip[10:], ^header.Checksum(ip, 0))
	u := f[34:42]
	binary.BigEndian.PutUint16(u[0:], uint16(1024+i%64))
	binary.BigEndian.PutUint16(u[2:], 53)
	binary.BigEndian.PutUint16(u[4:], uint16(n-34))
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dstA := netip.AddrFrom4([4]byte(ip[16:20]))
	binary.BigEndian.PutUint16(u[6:], ^header.Checksum(f[34:], header.PseudoHeaderChecksum(header.ProtoUDP, src, dstA, uint32(n-34))))
	return f
}

// BenchmarkPipelineRoutedNAT is an established UDP flow crossing the
// router: pf in on em1 (state hit), route lookup, TTL, pf out on em0
// (state hit and NAT rewrite with incremental checksums), gateway
// neighbour hit, output. Flows are visited round-robin, so that with 100k
// of them the state table is out of cache as in real traffic. Frames go in
// as a reader hands them over, BatchSize at a time (Worker.InputBatch:
// counters committed once a batch); the -single cases one by one
// (Worker.Input).
func BenchmarkPipelineRoutedNAT(b *testing.B) {
	for _, flows := range []int{1000, 100000} {
		for _, batch := range []bool{true, false} {
			name := fmt.Sprintf("%dk", flows/1000)
			if !batch {
				name += "-single"
			}
			b.Run(name, func(b *testing.B) { benchRoutedNAT(b, flows, batch) })
		}
	}
}

func benchRoutedNAT(b *testing.B, flows int, batch bool) {
	d, w := setup(b, routedNAT)
	em0, _ := d.Interface("em0")
	em1, _ := d.Interface("em1")
	if err := d.Router().AddStaticNeighbor(int(em0.Index), netip.MustParseAddr("192.0.2.254"), header.MAC{2, 0, 0, 0, 0, 0xfe}); err != nil {
		b.Fatal(err)
	}
	frames := make([][]byte, flows)
	for i := range frames {
		frames[i] = udpFlow(em1.MAC, i, 64)
	}
	pool := d.Pool()
	for _, f := range frames { // create the states
		p := pool.Get()
		p.SetFrame(f)
		w.Input(em1, p)
	}
	sent := em0.Counters.OutPackets.Load()
	if sent != uint64(flows)+1 { // and the gratuitous ARP
		b.Fatalf("%d of %d flows left em0 (drops %+v); the benchmark would measure failures", sent, flows, em0.Stats().Drops)
	}
	b.ReportAllocs()
	b.SetBytes(64)
	ps := make([]*packet.Packet, 0, dataplane.BatchSize)
	i := 0
	for b.Loop() {
		p := w.Get()
		p.SetFrame(frames[i])
		if i++; i == flows {
			i = 0
		}
		if !batch {
			w.Input(em1, p)
			continue
		}
		if ps = append(ps, p); len(ps) == cap(ps) {
			w.InputBatch(em1, ps)
			ps = ps[:0]
		}
	}
	w.InputBatch(em1, ps)
	if em0.Counters.OutPackets.Load() == sent {
		b.Fatal("nothing left em0")
	}
}

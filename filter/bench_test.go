package filter

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// clientAddr is flow i's client address: 10.1.0.0/16 and beyond.
func clientAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(1 + i>>16), byte(i >> 8), byte(i)})
}

// setSrc4 rewrites an IPv4 packet's source address in place (the
// benchmark walks its flows with one packet; pf does not check the IP
// header checksum, so it is left alone).
func setSrc4(p *packet.Packet, a netip.Addr) {
	b := p.Bytes()[p.Meta.L3:]
	v := a.As4()
	copy(b[12:16], v[:])
	p.Meta.Flow.Src = netip.AddrPortFrom(a, p.Meta.Flow.Src.Port())
}

// established opens n TCP connections client:4000 -> 203.0.113.1:22
// through f (SYN, SYN+ACK, ACK) and returns the ACK packet.
func established(b *testing.B, f *Filter, n int) *packet.Packet {
	b.Helper()
	syn := tcpPkt(b, "10.1.0.0", 4000, "203.0.113.1", 22, tcpOpt{flags: "S", seq: 100})
	sa := tcpPkt(b, "203.0.113.1", 22, "10.1.0.0", 4000, tcpOpt{flags: "SA", seq: 500, ack: 101})
	ack := tcpPkt(b, "10.1.0.0", 4000, "203.0.113.1", 22, tcpOpt{flags: "A", seq: 101, ack: 501})
	for i := 0; i < n; i++ {
		a := clientAddr(i)
		setSrc4(syn, a)
		sb := sa.Bytes()[sa.Meta.L3:]
		v := a.As4()
		copy(sb[16:20], v[:])
		sa.Meta.Flow.Dst = netip.AddrPortFrom(a, 4000)
		setSrc4(ack, a)
		for _, st := range []struct {
			dir Dir
			p   *packet.Packet
		}{{In, syn}, {Out, sa}, {In, ack}} {
			if r := f.Test(st.dir, ifEm0, st.p, 1); r.Verdict != packet.Pass {
				b.Fatalf("flow %d: %v", i, r)
			}
		}
	}
	if f.States() != n {
		b.Fatalf("States() = %d, want %d", f.States(), n)
	}
	return ack
}

// BenchmarkStateHit is established flows, untranslated; 1k-scrub adds
// the common scrub line, every option of which rewrites the IP header
// (no-df, random-id, min-ttl, set tos) or checks for a SYN (max-mss).
func BenchmarkStateHit(b *testing.B) {
	const (
		plain = "set limit states 200000\nblock all\npass in on em0 proto tcp to port 22\n"
		scrub = "set limit states 200000\nblock all\nmatch in all scrub (no-df random-id min-ttl 65 max-mss 1440) set tos 0x10\npass in on em0 proto tcp to port 22\n"
	)
	for _, bc := range []struct {
		name, conf string
		n          int
	}{{"1k", plain, 1000}, {"100k", plain, 100000}, {"1k-scrub", scrub, 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newTestFilter(b, bc.conf, Options{})
			n := bc.n
			ack := established(b, f, n)
			b.SetBytes(int64(ack.Len()))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				setSrc4(ack, clientAddr(i))
				if f.Test(In, ifEm0, ack, 2).Verdict != packet.Pass {
					b.Fatal("dropped")
				}
				i++
				if i == n {
					i = 0
				}
			}
		})
	}
}

// BenchmarkStateHitNAT is an established, translated flow: state lookup
// and the source rewrite with incremental checksums.
func BenchmarkStateHitNAT(b *testing.B) {
	f := newTestFilter(b, "pass out on em0 nat-to 203.0.113.1\n", Options{})
	out := tcpPkt(b, "10.50.0.5", 4000, "198.51.100.7", 80, tcpOpt{flags: "S", seq: 100})
	f.Test(Out, ifEm0, out, 1)
	n := src4(out)
	f.Test(In, ifEm0, tcpPkt(b, "198.51.100.7", 80, n.Addr().String(), n.Port(), tcpOpt{flags: "SA", seq: 500, ack: 101}), 1)
	orig := tcpPkt(b, "10.50.0.5", 4000, "198.51.100.7", 80, tcpOpt{flags: "A", seq: 101, ack: 501})
	work := packet.New()
	b.ReportAllocs()
	for b.Loop() {
		work.CopyFrom(orig)
		if f.Test(Out, ifEm0, work, 2).Verdict != packet.Pass {
			b.Fatal("dropped")
		}
	}
}

// rules1000 is a ruleset of 1000 rules on 50 interfaces, 20 per
// interface, grouped as pfctl's optimiser would leave them, so that skip
// steps pass over the other interfaces' blocks; flat puts all of them on
// em0 with different ports, the worst case (every rule tested).
func rules1000(flat bool) string {
	var b strings.Builder
	b.WriteString("set limit states 2000000\nblock all\n")
	for i := 0; i < 999; i++ {
		if flat {
			fmt.Fprintf(&b, "pass in on em0 proto tcp from 10.%d.%d.0/24 to any port %d\n", i/250, i%250, 1000+i)
			continue
		}
		ifn := fmt.Sprintf("tap%d", 10+i/20)
		if i/20 == 49 {
			ifn = "em0"
		}
		fmt.Fprintf(&b, "pass in on %s proto tcp from 10.%d.%d.0/24 to any port %d\n", ifn, i/250, i%250, 1000+i%20)
	}
	return b.String()
}

func BenchmarkNewConnection(b *testing.B) {
	for _, flat := range []bool{false, true} {
		name := "1000rules"
		if flat {
			name = "1000rules-flat"
		}
		b.Run(name, func(b *testing.B) {
			conf := rules1000(flat)
			ifs := testIfaces()
			for i := 10; i < 60; i++ {
				ifs = append(ifs, Interface{Index: 100 + i, Name: fmt.Sprintf("tap%d", i), Groups: []string{"all", "tap"}})
			}
			spec, err := pfconf.ParseWith("pf.conf", strings.NewReader(conf), parseOpts(ifs))
			if err != nil {
				b.Fatal(err)
			}
			env := Env{Interfaces: ifs, Seed: 1}
			rs, err := Compile(spec, env)
			if err != nil {
				b.Fatal(err)
			}
			f := NewFilter(Options{})
			f.Load(rs)
			// The last rule (on em0) passes it: 10.3.248.0/24 port 1998 or 1018.
			port := uint16(1018)
			if flat {
				port = 1998
			}
			p := tcpPkt(b, "10.3.248.7", 1, "203.0.113.1", port, tcpOpt{flags: "S", seq: 1})
			th := p.Bytes()[p.Meta.L4:]
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				sp := uint16(i)
				if sp == 0 {
					// A new client address every 65535 connections.
					b.StopTimer()
					f.Purge(1 << 40)
					b.StartTimer()
				}
				binary.BigEndian.PutUint16(th[0:], sp)
				p.Meta.Flow.Src = netip.AddrPortFrom(p.Meta.Flow.Src.Addr(), sp)
				if r := f.Test(In, ifEm0, p, 1); r.Verdict != packet.Pass {
					b.Fatalf("connection %d: %+v", i, r)
				}
			}
		})
	}
}

// BenchmarkStateMemory reports the heap per translated state (both keys).
func BenchmarkStateMemory(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		name := fmt.Sprintf("%dk", n/1000)
		if n >= 1000000 {
			name = fmt.Sprintf("%dM", n/1000000) // the "1 M states must fit"
		}
		b.Run(name, func(b *testing.B) { benchStateMemory(b, n) })
	}
}

func benchStateMemory(b *testing.B, n int) {
	for b.Loop() {
		f := newTestFilter(b, fmt.Sprintf("set limit states %d\npass out on em0 nat-to 203.0.113.0/24\n", 2*n), Options{})
		p := udpPkt(b, "10.1.0.0", 4000, "198.51.100.7", 53)
		orig := packet.New()
		orig.CopyFrom(p)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < n; i++ {
			p.CopyFrom(orig)
			setSrc4(p, clientAddr(i))
			if r := f.Test(Out, ifEm0, p, 1); r.Verdict != packet.Pass {
				b.Fatalf("state %d: %+v", i, r)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := f.states.count.Load(); got != int64(n) {
			b.Fatalf("%d states in the table, want %d", got, n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "bytes/state")
		runtime.KeepAlive(f)
	}
}

package filter_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// udpFrame builds an Ethernet/IPv4/UDP frame (checksums are not needed
// by pf).
func udpFrame(src, dst string, sport, dport uint16) *packet.Packet {
	b := make([]byte, header.EthernetSize+header.IPv4MinSize+header.UDPSize)
	b[12], b[13] = 0x08, 0x00
	header.IPv4(b[14:]).Encode(&header.IPv4Fields{TotalLen: uint16(len(b) - 14), TTL: 64,
		Protocol: header.ProtoUDP, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst)})
	header.UDP(b[34:]).Encode(sport, dport, header.UDPSize, 0)
	p := packet.New()
	p.SetFrame(b)
	packet.Parse(p)
	return p
}

func Example() {
	ifs := []filter.Interface{
		{Index: 1, Name: "em0", Groups: []string{"egress"}, Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.1/24")}},
		{Index: 2, Name: "vether0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.50.0.1/24")}},
	}
	spec, err := pfconf.Parse("pf.conf", strings.NewReader(
		"match out on egress from 10.50.0.0/24 nat-to (egress)\nblock all\npass in on vether0\npass out on egress\n"))
	if err != nil {
		panic(err)
	}
	rs, err := filter.Compile(spec, filter.Env{Interfaces: ifs, Seed: 1})
	if err != nil {
		panic(err)
	}
	f := filter.NewFilter(filter.Options{})
	f.Load(rs)

	p := udpFrame("10.50.0.5", "198.51.100.7", 5353, 53)
	fmt.Println(f.Test(filter.In, 2, p, 100).Verdict, f.Test(filter.Out, 1, p, 100).Verdict, p.Meta.Flow.Src.Addr())
	fmt.Println(f.Test(filter.In, 1, udpFrame("198.51.100.7", "203.0.113.1", 53, 9), 100).Verdict)
	// Output:
	// pass pass 203.0.113.1
	// drop
}

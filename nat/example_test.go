package nat_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/nat"
	"github.com/hostnet/hostnet/test/pkt"
)

// A state is created for an outbound packet under `nat-to 203.0.113.1`:
// the pool picks the source, the packet is rewritten, and so is every
// later packet of the state.
func Example() {
	pool, err := nat.NewPool(nat.PoolConfig{
		Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.1/32")},
		Ports: nat.DefaultNATPorts,
	})
	if err != nil {
		panic(err)
	}
	p := packet.New()
	p.SetFrame(pkt.UDP(pkt.Eth{Src: "52:54:00:00:00:01", Dst: "52:54:00:00:00:02"},
		pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}, 5353, 53, []byte("query")))
	packet.Parse(p)

	taken := nat.InUseFunc(func(f packet.Flow) bool { return false }) // the state table's lookup
	to, err := pool.NAT(&nat.Request{Flow: p.Meta.Flow, Rand: rand.New(rand.NewPCG(1, 2)), InUse: taken})
	if err != nil {
		fmt.Println("drop:", packet.DropNATFull)
		return
	}
	nat.RewriteSrc(p, to.Addr(), to.Port())
	fmt.Println(p.Meta.Flow) // the same seed, the same port
	// Output: {17 203.0.113.1:61953 198.51.100.7:53}
}

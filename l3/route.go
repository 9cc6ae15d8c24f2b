package l3

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
)

// RouteFlags describe a route as netstat -rn prints them.
type RouteFlags uint16

const (
	RouteUp        RouteFlags = 1 << iota // U: usable
	RouteGateway                          // G: to a gateway, not on the link
	RouteHost                             // H: a host route (/32 or /128)
	RouteStatic                           // S: added by configuration (mygate, a static route)
	RouteLLInfo                           // L: has a link-layer address (local addresses)
	RouteLocal                            // l: one of the host's addresses
	RouteBroadcast                        // b: a subnet broadcast address
	RouteConnected                        // n: a connected network, from an address
)

// routeFlagChars are the flag letters in the order OpenBSD's netstat
// prints them.
var routeFlagChars = [...]struct {
	f RouteFlags
	c byte
}{
	{RouteUp, 'U'}, {RouteGateway, 'G'}, {RouteHost, 'H'}, {RouteLLInfo, 'L'},
	{RouteStatic, 'S'}, {RouteLocal, 'l'}, {RouteBroadcast, 'b'}, {RouteConnected, 'n'},
}

// String returns the flags as netstat prints them, such as "UGS".
func (f RouteFlags) String() string {
	var b []byte
	for _, fc := range routeFlagChars {
		if f&fc.f != 0 {
			b = append(b, fc.c)
		}
	}
	return string(b)
}

// Route is one entry of the routing table as netstat -rn shows it.
type Route struct {
	// Dst is the destination network.
	Dst netip.Prefix
	// Gateway is the next hop of a gateway route, the interface's own
	// address for routes on the link; LinkAddr replaces it for local
	// addresses.
	Gateway netip.Addr
	// LinkAddr is the interface's MAC for a local address route.
	LinkAddr string
	Flags    RouteFlags
	// Ifindex and Iface are the interface the route leaves by.
	Ifindex int
	Iface   string
}

// String formats r as a line of netstat -rn: destination, gateway, flags,
// interface.
func (r Route) String() string {
	gw := r.LinkAddr
	if gw == "" {
		if r.Gateway.IsValid() {
			gw = r.Gateway.String()
		} else {
			gw = "link#" + strconv.Itoa(r.Ifindex)
		}
	}
	dst := r.Dst.String()
	if r.Dst.Bits() == 0 {
		dst = "default"
	} else if r.Dst.IsSingleIP() {
		dst = r.Dst.Addr().String()
	}
	return fmt.Sprintf("%-19s %-19s %-8s %s", dst, gw, r.Flags, r.Iface)
}

// rtEntry is a route as the forwarding path uses it.
type rtEntry struct {
	dst     netip.Prefix
	gw      netip.Addr // invalid: the destination is on the link
	gwb     [16]byte   // gw in network order: 4 or 16 bytes used
	gwc     *gateway   // gw's neighbour entry, for gateway routes
	flags   RouteFlags
	ifindex int
}

// noRoute marks an empty slot.
const noRoute = ^uint32(0)

// table is an immutable longest-prefix-match table for one address family:
// a multibit trie of stride 8 whose nodes are compressed with bitmaps, as
// poptrie and bart do. Every node covers one byte of the address; a route
// whose length ends inside a node's byte is expanded over the slots it
// covers (controlled prefix expansion), so that a slot holds the longest
// route ending in that node. A lookup walks at most one node per address
// byte, remembering the last route it passed: at most 4 nodes for IPv4, 16
// for IPv6, each a few loads and two popcounts.
//
// Nodes and route values live in two flat slices; the children of a node
// are contiguous, so a child is found by rank, with no pointers to chase.
// Chains of nodes with one child and no route collapse into the node they
// lead to, and a large table replaces its first two levels by one array
// indexed by the first 16 bits: an IPv4 lookup in a table of 10 000 routes
// reads the array and one or two nodes.
type table struct {
	nodes   []node
	vals    []uint32  // route indexes, by node rbase + rank
	routes  []rtEntry // by index
	def     uint32    // the /0 route, or noRoute
	addrLen int       // 4 or 16
	// wide, in a table of wideMin routes or more, replaces the first two
	// levels by one array lookup on the first 16 bits (as DIR-16 does);
	// nodes then start at the third byte.
	wide *wideRoot
}

// wideRoot is the first 16 bits of a large table, uncompressed: for each
// value, the longest route of up to 16 bits and the node for the third
// byte (its index plus one; 0 is none).
type wideRoot struct {
	route [1 << 16]uint32
	child [1 << 16]uint32
}

// wideMin is the number of routes from which a table gets a wideRoot
// (512 KB).
const wideMin = 256

type node struct {
	rbits [4]uint64 // slots with a route
	cbits [4]uint64 // slots with a child
	rcum  [4]uint16 // routes in the words before each word of rbits
	ccum  [4]uint16 // children in the words before each word of cbits
	rbase uint32    // first route value of this node in vals
	cbase uint32    // first child of this node in nodes
	// skip holds the bytes of a chain of nodes with one child and no
	// route that this node replaces (path compression, as in a PATRICIA
	// trie): the address must have them before this node's byte.
	nskip uint8
	skip  [maxSkip]byte
}

// maxSkip is the longest chain a node replaces.
const maxSkip = 11

// lookup returns the route for the address in key (4 or 16 bytes, network
// order), or nil. It does not allocate.
func (t *table) lookup(key []byte) *rtEntry {
	best := t.def
	key = key[:t.addrLen]
	ni, i := uint32(0), 0
	if w := t.wide; w != nil {
		x := uint16(key[0])<<8 | uint16(key[1])
		if v := w.route[x]; v != noRoute {
			best = v
		}
		ni, i = w.child[x], 2
		if ni == 0 {
			i = len(key) // no deeper route
		}
		ni--
	}
	if len(t.nodes) > 0 {
		for ; i < len(key); i++ {
			nd := &t.nodes[ni]
			if n := int(nd.nskip); n != 0 {
				if i+n >= len(key) || !skipMatch(key[i:i+n], &nd.skip) {
					break
				}
				i += n
			}
			b := key[i]
			w, m := b>>6, uint64(1)<<(b&63)
			if nd.rbits[w]&m != 0 {
				best = t.vals[nd.rbase+uint32(nd.rcum[w])+uint32(bits.OnesCount64(nd.rbits[w]&(m-1)))]
			}
			if nd.cbits[w]&m == 0 {
				break
			}
			ni = nd.cbase + uint32(nd.ccum[w]) + uint32(bits.OnesCount64(nd.cbits[w]&(m-1)))
		}
	}
	if best == noRoute {
		return nil
	}
	return &t.routes[best]
}

// skipMatch reports whether k (at most maxSkip bytes) starts skip.
func skipMatch(k []byte, skip *[maxSkip]byte) bool {
	for j, c := range k {
		if skip[j] != c {
			return false
		}
	}
	return true
}

// lookupAddr is lookup for a netip.Addr of the table's family.
func (t *table) lookupAddr(a netip.Addr) *rtEntry {
	if t.addrLen == 4 {
		k := a.As4()
		return t.lookup(k[:])
	}
	k := a.As16()
	return t.lookup(k[:])
}

// bnode is a trie node while the table is built.
type bnode struct {
	routes   *[256]uint32 // nil until the node holds a route
	children map[byte]int
}

// newTable builds a table from routes of one family (addrLen 4 or 16).
// When two routes have the same prefix, the first wins.
func newTable(addrLen int, routes []rtEntry) *table {
	t := &table{def: noRoute, addrLen: addrLen}
	// Insert the shortest prefixes first, so that longer ones overwrite
	// the slots they share.
	order := make([]int, 0, len(routes))
	seen := make(map[netip.Prefix]bool, len(routes))
	for _, r := range routes {
		if seen[r.dst] {
			continue
		}
		seen[r.dst] = true
		t.routes = append(t.routes, r)
		order = append(order, len(t.routes)-1)
	}
	slices.SortStableFunc(order, func(a, b int) int { return t.routes[a].dst.Bits() - t.routes[b].dst.Bits() })

	bn := []bnode{{}}
	for _, ri := range order {
		p := t.routes[ri].dst
		n := p.Bits()
		if n == 0 {
			t.def = uint32(ri)
			continue
		}
		key := p.Addr().AsSlice()
		depth := (n - 1) / 8
		cur := 0
		for d := 0; d < depth; d++ {
			if bn[cur].children == nil {
				bn[cur].children = make(map[byte]int)
			}
			c, ok := bn[cur].children[key[d]]
			if !ok {
				bn = append(bn, bnode{})
				c = len(bn) - 1
				bn[cur].children[key[d]] = c
			}
			cur = c
		}
		if bn[cur].routes == nil {
			bn[cur].routes = new([256]uint32)
			for i := range bn[cur].routes {
				bn[cur].routes[i] = noRoute
			}
		}
		plen := n - 8*depth // 1..8 bits inside this byte
		start := int(key[depth]) &^ (1<<(8-plen) - 1)
		for s := start; s < start+1<<(8-plen); s++ {
			bn[cur].routes[s] = uint32(ri)
		}
	}

	// Compress in breadth-first order, so that each node's children are
	// contiguous, replacing chains of single-child nodes without routes by
	// the node they lead to. With a wide root, the first two levels become
	// its arrays and the queue starts with the nodes of the third byte.
	skips := make(map[int][]byte)
	down := func(c int) int {
		var path []byte
		for len(path) < maxSkip && bn[c].routes == nil && len(bn[c].children) == 1 {
			for k, next := range bn[c].children {
				path = append(path, k)
				c = next
			}
		}
		if len(path) > 0 {
			skips[c] = path
		}
		return c
	}
	queue := []int{0}
	if len(t.routes) >= wideMin {
		queue = t.fillWide(bn, func(c int) int { return down(c) })
	}
	t.nodes = make([]node, 0, len(bn))
	for qi := 0; qi < len(queue); qi++ {
		b := &bn[queue[qi]]
		var nd node
		nd.nskip = uint8(copy(nd.skip[:], skips[queue[qi]]))
		nd.rbase = uint32(len(t.vals))
		if b.routes != nil {
			for s, v := range b.routes {
				if v != noRoute {
					nd.rbits[s>>6] |= 1 << (s & 63)
					t.vals = append(t.vals, v)
				}
			}
		}
		nd.cbase = uint32(len(queue))
		keys := make([]int, 0, len(b.children))
		for k := range b.children {
			keys = append(keys, int(k))
		}
		slices.Sort(keys)
		for _, k := range keys {
			nd.cbits[k>>6] |= 1 << (k & 63)
			queue = append(queue, down(b.children[byte(k)]))
		}
		for w := 1; w < 4; w++ {
			nd.rcum[w] = nd.rcum[w-1] + uint16(bits.OnesCount64(nd.rbits[w-1]))
			nd.ccum[w] = nd.ccum[w-1] + uint16(bits.OnesCount64(nd.cbits[w-1]))
		}
		t.nodes = append(t.nodes, nd)
	}
	return t
}

// fillWide builds t.wide from the first two levels of the builder's trie
// and returns the nodes of the third level in the order of their index.
func (t *table) fillWide(bn []bnode, down func(int) int) []int {
	w := new(wideRoot)
	var queue []int
	root := &bn[0]
	for b0 := range 256 {
		r0 := noRoute
		if root.routes != nil {
			r0 = root.routes[b0]
		}
		c1, ok := root.children[byte(b0)]
		for b1 := range 256 {
			x := b0<<8 | b1
			w.route[x] = r0
			if !ok {
				continue
			}
			if rs := bn[c1].routes; rs != nil && rs[b1] != noRoute {
				w.route[x] = rs[b1]
			}
			if c2, ok := bn[c1].children[byte(b1)]; ok {
				queue = append(queue, down(c2))
				w.child[x] = uint32(len(queue)) // index + 1
			}
		}
	}
	t.wide = w
	return queue
}

// Package l3 is the host's IP stack: hostnet's own interfaces (vether,
// vlan, host NICs with an address), their addresses, ARP and the IPv6
// neighbour cache, the routing table, forwarding between interfaces, ICMP
// and ICMPv6 errors and local delivery. It behaves as OpenBSD's stack does
// with the same configuration, with OpenBSD's numbers.
//
// The stack is an interface among interfaces: the dataplane hands it the
// frames addressed to it (Router.Input takes them, after pf in) and it hands
// frames back through Output, which writes them to a port or into a bridge.
// It imports only packet and header.
//
// A forwarded IPv4 packet goes through Input like this (IPv6 is the same,
// with hop limit and packet too big, and no fragmentation):
//
//  1. Input: count it in, refuse a frame not to our MAC or a group, trim the
//     frame to the IP length.
//  2. Route lookup of the destination in the immutable table of the current
//     state (one atomic load): a local or broadcast route means local
//     delivery (step 8); with forwarding off the packet is dropped
//     (DropForwarding).
//  3. TTL 1 or less: ICMP time exceeded quoting the header and 8 bytes,
//     DropTTL. No route: ICMP host unreachable (code 1, as OpenBSD),
//     DropNoRoute.
//  4. TTL decremented, the header checksum updated by RFC 1624.
//  5. Bigger than the egress MTU with DF: fragmentation needed with the
//     next-hop MTU (DropMTU), decided before pf out so that the error
//     quotes the packet as it arrived, as OpenBSD quotes its copy taken
//     before pf.
//  6. Filter.Out on the egress interface (pf out, NAT); a changed
//     destination is routed again. Still too big (no DF): fragments
//     (RFC 791, ipfrag), each resolved and sent as below. An IPv6
//     datagram pf reassembled (packet.Reassembled) skips the check of
//     step 5 and leaves in the fragments it came in (pf_refragment6),
//     each checked against the MTU: one too big is dropped, with a
//     packet too big quoting it.
//  7. Next hop resolved from the ARP cache without a lock (a gateway
//     route keeps its gateway's entry, as OpenBSD's rt_gwroute does), the
//     Ethernet addresses written, Output. An unresolved next hop holds the
//     packet (10 per entry, 100 in all) and sends a request (at most one a
//     second; Tick retransmits while packets wait); after 5 unanswered
//     requests the entry is rejected for 20 s, its held packets dropped
//     silently and later packets answered with host unreachable.
//  8. Local delivery: echo requests are answered in place (never to a
//     broadcast or multicast destination; with forwarding off only for the
//     receiving interface's own addresses), UDP gets port unreachable, TCP
//     a reset (both rate-limited), other protocols protocol unreachable
//     (IPv6: parameter problem, unknown next header), and the packet is
//     counted as DropNoListener.
//
// Steps 1 to 7 with a resolved next hop do not allocate.
//
// ARP follows RFC 826 and OpenBSD's in_arpinput: requests for an address of
// the receiving interface are answered; a request or reply whose target is
// such an address creates or updates the sender's entry, anything else only
// updates an existing entry on that interface; static entries, the host's
// own addresses and entries on another interface are never overwritten.
// Resolved entries live 20 minutes; an entry in use is refreshed with a new
// request within 150 s of expiry, at most every 30 s. Configuring an IPv4
// address sends one gratuitous ARP.
//
// Neighbour discovery follows RFC 4861: solicitations for our addresses and
// for the link-local address derived from the MAC (modified EUI-64) are
// answered, also for duplicate address detection (to all nodes); entries
// are incomplete, reachable (30 s after a solicited advertisement) or
// stale; a stale entry in use is probed with a unicast solicitation 5 s
// after its first use and every 5 s after that, and forgotten after 3
// unanswered probes; an unresolved entry unanswered after 3 multicast
// solicitations (one a second) is removed and its held packets answered
// with address unreachable. Hold queues have ARP's limits. hostnet does not run
// duplicate address detection for its own addresses, unlike OpenBSD.
//
// ICMP errors are limited to 100 a second per family (a token bucket on the
// clock Input is given) and never sent about an ICMP error, a broadcast or
// multicast, or a fragment other than the first. No redirects are sent.
// What the stack originates (replies, errors, ARP and ND) is not filtered.
//
// Time is the caller's: Input and Tick take now in nanoseconds on a
// monotonic clock (the packet timestamps in replay), and ARP keeps whole
// seconds of it, as OpenBSD keeps its uptime. With the same inputs, the
// same now values and the same Config.Seed, the stack sends the same bytes.
//
// Concurrency: Input, Tick and the snapshots (Routes, ARP, ND, Counters,
// Egress) are safe for concurrent use. The interface table and the routing
// tables are immutable and swapped whole through an atomic.Pointer on every
// configuration change. The neighbour caches are sharded maps changed
// under a shard lock; readers on the forwarding path load a read-only copy
// of the shard's map (replaced when an entry is added or removed) and the
// entry's immutable link-layer snapshot (replaced when it changes), so a
// forwarded packet takes no lock and writes no shared memory but its
// counters.
package l3

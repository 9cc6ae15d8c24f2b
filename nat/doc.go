// Package nat is hostnet's translation mechanics: address and port pools,
// in-place header rewrites with incremental checksums, and the rewrite of
// ICMP errors about translated connections. It knows nothing of rules: the
// filter owns the states and calls nat at two moments.
//
//  1. A state is created by a rule with nat-to, rdr-to or binat-to (and
//     only then: PF.md 0 item 1, 1.3). The filter asks the rule's Pool for
//     the translation, Pool.NAT for a source (nat-to) and Pool.Rdr for a
//     destination (rdr-to), and records it in the state's wire and stack
//     keys (PF.md 4.1). Pool.NAT asks the filter, through InUse, whether
//     each candidate (address, port) is already some state's wire key.
//  2. Every packet of a translated state, the first included, is
//     rewritten in place: RewriteSrc or RewriteDst with the address and
//     port of the other key. An ICMP or ICMPv6 error whose quoted packet
//     (ParseInner) belongs to a translated state gets RewriteErrorSrc or
//     RewriteErrorDst, inside and out (PF.md 5.5).
//
// What pf does, and so what the pools do (PF.md 5.1-5.3, pf_lb.c):
//
//   - nat-to picks the source port in DefaultNATPorts, 50001-65535, unless
//     the rule gives a range: from a random start up to the top, then down
//     from the start to the bottom, the first port whose translated tuple
//     no state holds. static-port (StaticPort, 0:0) keeps the source port.
//     An ICMP echo request gets a new identifier in 1-65535; protocols
//     without ports keep everything but the address, under the same
//     collision test. When one address has nothing free, round-robin,
//     random and least-states pools try their next address.
//   - Addresses: MethodNone (one address), round-robin, random,
//     source-hash with a 128-bit HashKey (pf's Jenkins hash, so a source
//     keeps its address for a given key), bitmask (network part from the
//     pool, host part from the packet), least-states (as round-robin
//     here), each optionally sticky-address (a bounded source table).
//     `nat-to (if)` reads the interface's addresses (PoolConfig.Iface)
//     at each new translation, so a change of address applies to new
//     states only.
//   - rdr-to maps the destination port range onto the pool's (RdrPort);
//     Binat is binat-to's 1:1 prefix mapping, both ways.
//
// Randomness comes from the caller's *rand.Rand (Request.Rand), one per
// worker, so replay with a fixed seed repeats its choices exactly.
//
// Checksums are updated incrementally by RFC 1624's equation 3,
// HC' = ~(~HC + ~m + m'), through the dataplane/header helpers: the IPv4
// header checksum for an address; TCP, UDP and ICMPv6 checksums for an
// address (their pseudo-header holds it) and a port or echo identifier;
// the ICMP checksum for an echo identifier and for every quoted byte an
// ICMP error rewrite changes. A UDP checksum of 0 (none) stays 0. A frame
// with a partial checksum (packet.GSO.NeedsCsum: a virtio-net super-frame
// or a small frame from a tap with checksum offload) keeps in its
// checksum field the pseudo-header sum only, uncomplemented: the rewrite
// adjusts that sum for the address and leaves the port to the checksum's
// completion (gso.FinishChecksum, or the kernel).
//
// The rewrites borrow the packet, do not allocate, and cost a few tens of
// nanoseconds (BenchmarkRewriteSrc4); the pools are off the per-packet
// path (state creation) and safe for concurrent use.
package nat

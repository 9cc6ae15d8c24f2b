// Package filter is hostnet's pf: a compiled, immutable ruleset evaluated
// with OpenBSD's semantics, a state table that survives reloads, NAT made
// with the nat package when (and only when) a state is created, answers
// for `block return`, and pflog. ../../shared/PF.md is the reference;
// filter/pfconf turns pf.conf into the pfconf.Spec that Compile takes.
//
// # Wiring
//
//	rs, err := filter.Compile(spec, filter.Env{Interfaces: ifs, Route: lookup, Seed: seed})
//	f := filter.NewFilter(filter.Options{Log: pflog}) // pflog from NewPflog(file), or nil
//	f.Load(rs)                                        // again on reload: states stay
//	f.SetInterfaces(ifs)                              // when addresses or groups change
//	res := f.TestReply(filter.In, ifindex, p, reply, now) // per packet, per hook
//	f.Purge(now)                                      // from a timer, every second or so
//
// The dataplane calls pf in on the interface a packet is received on and
// out on the one it is sent on (DESIGN.md section 3), for bridged and
// routed traffic alike, with the clock of the batch in seconds.
//
// # The flow of a packet through Test
//
//  1. `set skip on` interfaces (Skips) and non-IP frames pass untouched.
//  2. Fragments: an IPv4 fragment with DF is dropped (fragment, unless
//     `set reassemble yes no-df`). With `set reassemble yes`, the default,
//     fragments are held (Verdict packet.Taken) until the datagram is
//     whole, which is then filtered as one packet; with `set reassemble
//     no` they go on as fragments, which can only match rules that test
//     no ports, flags or ICMP types, and never create state.
//  3. TCP is normalised as pf_normalize_tcp does: SYN+RST, segments
//     without SYN, ACK or RST, and FIN, PSH or URG without ACK are dropped
//     (normalize); a SYN+FIN loses its FIN.
//  4. The state table is searched (PF.md 4). The key is oriented by
//     direction: slot 0 is the far side of the interface, slot 1 the near
//     side, so a reply crossing the same interface builds the same key.
//     Inbound packets must hit a state's wire key, outbound ones its
//     stack key; if-bound states only match on their interface. An ICMP
//     error is looked up by the packet it quotes (travelling the other
//     way), whose TCP sequence must lie in the state's window.
//  5. On a hit: TCP is tracked (pf_tcp_track_full: windows, scaling,
//     states CLOSED ... TIME_WAIT, the matching timeout; a mismatch is
//     dropped as state-mismatch), UDP, other and ICMP states move through
//     their states and timeouts, counters are kept, IP options are
//     dropped unless the creating rule had allow-opts, and a translated
//     state rewrites the packet in place (wire to stack inbound, stack to
//     wire outbound; an ICMP error inside and out); the packet gets the
//     state's scrub options (10). Done: pass.
//  6. On a miss the rules are walked (pf_match_rule): each rule's fields
//     in pf's order, a failed field jumping to its skip step; anchors
//     depth first, `anchor "vm/*"` over vm's direct children in strcmp
//     order; the last matching pass or block decides and `quick` at any
//     depth ends the walk; `match` rules decide nothing but apply their
//     nat-to and rdr-to at once (later rules see the translated
//     addresses), their tag and their log, and collect their scrub
//     options (10). Nothing matched: pass, no state, no translation, the
//     match rules' scrub options but no max-mss.
//  7. Block: counted, logged if the rule logs, and with return,
//     return-rst or return-icmp an RST|ACK or ICMP/ICMPv6 unreachable is
//     built into the caller's reply packet (never for RSTs under
//     return-rst, ICMP errors, fragments, multicast or broadcast, at most
//     100 ICMP errors per second).
//  8. Pass: the deciding rule's own nat-to or rdr-to replaces the match
//     rules', and its scrub options join theirs. If it keeps state (the default for pass, with flags S/SA)
//     and the packet may create one (not a fragment, an ICMP error or a
//     neighbour advertisement; ICMP replies never reached a stateful
//     rule), limits are checked (set limit states, max, max-src-states,
//     max-src-nodes), the state is inserted under its wire and stack keys
//     and only then is the packet translated; the state keeps the scrub
//     options. A stateless pass is never translated.
//  9. Logging: a rule with `log` writes the packet with its pflog header
//     during evaluation (translated addresses in the header, payload not
//     yet rewritten); `log (all)` also logs every packet of its states
//     (original addresses, rewritten payload).
//  10. Scrub (pf_scrub, pf_normalize_mss; PF.md 1.2, 7): `scrub (...)`
//     and `set tos` of the matching match rules accumulate in order
//     (flags or'ed, min-ttl, max-mss and set tos replaced by a later rule
//     that sets them) and the deciding pass rule's are applied last. A
//     passed packet then gets them, a state's packet its state's: no-df
//     clears IPv4 DF, min-ttl raises the TTL or hop limit, set tos sets
//     the IPv4 TOS (ECN kept) or the IPv6 traffic class, random-id gives
//     IPv4 that is not a fragment a new id from the seeded source, and
//     max-mss clamps a TCP SYN's MSS option (without state, only the pass
//     rule's own max-mss counts, as pf_test has it); checksums are
//     updated incrementally. `reassemble tcp` (pf_normalize_tcp_init,
//     pf_normalize_tcp_stateful; sloppy states excepted) makes a TCP
//     state's packets leave with at least the highest TTL their side
//     sent, adds to each side's timestamps a random offset of its own
//     (taken off again when the other side echoes them), and, once both
//     sides echoed a timestamp, drops as bad-timestamp a segment whose
//     timestamps fall outside PAWS's window, that carries two, or data
//     without one from a side whose data had them.
//
// # Time and limits
//
// Timeouts are pf's defaults, changed by `set timeout`, `set
// optimization` and per-rule timeouts; adaptive scaling starts at
// adaptive.start states (60% of `set limit states` when only the limit is
// given). Purge removes expired states; it is not called on the fast
// path. When the table holds `set limit states` states (100000 by
// default) new states are refused with packet.DropStateLimit.
//
// # Concurrency and allocation
//
// Test is safe for concurrent use. The ruleset is an atomic.Pointer
// swapped by Load; the state table is 256 shards chosen by a seeded
// 64-bit hash of the key, each an open-addressed table of (hash, state)
// slots behind a mutex; a state's mutable fields are guarded by the shard
// of its wire key, so an untranslated packet takes one lock. A state costs
// about 238 bytes with both NAT keys (BenchmarkStateMemory); one under
// `reassemble tcp` keeps its timestamp scrubbing, about 100 bytes more,
// in a map of its wire key's shard. A packet that
// hits a state, and one that misses and is decided by the rules without
// creating state, do not allocate (TestNoAllocs); creating a state does.
//
// # Fragments
//
// Reassembly (pf_reassemble, pf_reassemble6) holds the fragments' packets
// themselves, at most MaxHeldFragments, 64 per datagram, for the `frag`
// timeout (60 s; expired ones go at Purge). Overlapping fragments drop
// the datagram. The reassembled datagram is built in the packet of the
// fragment that completed it; refragmenting it for a smaller egress MTU
// is the dataplane's job (pf refragments IPv6 to the original size).
//
// # Route lookups
//
// `no-route` and `urpf-failed` ask Env.Route. With no route function
// they never match (and `! no-route` always does).
package filter

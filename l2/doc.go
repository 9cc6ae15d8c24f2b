// Package l2 is hostnet's learning bridge (OpenBSD's bridge(4)) and its
// 802.1Q/802.1ad tagging (vlan(4), svlan). It decides; it does not move
// frames. The dataplane reads ports, calls the bridge for a Decision, runs
// pf, and writes to ports, at the places OpenBSD does each.
//
// The life of a frame received on member IN of a bridge (bridge_process,
// bridgeintr_frame, bridge_broadcast), through Bridge.Input:
//
//  1. A frame whose source MAC is a member's own was sent by this bridge
//     and came back: dropped (own-source). Nothing else happens to it.
//  2. Every other frame is copied, as received, to each span port
//     (Decision.Span, Bridge.SpanTargets), before any filtering.
//  3. A destination of 01:80:c2:00:00:01 to 0f (LACP, LLDP, 802.1X, ...)
//     is never forwarded: dropped (reserved-group). 01:80:c2:00:00:00,
//     STP, goes on like any multicast: no member runs STP.
//  4. A broadcast or multicast frame is copied to the stack of IN when IN
//     has one (Decision.LocalIn), whatever happens to it next.
//  5. A unicast frame to a member's own MAC (vether0's) is for that
//     member's stack: the source is learned, IN's `in` rules run (a block
//     drops it), and it is delivered there (ActionLocal); pf runs on that
//     member, not on IN.
//  6. Otherwise the source is learned on IN (unless -learn; never a
//     multicast or zero source; at the maxaddr limit nothing new is
//     learned and the event is counted). A known unicast destination on IN
//     itself is dropped (same-link). The bridge's link0 and link1 flags
//     drop IPv4 or other multicast. With blocknonip on IN only IPv4,
//     IPv6, ARP and RARP go on (Ethernet II or LLC/SNAP; no tagged frame).
//     IN's `in` rules run: the first match decides, no match passes, a
//     matching rule's tag becomes the pf tag. An untagged IPv4 or IPv6
//     header is checked as ipv4_check and ipv6_check do and the frame is
//     cut to its IP length (Decision.Apply); a bad header is dropped.
//     Tagged frames cross unchanged and unchecked (trunks).
//  7. The dataplane runs pf in on IN.
//  8. A known unicast destination gets the frame (ActionForward); anything
//     else floods (ActionFlood) to FloodTargets: every other running
//     member that is not a span port, for unknown unicast only those with
//     discover.
//  9. Per destination, OutputAllowed: blocknonip on it when flooding, a
//     protected domain it shares with IN, its `out` rules. A flooded
//     frame then reaches the stack of a destination that has one; then the
//     dataplane runs pf out on the destination, checks its MTU and writes.
//
// A frame that a member's own stack sends into the bridge (bridge_enqueue),
// through Bridge.HostOutput: span copies; a known unicast destination gets
// it directly, with no check at all; anything else floods to every running
// member with discover but the sender, through their `out` rules only.
// Nothing is learned, and protected domains and blocknonip do not apply.
//
// Aging (bridge_rtage): every Timeout seconds a sweep removes the dynamic
// entries not seen since the previous sweep and clears the seen bit of the
// others, so an idle entry goes after between one and two timeouts.
// Static entries never age and never move. The dataplane calls
// Bridge.Tick with its clock; nothing ages on the fast path.
//
// Tagging: PushTag and PopTag add and remove a tag in place, using the
// packet's headroom; VLAN.Encap and VLAN.Decap add 802.1p priorities
// (txprio, rxprio) with 802.1p's swap of priorities 0 and 1.
package l2

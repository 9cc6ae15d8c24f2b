// Package dataplane is hostnet's frame path: the interface table built from
// a configuration, and ether input and output as OpenBSD's ether_input,
// bridge(4) and vlan(4) have them, calling the layers (l2, l3, filter) at the
// points where OpenBSD calls them.
//
// The life of a frame:
//
//  1. A worker reads a batch from a port (packet.Port.ReadBatch), reads the
//     clock once, and runs each frame to completion: Input.
//  2. Input counts the frame on its interface, drops it if the interface is
//     down, and parses it once (packet.Parse).
//  3. A frame whose outermost tag has a vlan or svlan child of the
//     interface for its VID loses the tag and starts again at 2 on the
//     child. A priority tag (0x8100, VID 0) is removed and the frame is
//     treated as untagged.
//  4. A frame received on a bridge member goes to the bridge (l2.Bridge):
//     own-source and reserved-group drops, span copies, learning, bridge
//     rules, then one of: local delivery to the stack of the member whose
//     MAC it is addressed to; forwarding to one member; flooding to every
//     other member (and a copy to each member's stack for broadcast and
//     multicast). Each destination is checked (protected domains, out
//     rules, pf out, MTU) and the frame is written out of it, cut into
//     fragments as bridge_fragment and pf_refragment6 cut it (IPv4
//     without DF too big for the member, IPv6 pf reassembled; IPv4 with
//     DF earns its sender a fragmentation needed).
//  5. A tagged frame that nothing took is dropped (novlan).
//  6. A frame on an interface with an address goes to the host's IP stack.
//  7. Anything else is dropped and counted as unclaimed.
//
// Output on an interface (output): a vlan interface pushes its tag and
// outputs on its parent; a bridge member's stack sends into its bridge
// (bridge_enqueue); an interface with a port writes the frame there.
//
// Every drop is counted on the interface that dropped the frame, by
// packet.DropReason; nothing is dropped silently.
package dataplane

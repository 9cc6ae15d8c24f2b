// Package afpacket attaches hostnet to an existing host NIC (em0, eth1, a
// veth) through an AF_PACKET raw socket, as a packet.Port.
//
// The socket is bound to the one interface and sees every frame on it
// (ETH_P_ALL, promiscuous through PACKET_ADD_MEMBERSHIP with
// PACKET_MR_PROMISC), except the ones it sends itself
// (PACKET_IGNORE_OUTGOING). With PACKET_VNET_HDR, where the kernel has it,
// each frame carries a 10-byte virtio-net header: super-frames that the
// NIC or a veth peer hands up whole (GRO, TSO over veth) arrive as one
// frame with their offload state in packet.GSO, and super-frames hostnet
// writes are segmented by the kernel on the way out if the NIC cannot.
//
// The kernel takes the outer 802.1Q or 802.1ad tag off every frame it
// receives (VLAN acceleration) and reports it beside the frame only, in a
// PACKET_AUXDATA control message. The port puts the tag back after the
// source MAC, in the packet's headroom, with its TPID (0x8100 unless the
// kernel says otherwise) and TCI, priority tags (VID 0) included, and
// moves the GSO offsets with it: frames read as they were on the wire.
// Frames hostnet writes go out with their tags in band.
//
// Reads and writes are batched with recvmmsg(2) and sendmmsg(2): one
// system call per batch. The first frame of a batch is waited for through
// the Go netpoller, so Close unblocks a reader.
//
// An interface that goes down delivers nothing until it is up again
// (ReadBatch waits) and refuses writes with ENETDOWN; one that is deleted
// makes ReadBatch return an error wrapping ErrDeleted. After Close,
// ReadBatch returns io.EOF.
//
// Linux only; elsewhere Open fails with errors.ErrUnsupported.
package afpacket

// Options are the settings of Open.
type Options struct {
	// NoVnetHdr turns off PACKET_VNET_HDR: frames are plain, and
	// super-frames must be segmented before they are written.
	NoVnetHdr bool
	// NoPromisc leaves the interface's promiscuous mode alone: the socket
	// then sees only the frames the NIC accepts for its own MAC, broadcast
	// and joined multicast groups.
	NoPromisc bool
}

// Package tap moves frames between hostnet and TAP devices: the NICs of
// virtual machines, or of network namespaces standing in for them.
//
// On Linux a Tap is made through /dev/net/tun with IFF_TAP|IFF_NO_PI and,
// unless Options.NoVnetHdr, IFF_VNET_HDR with a 12-byte virtio-net header
// (virtio_net_hdr_v1) in front of every frame and the offloads of
// TUNSETOFFLOAD (checksum, TSO4, TSO6, and USO4/USO6 where the kernel has
// them). The kernel then hands over TCP super-frames of up to 64 KB whole,
// with their offload state in packet.GSO, and takes them back the same
// way. With offloads on, frames from the kernel may carry a partial
// checksum (GSO.NeedsCsum) even when they are small: a port without
// offloads must be given them finished (package gso).
//
// A tap has two ends, and hostnet can hold either:
//
//   - Open: hostnet holds the descriptor, and whatever is on the device's
//     kernel side plays the VM. Tests and the demo move the device into a
//     network namespace, where a kernel is the guest.
//   - Create: hostnet makes a persistent, up device and lets go of it; a
//     hypervisor holds the descriptor (QEMU: -netdev
//     tap,ifname=tap3,script=no,downscript=no) and hostnet attaches to the
//     kernel side with package afpacket. The device outlives the VM and
//     works again when it comes back; Delete removes it.
//
// On OpenBSD a Tap is /dev/tapN opened as a file: one frame per read, no
// virtio-net header, no offloads.
//
// The life of a frame through a queue:
//
//  1. ReadBatch Resets a packet and reads into its buffer 12 bytes before
//     the frame's usual start, so the virtio-net header lands in the
//     headroom; it decodes the header into p.GSO and Pulls it off.
//  2. The first frame of a batch is waited for through the Go netpoller;
//     the rest are read without blocking until the batch is full or the
//     device has nothing more (EAGAIN).
//  3. WriteBatch Pushes a header built from p.GSO into the headroom,
//     writes header and frame in one write(2), and Pulls the header off
//     again: the caller's packet is unchanged.
//
// A tap whose kernel side is down (the VM's namespace set it down, or the
// VM is not running and nothing set it up) delivers nothing: ReadBatch
// waits. Writes to a tap that is down fail with EIO (the error wraps
// syscall.EIO); the frames are lost and the caller counts them. A tap
// deleted from outside (ip link del, its namespace destroyed) makes
// ReadBatch and WriteBatch return an error wrapping ErrDeleted; the tap
// must be opened again. After Close, ReadBatch returns io.EOF.
package tap

import (
	"errors"
	"strings"
)

// ErrDeleted is wrapped by the errors of a tap deleted from outside.
var ErrDeleted = errors.New("tap: device deleted")

// Options are the settings of Open.
type Options struct {
	// MTU is set on the device when not 0.
	MTU int
	// Persist makes a device that Open creates persistent: it outlives
	// Close (TUNSETPERSIST). A device that was persistent already stays so
	// whatever Persist says.
	Persist bool
	// Queues is the number of queues (IFF_MULTI_QUEUE) when above 1; each
	// has its own reader.
	Queues int
	// NoVnetHdr turns off the virtio-net header and offloads: every frame
	// is a plain frame of at most the MTU.
	NoVnetHdr bool
}

// Offload is a set of offloads the kernel accepted for a tap.
type Offload uint32

// Offloads, as TUNSETOFFLOAD's TUN_F_ flags.
const (
	OffloadCsum Offload = 0x01 // TUN_F_CSUM: partial checksums
	OffloadTSO4 Offload = 0x02 // TUN_F_TSO4: TCPv4 super-frames
	OffloadTSO6 Offload = 0x04 // TUN_F_TSO6: TCPv6 super-frames
	OffloadUSO4 Offload = 0x20 // TUN_F_USO4: UDPv4 super-frames (USO)
	OffloadUSO6 Offload = 0x40 // TUN_F_USO6: UDPv6 super-frames (USO)
)

var offloadNames = []struct {
	o    Offload
	name string
}{
	{OffloadCsum, "csum"}, {OffloadTSO4, "tso4"}, {OffloadTSO6, "tso6"},
	{OffloadUSO4, "uso4"}, {OffloadUSO6, "uso6"},
}

// Has reports whether all offloads of x are in o.
func (o Offload) Has(x Offload) bool { return o&x == x }

// String returns the offloads as "csum,tso4,tso6", or "none".
func (o Offload) String() string {
	var s []string
	for _, n := range offloadNames {
		if o.Has(n.o) {
			s = append(s, n.name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

package dataplane

import (
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Kind is what an interface is (DESIGN.md section 1).
type Kind uint8

const (
	KindEther  Kind = iota // an existing host NIC
	KindTap                // a VM's NIC
	KindVether             // an interface of hostnet's own IP stack
	KindVLAN               // 802.1Q VID on a parent
	KindSVLAN              // 802.1ad VID on a parent
	KindBridge             // a learning bridge
)

var kindNames = [...]string{"ether", "tap", "vether", "vlan", "svlan", "bridge"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// HasPort reports whether interfaces of kind k move frames through a port
// of their own (taps and host NICs).
func (k Kind) HasPort() bool { return k == KindEther || k == KindTap }

// Interface is one entry of the interface table. The fields set at
// construction are immutable; counters are safe for concurrent use.
type Interface struct {
	Index  packet.PortID
	Name   string
	Kind   Kind
	MAC    header.MAC
	MTU    int
	Up     bool
	Groups []string
	Addrs  []netip.Prefix
	// Description is the interface's description line.
	Description string

	Counters packet.Counters

	port    packet.Port // taps and host NICs
	offload bool        // the port takes super-frames and partial checksums
	wmu     sync.Mutex  // serializes writes to port

	// tap, when set, sees every frame the interface receives and sends
	// (tcpdump -i).
	tap atomic.Pointer[CaptureFunc]

	// vlan and svlan
	parent *Interface
	tpid   uint16
	vid    uint16
	txprio int // -1: the packet's priority
	rxprio int // -1: outer (the tag's), -2: packet (keep), 0-7 fixed

	// children by VID, for a parent of vlan (0x8100) and svlan (0x88a8)
	// interfaces; nil when it has none.
	vlans  *[4096]*Interface
	svlans *[4096]*Interface

	// bridge membership: the bridge and this member's index in it.
	bridge *bridge
	member int
	// stack reports whether the host's IP stack owns this interface
	// (vether, or an interface with an address).
	stack bool
}

// Port returns the interface's port, nil for interfaces without one.
func (ifc *Interface) Port() packet.Port { return ifc.port }

// Parent returns a vlan interface's parent, nil otherwise.
func (ifc *Interface) Parent() *Interface { return ifc.parent }

// VID returns a vlan interface's VLAN identifier, 0 otherwise.
func (ifc *Interface) VID() uint16 { return ifc.vid }

// child returns the vlan interface of ifc for tag t, nil if there is none.
func (ifc *Interface) child(t packet.Tag) *Interface {
	switch t.TPID {
	case header.EtherTypeDot1Q:
		if ifc.vlans != nil {
			return ifc.vlans[t.VID()]
		}
	case header.EtherTypeDot1AD:
		if ifc.svlans != nil {
			return ifc.svlans[t.VID()]
		}
	}
	return nil
}

// CaptureFunc receives a frame an interface received or sent, and the
// dataplane's clock in nanoseconds. It borrows frame: it must copy what it
// keeps. It runs on the frame path, so it must not block.
type CaptureFunc func(frame []byte, ns int64, out bool)

// SetCapture makes f see every frame ifc receives (before any processing)
// and sends; nil stops it. Safe for concurrent use with the frame path.
func (ifc *Interface) SetCapture(f CaptureFunc) {
	if f == nil {
		ifc.tap.Store(nil)
		return
	}
	ifc.tap.Store(&f)
}

// capture hands p's frame to the capture function, if any.
func (ifc *Interface) capture(p *packet.Packet, ns int64, out bool) {
	if f := ifc.tap.Load(); f != nil {
		(*f)(p.Bytes(), ns, out)
	}
}

// offloader is a port that can say whether it takes the virtio-net
// header, and with it super-frames and partial checksums.
type offloader interface{ VnetHdr() bool }

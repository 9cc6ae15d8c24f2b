package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/hostnet/hostnet/dataplane/packet"
	"golang.org/x/sys/unix"
)

// vnetHdrLen is the size of struct virtio_net_hdr, the header
// PACKET_VNET_HDR puts in front of each frame (see package tap for the
// layout; there is no num_buffers field here).
const vnetHdrLen = 10

// sockBuf is the socket buffer size asked for in each direction.
const sockBuf = 4 << 20

// openBatch is the read batch size whose message arrays Open makes ready;
// ReadBatch grows them, once, for a larger batch.
const openBatch = 64

// tagLen is the size of an 802.1Q or 802.1ad tag: TPID and TCI.
const tagLen = 4

// auxLen is the size of struct tpacket_auxdata, the PACKET_AUXDATA
// control message that says which VLAN tag the kernel took off a frame.
const auxLen = int(unsafe.Sizeof(unix.TpacketAuxdata{}))

// ctlLen is the control buffer each received message gets: room for the
// one PACKET_AUXDATA message, header and padding included. It is a
// multiple of the control message alignment, so each buffer in a slab of
// them starts aligned.
var ctlLen = unix.CmsgSpace(auxLen)

// ErrDeleted is wrapped by the error of a read on an interface that was
// deleted.
var ErrDeleted = errors.New("afpacket: interface deleted")

// mmsghdr is struct mmsghdr of recvmmsg(2): a message and the number of
// bytes it received. Go pads it to the alignment of its pointers, as C
// does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// Port is a host NIC attached through an AF_PACKET socket. It implements
// packet.Port and is used by one reader and one writer goroutine at a
// time.
type Port struct {
	name    string
	ifindex int
	vnet    bool
	f       *os.File
	rc      syscall.RawConn
	closed  atomic.Bool

	// Read state, owned by the reader; the callback is made once so that
	// ReadBatch does not allocate.
	rpkts  []*packet.Packet
	rmsgs  []mmsghdr
	riovs  []unix.Iovec
	rctl   []byte // control buffers of the batch, ctlLen each
	rn     int
	rerr   error
	readFn func(fd uintptr) bool

	// Write state, owned by the writer.
	wpkts   []*packet.Packet
	wmsgs   []mmsghdr
	wiovs   []unix.Iovec
	whdrs   []byte // virtio-net headers of the batch, vnetHdrLen each
	wn      int
	werr    error
	writeFn func(fd uintptr) bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Open attaches to the interface ifname. It fails, naming the interface,
// if it does not exist, the socket cannot be made (no CAP_NET_RAW) or an
// option is refused. PACKET_IGNORE_OUTGOING (Linux 4.20) and
// PACKET_VNET_HDR are required, not optional: without the first the port
// would read its own frames back, without the second super-frames would
// arrive without their offload state. PACKET_AUXDATA is required too: the
// kernel takes the VLAN tag off every frame it receives and reports it
// there only, and the port puts it back.
func Open(ifname string, opts Options) (*Port, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: %w", ifname, err)
	}
	// Protocol 0: the socket receives nothing until bind, so no frame of
	// another interface slips in between.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: socket: %w", ifname, err)
	}
	p := &Port{name: ifname, ifindex: ifi.Index, vnet: !opts.NoVnetHdr}
	fail := func(what string, err error) (*Port, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("afpacket %s: %s: %w", ifname, what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail("PACKET_IGNORE_OUTGOING", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return fail("PACKET_AUXDATA", err)
	}
	if p.vnet {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fail("PACKET_VNET_HDR", err)
		}
	}
	if !opts.NoPromisc {
		mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fail("PACKET_ADD_MEMBERSHIP promisc", err)
		}
	}
	// Room for a few dozen 64 KB super-frames rather than the default
	// three; FORCE passes the system limit (we hold CAP_NET_ADMIN), plain
	// SO_RCVBUF is the fallback. Best effort: the defaults work, slower.
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], sockBuf) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], sockBuf)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	p.f = os.NewFile(uintptr(fd), "afpacket "+ifname)
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.f.Close()
		return nil, fmt.Errorf("afpacket %s: %w", ifname, err)
	}
	p.growRead(openBatch)
	p.readFn = p.read
	p.writeFn = p.write
	return p, nil
}

// growRead makes the read message arrays and control buffers for batches
// of n frames.
func (p *Port) growRead(n int) {
	p.rmsgs = make([]mmsghdr, n)
	p.riovs = make([]unix.Iovec, n)
	// Words, not bytes, so that the first control header is aligned
	// whatever the allocator does with byte slices.
	words := make([]uint64, (n*ctlLen+7)/8)
	p.rctl = unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n*ctlLen)
}

// Name returns the interface name.
func (p *Port) Name() string { return p.name }

// VnetHdr reports whether frames carry their offload state (packet.GSO).
func (p *Port) VnetHdr() bool { return p.vnet }

// ReadBatch implements packet.Port: it waits for the first frame, then
// takes up to len(pkts) frames with one recvmmsg. A frame the kernel cut
// short is dropped, and the packets in pkts may then be reordered so that
// the filled ones come first. A VLAN tag the kernel took off a frame (it
// always does, and reports it in PACKET_AUXDATA) is put back after the
// source MAC, in the packet's headroom, so frames read as they were on the
// wire. It does not allocate once its message arrays have grown to the
// batch size (Open makes them for 64 frames).
func (p *Port) ReadBatch(pkts []*packet.Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	if len(p.rmsgs) < len(pkts) {
		p.growRead(len(pkts))
	}
	for {
		p.rpkts, p.rn, p.rerr = pkts, 0, nil
		err := p.rc.Read(p.readFn)
		n, rerr := p.rn, p.rerr
		p.rpkts = nil
		if err != nil {
			if p.closed.Load() || errors.Is(err, os.ErrClosed) {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("afpacket %s: read: %w", p.name, err)
		}
		if rerr == unix.ENETDOWN {
			// The kernel reports the interface going down once, and
			// again when it is unregistered. Down is waited out: the
			// socket works again when the link comes back up.
			if _, err := net.InterfaceByIndex(p.ifindex); err != nil {
				return 0, fmt.Errorf("afpacket %s: %w", p.name, ErrDeleted)
			}
			continue
		}
		if rerr != nil {
			return 0, fmt.Errorf("afpacket %s: recvmmsg: %w", p.name, rerr)
		}
		return n, nil
	}
}

func (p *Port) read(fd uintptr) bool {
	pkts := p.rpkts
	for i, pk := range pkts {
		pk.Reset()
		if p.vnet {
			pk.Push(vnetHdrLen) // into the headroom of a Reset packet: cannot fail
		}
		buf := pk.Space()
		p.riovs[i].Base = &buf[0]
		p.riovs[i].SetLen(len(buf))
		p.rmsgs[i] = mmsghdr{}
		p.rmsgs[i].hdr.Iov = &p.riovs[i]
		p.rmsgs[i].hdr.SetIovlen(1)
		p.rmsgs[i].hdr.Control = &p.rctl[i*ctlLen]
		p.rmsgs[i].hdr.SetControllen(ctlLen)
	}
	for {
		r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&p.rmsgs[0])), uintptr(len(pkts)), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			p.rerr = errno
			return true
		}
		// Keep the frames that came whole; lengths are the kernel's, but
		// a record shorter than its header or cut short (MSG_TRUNC) is
		// dropped rather than trusted, and so is one whose control
		// messages were cut short (MSG_CTRUNC): its VLAN is unknown.
		k := 0
		for i := range int(r) {
			m := &p.rmsgs[i]
			n := int(m.n)
			if m.hdr.Flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || (p.vnet && n < vnetHdrLen) {
				continue
			}
			pk := pkts[i]
			pk.SetLen(n)
			if p.vnet {
				decodeVnet(pk.Bytes(), &pk.GSO)
				pk.Pull(vnetHdrLen)
			}
			ctl := p.rctl[i*ctlLen : (i+1)*ctlLen]
			if c := int(m.hdr.Controllen); c < len(ctl) {
				ctl = ctl[:c]
			}
			if tpid, tci, ok := auxTag(ctl); ok {
				if !pushTag(pk, tpid, tci) {
					continue // too short to have had a tag: not trusted
				}
				if pk.GSO.NeedsCsum {
					pk.GSO.CsumStart += tagLen
				}
				if pk.GSO.HdrLen != 0 {
					pk.GSO.HdrLen += tagLen
				}
			}
			if k != i {
				// Move the good packet down over a dropped one; the
				// caller's slice only has its pointers reordered.
				pkts[k], pkts[i] = pkts[i], pkts[k]
			}
			k++
		}
		if k == 0 {
			return false // all dropped: wait for more
		}
		p.rn = k
		return true
	}
}

// WriteBatch implements packet.Port. It borrows the packets and sends
// them with sendmmsg, each with a virtio-net header made from its GSO
// (written from a side buffer; the packet is not changed), so a
// super-frame leaves whole and the kernel segments it if the NIC cannot.
// Without the header (Options.NoVnetHdr) the caller finishes frames first
// (package gso). A frame the kernel refuses (EMSGSIZE: longer than the MTU
// and not a super-frame) stops the batch there, as the Port contract
// says. It does not allocate once its arrays have grown to the batch
// size.
func (p *Port) WriteBatch(pkts []*packet.Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	if len(p.wmsgs) < len(pkts) {
		p.wmsgs = make([]mmsghdr, len(pkts))
		p.wiovs = make([]unix.Iovec, 2*len(pkts))
		p.whdrs = make([]byte, vnetHdrLen*len(pkts))
	}
	p.wpkts, p.wn, p.werr = pkts, 0, nil
	err := p.rc.Write(p.writeFn)
	n, werr := p.wn, p.werr
	p.wpkts = nil
	if err != nil {
		if p.closed.Load() || errors.Is(err, os.ErrClosed) {
			return n, fmt.Errorf("afpacket %s: write: %w", p.name, os.ErrClosed)
		}
		return n, fmt.Errorf("afpacket %s: write: %w", p.name, err)
	}
	if werr != nil {
		return n, fmt.Errorf("afpacket %s: sendmmsg: %w", p.name, werr)
	}
	return n, nil
}

func (p *Port) write(fd uintptr) bool {
	pkts := p.wpkts
	for i, pk := range pkts {
		m := &p.wmsgs[i]
		*m = mmsghdr{}
		iov := p.wiovs[2*i : 2*i+2]
		b := pk.Bytes()
		niov := 0
		if p.vnet {
			h := p.whdrs[i*vnetHdrLen : (i+1)*vnetHdrLen]
			encodeVnet(h, &pk.GSO)
			iov[0].Base = &h[0]
			iov[0].SetLen(vnetHdrLen)
			niov++
		}
		if len(b) > 0 {
			iov[niov].Base = &b[0]
			iov[niov].SetLen(len(b))
			niov++
		}
		m.hdr.Iov = &iov[0]
		m.hdr.SetIovlen(niov)
	}
	for p.wn < len(pkts) {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&p.wmsgs[p.wn])), uintptr(len(pkts)-p.wn), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			p.wn += int(r)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			p.werr = errno
			return true
		}
	}
	return true
}

// Close implements packet.Port: it closes the socket, unblocking a reader,
// and so leaves promiscuous mode.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.f.Close()
}

// auxTag returns the VLAN tag that the PACKET_AUXDATA message in the
// control buffer ctl reports taken off its frame, if there is one. A tag
// is there if the kernel says so (TP_STATUS_VLAN_VALID, which a priority
// tag with TCI 0 has too) or, as kernels before 3.0 said it, if the TCI is
// not 0; its TPID is 802.1Q's unless the kernel gives it
// (TP_STATUS_VLAN_TPID_VALID, 802.1ad frames).
func auxTag(ctl []byte) (tpid, tci uint16, ok bool) {
	hdr := unix.CmsgLen(0) // the header with its padding
	for len(ctl) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
		n := int(h.Len)
		if n < hdr || n > len(ctl) {
			return 0, 0, false
		}
		if h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_AUXDATA && n-hdr >= auxLen {
			aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&ctl[hdr]))
			if aux.Status&unix.TP_STATUS_VLAN_VALID == 0 && aux.Vlan_tci == 0 {
				return 0, 0, false
			}
			tpid = unix.ETH_P_8021Q
			if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
				tpid = aux.Vlan_tpid
			}
			return tpid, aux.Vlan_tci, true
		}
		step := unix.CmsgSpace(n - hdr)
		if step >= len(ctl) {
			break
		}
		ctl = ctl[step:]
	}
	return 0, 0, false
}

// pushTag puts the tag tpid, tci back into the frame of p after its source
// MAC, growing the frame into the headroom and moving the two addresses
// 4 bytes toward its start. It reports false, changing nothing, if the frame is shorter
// than an Ethernet header or the headroom has no room.
func pushTag(p *packet.Packet, tpid, tci uint16) bool {
	if p.Len() < 14 {
		return false
	}
	b, ok := p.Push(tagLen)
	if !ok {
		return false
	}
	copy(b[0:12], b[tagLen:12+tagLen]) // overlapping: copy moves
	binary.BigEndian.PutUint16(b[12:], tpid)
	binary.BigEndian.PutUint16(b[14:], tci)
	return true
}

// decodeVnet fills g from a virtio_net_hdr (little-endian, as the kernel
// writes it on every architecture hostnet runs on).
func decodeVnet(h []byte, g *packet.GSO) {
	*g = packet.GSO{
		Type:       h[1],
		NeedsCsum:  h[0]&1 != 0, // VIRTIO_NET_HDR_F_NEEDS_CSUM
		HdrLen:     binary.LittleEndian.Uint16(h[2:]),
		Size:       binary.LittleEndian.Uint16(h[4:]),
		CsumStart:  binary.LittleEndian.Uint16(h[6:]),
		CsumOffset: binary.LittleEndian.Uint16(h[8:]),
	}
}

// encodeVnet writes g as a virtio_net_hdr into h.
func encodeVnet(h []byte, g *packet.GSO) {
	_ = h[vnetHdrLen-1]
	h[0] = 0
	if g.NeedsCsum {
		h[0] = 1
	}
	h[1] = g.Type
	binary.LittleEndian.PutUint16(h[2:], g.HdrLen)
	binary.LittleEndian.PutUint16(h[4:], g.Size)
	binary.LittleEndian.PutUint16(h[6:], g.CsumStart)
	binary.LittleEndian.PutUint16(h[8:], g.CsumOffset)
}

package tap

import (
	"encoding/binary"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// The virtio-net header (virtio 1.x, section 5.1.6; struct
// virtio_net_hdr_v1 in linux/virtio_net.h), little-endian:
//
//	 0      1        2           4           6             8              10            12
//	+-------+--------+-----------+-----------+-------------+--------------+-------------+
//	| flags |gso_type|  hdr_len  | gso_size  | csum_start  | csum_offset  | num_buffers |
//	+-------+--------+-----------+-----------+-------------+--------------+-------------+
//
// hostnet asks for the 12-byte form (TUNSETVNETHDRSZ); num_buffers is
// unused on a tap and written as 0.
const (
	vnetHdrLen = 12

	vnetFlags      = 0
	vnetGSOType    = 1
	vnetHdrLenOff  = 2
	vnetGSOSize    = 4
	vnetCsumStart  = 6
	vnetCsumOffset = 8

	vnetFlagNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
)

// decodeVnet fills g from the virtio-net header h (at least 10 bytes).
// The kernel's values are kept as they are; whoever uses the offsets
// checks them against the frame (package gso does).
func decodeVnet(h []byte, g *packet.GSO) {
	*g = packet.GSO{
		Type:       h[vnetGSOType],
		NeedsCsum:  h[vnetFlags]&vnetFlagNeedsCsum != 0,
		HdrLen:     binary.LittleEndian.Uint16(h[vnetHdrLenOff:]),
		Size:       binary.LittleEndian.Uint16(h[vnetGSOSize:]),
		CsumStart:  binary.LittleEndian.Uint16(h[vnetCsumStart:]),
		CsumOffset: binary.LittleEndian.Uint16(h[vnetCsumOffset:]),
	}
}

// encodeVnet writes g as a 12-byte virtio-net header into h.
func encodeVnet(h []byte, g *packet.GSO) {
	_ = h[vnetHdrLen-1]
	var flags byte
	if g.NeedsCsum {
		flags = vnetFlagNeedsCsum
	}
	h[vnetFlags] = flags
	h[vnetGSOType] = g.Type
	binary.LittleEndian.PutUint16(h[vnetHdrLenOff:], g.HdrLen)
	binary.LittleEndian.PutUint16(h[vnetGSOSize:], g.Size)
	binary.LittleEndian.PutUint16(h[vnetCsumStart:], g.CsumStart)
	binary.LittleEndian.PutUint16(h[vnetCsumOffset:], g.CsumOffset)
	h[10], h[11] = 0, 0
}

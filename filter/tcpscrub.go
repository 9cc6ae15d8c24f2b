package filter

import (
	"encoding/binary"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/nat"
)

// The timestamp part of `reassemble tcp` (pf_normalize_tcp_init,
// pf_normalize_tcp_stateful; PF.md 7): each side's timestamps are
// modulated by a random offset, so that they tell nothing of the host's
// uptime, and checked against PAWS (RFC 1323) once both sides echoed
// one. The TTL part lives in the state itself (scrubLimits).

// tsSide is pf's struct pf_state_scrub for one side of a connection,
// without its TTL.
type tsSide struct {
	flags  uint16 // pfss*
	tsMod  uint32 // added to the side's TSval, taken from the TSecr it is sent
	tsval0 uint32 // the lowest TSval the side sent
	tsval  uint32 // the highest
	tsecr  uint32 // the highest TSecr it sent
	last   int64  // when it last sent a timestamp, in seconds (pf: microseconds)
}

// tsScrub is both sides of a state, the creator's first.
type tsScrub [2]tsSide

// pf's PFSS_* flags, and pfssOn for a side that has sent its first
// packet (pf allocates the side's scrub then).
const (
	pfssTimestamp = 0x0001 // the side's SYN carried a timestamp
	pfssPAWS      = 0x0010 // the side's timestamps are checked
	pfssPAWSIdled = 0x0020 // too long idle to check them any more
	pfssDataTS    = 0x0040 // its first data carried a timestamp
	pfssDataNoTS  = 0x0080 // its first data carried none
	pfssOn        = 0x8000
)

// PAWS limits (pf.c): the fastest timestamp clock is 1 kHz plus 10% skew,
// so a side idle for 24 days or a connection older than 12 days can no
// longer be checked; pf's tcp.tsdiff timeout, 30 s, is the leeway.
const (
	tsMaxFreq = 1100
	tsMaxIdle = 24 * 24 * 60 * 60
	tsMaxConn = 12 * 24 * 60 * 60
	tsDiff    = 30
)

const (
	tcpOptTimestamp    = 8
	tcpOptTimestampLen = 10
)

// findTCPOpt returns the offset in th of the first option from offset i
// on, before n, of the given kind and at least size bytes long, or -1
// (pf_find_tcpopt: an end-of-options byte is stepped over like a no-op,
// since some systems pad with zeros).
func findTCPOpt(th header.TCP, i, n int, kind, size uint8) int {
	for n-i >= int(size) {
		switch th[i] {
		case 0, 1:
			i++
			continue
		}
		if th[i] == kind && th[i+1] >= size {
			return i
		}
		i += max(int(th[i+1]), 2)
	}
	return -1
}

// tcpOptEnd returns where the options of th end, 0 when the header
// length does not fit in the IP packet (whose TCP part is seglen bytes).
func tcpOptEnd(th header.TCP, seglen int) int {
	n := th.DataOffset()
	if n < header.TCPMinSize || n > seglen || n > len(th) {
		return 0
	}
	return n
}

// patchTCP writes b at offset off of th, where it may be unaligned,
// keeping the TCP checksum right. A partial checksum (nat.PartialTCP) is
// left alone: it holds the pseudo-header's sum, and the completion sums
// the new bytes.
func patchTCP(th header.TCP, off int, b []byte, partial bool) {
	if partial {
		copy(th[off:], b)
		return
	}
	sum := th.Checksum()
	for i, v := range b {
		sum = header.UpdateByte(sum, off+i, th[off+i], v)
		th[off+i] = v
	}
	th.SetChecksum(sum)
}

// patchTCP32 is patchTCP for a 32-bit value.
func patchTCP32(th header.TCP, off int, v uint32, partial bool) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	patchTCP(th, off, b[:], partial)
}

// init starts the side's scrubbing with its first packet, th
// (pf_normalize_tcp_init): a SYN carrying a timestamp turns modulation
// on, with an offset from rnd.
func (sd *tsSide) init(th header.TCP, n int, now int64, rnd *splitmix) {
	sd.flags = pfssOn
	if th.Flags()&thSYN == 0 {
		return
	}
	for i := findTCPOpt(th, header.TCPMinSize, n, tcpOptTimestamp, tcpOptTimestampLen); i >= 0; i = findTCPOpt(th, i+int(th[i+1]), n, tcpOptTimestamp, tcpOptTimestampLen) {
		sd.flags |= pfssTimestamp
		sd.tsMod = uint32(rnd.Uint64())
		sd.tsval0 = binary.BigEndian.Uint32(th[i+2:])
		sd.tsval = sd.tsval0
		sd.tsecr = binary.BigEndian.Uint32(th[i+6:])
		sd.last = now
	}
}

// tsCheck is what normalize needs of a segment besides its header.
type tsCheck struct {
	partial  bool   // the TCP checksum is partial (nat.PartialTCP)
	plen     uint32 // payload bytes
	srcState uint8  // the sides' TCP states before the segment
	dstState uint8
	creation int64
	now      int64
}

// normalize is the timestamp part of pf_normalize_tcp_stateful for th
// (options ending at n), sent by side src to side dst, both started: it
// modulates the segment's TSval and demodulates its TSecr, fixing the
// checksum, and reports false when the segment must be dropped
// (bad-timestamp): two timestamp options, a timestamp out of PAWS's
// window, or data without a timestamp from a side whose data had them.
func normalize(th header.TCP, n int, src, dst *tsSide, c *tsCheck) bool {
	var tsval, tsecr uint32
	gotTS := false
	for i := findTCPOpt(th, header.TCPMinSize, n, tcpOptTimestamp, tcpOptTimestampLen); i >= 0; i = findTCPOpt(th, i+int(th[i+1]), n, tcpOptTimestamp, tcpOptTimestampLen) {
		if gotTS {
			return false // two timestamps
		}
		tsval = binary.BigEndian.Uint32(th[i+2:])
		if tsval != 0 && src.flags&pfssTimestamp != 0 {
			patchTCP32(th, i+2, tsval+src.tsMod, c.partial)
		}
		tsecr = binary.BigEndian.Uint32(th[i+6:])
		if tsecr != 0 && dst.flags&pfssTimestamp != 0 {
			tsecr -= dst.tsMod
			patchTCP32(th, i+6, tsecr, c.partial)
		}
		gotTS = true
	}

	// PAWS cannot be checked on connections idle or open for too long.
	if src.flags&pfssPAWS != 0 && (c.now-src.last > tsMaxIdle || c.now-c.creation > tsMaxConn) {
		src.flags = src.flags&^pfssPAWS | pfssPAWSIdled
	}
	if dst.flags&pfssPAWS != 0 && c.now-dst.last > tsMaxIdle {
		dst.flags = dst.flags&^pfssPAWS | pfssPAWSIdled
	}

	flags := th.Flags()
	paws := src.flags&pfssPAWS != 0 && dst.flags&pfssPAWS != 0
	established := c.srcState >= tcpsEstablished && c.dstState >= tcpsEstablished
	switch {
	case gotTS && paws:
		// The most the side's clock can have run since its last
		// timestamp, with pf's leeway.
		fromLast := uint32((c.now - src.last + tsDiff) * tsMaxFreq)
		if established && (seqLT(tsval, dst.tsecr) || seqGT(tsval, src.tsval+fromLast) ||
			tsecr != 0 && (seqGT(tsecr, dst.tsval) || seqLT(tsecr, dst.tsval0))) {
			return false
		}
	case !gotTS && flags&thRST == 0 && paws &&
		(c.srcState == tcpsEstablished && c.dstState == tcpsEstablished || c.plen > 0 || flags&thSYN != 0):
		// Timestamps are optional, but a side that sent its data
		// with them must go on doing so.
		if c.plen > 0 && src.flags&pfssDataTS != 0 {
			return false
		}
	}

	// Whether the side's data carries timestamps is decided by its first.
	if c.plen > 0 && src.flags&(pfssTimestamp|pfssDataTS|pfssDataNoTS) == pfssTimestamp {
		if gotTS {
			src.flags |= pfssDataTS
		} else {
			src.flags |= pfssDataNoTS
		}
	}

	// The PAWS values; checking starts once a timestamp was echoed.
	if gotTS && src.flags&(pfssPAWSIdled|pfssTimestamp) == pfssTimestamp {
		src.last = c.now
		if seqGEQ(tsval, src.tsval) || src.flags&pfssPAWS == 0 {
			src.tsval = tsval
		}
		if tsecr != 0 {
			if seqGEQ(tsecr, src.tsecr) || src.flags&pfssPAWS == 0 {
				src.tsecr = tsecr
			}
			if src.flags&pfssPAWS == 0 && (seqLT(tsval, src.tsval0) || src.tsval0 == 0) {
				src.tsval0 = tsval
			}
			src.flags |= pfssPAWS
		}
	}
	return true
}

// trackBadTimestamp is trackScrubbedLocked's verdict on a segment whose
// timestamps pf drops (bad-timestamp).
const trackBadTimestamp trackResult = 255

// trackScrubbedLocked is trackTCP for p, a segment of s, a state under
// reassemble tcp; sh is the shard of s's wire key, locked. The side that
// sends p starts with its first packet, and the segment's timestamps
// are normalised once it passed the window checks. A segment dropped for
// its timestamps leaves the state as it was: pf_tcp_track_full
// normalises before it moves the window.
func (f *Filter) trackScrubbedLocked(s *state, sh *shard, p *packet.Packet, pd *pdesc, g *tcpSeg, fromSrc bool, now int64) trackResult {
	ts := sh.ts[s]
	if ts == nil {
		return trackTCP(s, g, fromSrc)
	}
	si, di := 0, 1
	if !fromSrc {
		si, di = 1, 0
	}
	m := &p.Meta
	th := header.TCP(p.Bytes()[m.L4:])
	n := tcpOptEnd(th, int(m.L3)+pd.iplen-int(m.L4))
	if ts[si].flags&pfssOn == 0 {
		ts[si].init(th, n, now, f.rnd)
	}
	src, dst, timeout := s.src, s.dst, s.timeout
	tr := trackTCP(s, g, fromSrc)
	if tr == trackMismatch {
		return tr
	}
	c := tsCheck{partial: nat.PartialTCP(p), plen: g.plen, srcState: src.state, dstState: dst.state, creation: int64(s.creation), now: now}
	if !fromSrc {
		c.srcState, c.dstState = dst.state, src.state
	}
	if !normalize(th, n, &ts[si], &ts[di], &c) {
		s.src, s.dst, s.timeout = src, dst, timeout
		return trackBadTimestamp
	}
	return tr
}

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

package filter

import "github.com/hostnet/hostnet/dataplane/header"

// TCP flags.
const (
	thFIN = 0x01
	thSYN = 0x02
	thRST = 0x04
	thPSH = 0x08
	thACK = 0x10
	thURG = 0x20
)

const (
	wscaleFlag = 0x80
	wscaleMask = 0x0f
	// maxAckWindow is pf's MAXACKWINDOW: how far an ACK may skew.
	maxAckWindow = 0xffff + 1500
	tcpMaxWin    = 65535
)

func seqGT(a, b uint32) bool  { return int32(a-b) > 0 }
func seqGEQ(a, b uint32) bool { return int32(a-b) >= 0 }

// tcpSeg is what tracking needs of a TCP segment.
type tcpSeg struct {
	seq, ack uint32
	win      uint16
	flags    uint8
	plen     uint32 // payload bytes
	wscale   uint8  // the SYN's window scale option, wscaleFlag|shift; 0 none
}

// parseSeg reads the segment of t (a TCP header with its options, from a
// datagram whose TCP part is seglen bytes).
func parseSeg(t header.TCP, seglen int) tcpSeg {
	var s tcpSeg
	s.parse(t, seglen)
	return s
}

// parse is parseSeg in place, for the fast path: it stores the fields one
// by one, so that trackTCP's loads of them are forwarded from those
// stores (a struct built whole and copied is read back as wide loads
// that the small stores cannot forward, a stall per packet).
func (s *tcpSeg) parse(t header.TCP, seglen int) {
	s.seq, s.ack, s.win, s.flags = t.Seq(), t.Ack(), t.Window(), t.Flags()
	off := t.DataOffset()
	s.plen, s.wscale = 0, 0
	if seglen > off {
		s.plen = uint32(seglen - off)
	}
	if s.flags&thSYN != 0 && off > header.TCPMinSize && off <= len(t) {
		s.wscale = wscaleOption(t[header.TCPMinSize:off])
	}
}

// wscaleOption finds the window scale option (pf_get_wscale).
func wscaleOption(o []byte) uint8 {
	for len(o) > 0 {
		switch o[0] {
		case 0: // end of options
			return 0
		case 1: // no-op
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			return 0
		}
		if o[0] == 3 && o[1] >= 3 {
			ws := o[2]
			if ws > 14 {
				ws = 14
			}
			return ws | wscaleFlag
		}
		o = o[o[1]:]
	}
	return 0
}

// initTCP sets up a new state's peers from the SYN that creates it
// (pf_create_state).
func initTCP(s *state, g *tcpSeg) {
	s.src.seqlo = g.seq
	s.src.seqhi = g.seq + g.plen + 1
	if g.flags&thSYN != 0 {
		s.src.seqhi++
		s.src.wscale = g.wscale
	}
	mw := uint32(g.win)
	if mw < 1 {
		mw = 1
	}
	if s.src.wscale&wscaleMask != 0 {
		sh := s.src.wscale & wscaleMask
		mw = (mw + 1<<sh - 1) >> sh
	}
	s.src.maxWin = uint16(mw)
	if g.flags&thFIN != 0 {
		s.src.seqhi++
	}
	s.dst.seqhi = 1
	s.dst.maxWin = 1
	s.src.state = tcpsSynSent
	s.dst.state = tcpsClosed
	s.timeout = tmTCPFirst
}

// trackResult is the outcome of tracking a segment.
type trackResult uint8

const (
	trackOK          trackResult = iota
	trackLoose                   // passed by the loose check: no timeout refresh
	trackMismatch                // state-mismatch: drop
	trackEstablished             // ok, and the connection just became established
)

// trackTCP is pf_tcp_track_full without modulation or timestamp
// scrubbing: fromSrc says the segment comes from the state's creator.
func trackTCP(s *state, g *tcpSeg, fromSrc bool) trackResult {
	src, dst := &s.src, &s.dst
	if !fromSrc {
		src, dst = dst, src
	}
	var sws, dws uint8
	if src.wscale != 0 && dst.wscale != 0 && g.flags&thSYN == 0 {
		sws, dws = src.wscale&wscaleMask, dst.wscale&wscaleMask
	}
	win := uint32(g.win)
	seq, ack := g.seq, g.ack
	origSeq := seq
	var end uint32
	if src.seqlo == 0 {
		// First packet from this end: set up its state.
		if g.flags&thSYN != 0 && dst.wscale&wscaleFlag != 0 {
			src.wscale = g.wscale
			if src.wscale&wscaleFlag != 0 {
				sws = src.wscale & wscaleMask
				win = (win + 1<<sws - 1) >> sws
				dws = dst.wscale & wscaleMask
			} else {
				mw := uint32(dst.maxWin) << (dst.wscale & wscaleMask)
				if mw > tcpMaxWin {
					mw = tcpMaxWin
				}
				dst.maxWin = uint16(mw)
				dst.wscale = 0
			}
		}
		end = seq + g.plen
		if g.flags&thSYN != 0 {
			end++
		}
		if g.flags&thFIN != 0 {
			end++
		}
		src.seqlo = seq
		if src.state < tcpsSynSent {
			src.state = tcpsSynSent
		}
		w := uint32(dst.maxWin) << dws
		if w < 1 {
			w = 1
		}
		if src.seqhi == 1 || seqGEQ(end+w, src.seqhi) {
			src.seqhi = end + w
		}
		if win > uint32(src.maxWin) {
			src.maxWin = uint16(min(win, 0xffff))
		}
	} else {
		end = seq + g.plen
		if g.flags&thSYN != 0 {
			end++
		}
		if g.flags&thFIN != 0 {
			end++
		}
	}
	if g.flags&thACK == 0 {
		ack = dst.seqlo
	} else if ack == 0 && g.flags&(thACK|thRST) == thACK|thRST || dst.state < tcpsSynSent {
		ack = dst.seqlo
	}
	if seq == end {
		seq = src.seqlo
		end = seq
	}
	ackskew := int64(int32(dst.seqlo - ack))
	slide := func() {
		if uint32(src.maxWin) < win {
			src.maxWin = uint16(min(win, 0xffff))
		}
		if seqGT(end, src.seqlo) {
			src.seqlo = end
		}
		w := win << sws
		if seqGEQ(ack+w, dst.seqhi) {
			if w < 1 {
				w = 1
			}
			dst.seqhi = ack + w
		}
	}
	if seqGEQ(src.seqhi, end) &&
		seqGEQ(seq, src.seqlo-(uint32(dst.maxWin)<<dws)) &&
		ackskew >= -maxAckWindow &&
		ackskew <= maxAckWindow<<sws &&
		(g.flags&thRST == 0 || origSeq == src.seqlo || origSeq == src.seqlo+1 || origSeq+1 == src.seqlo) {
		slide()
		res := trackOK
		if g.flags&thSYN != 0 && src.state < tcpsSynSent {
			src.state = tcpsSynSent
		}
		if g.flags&thFIN != 0 && src.state < tcpsClosing {
			src.state = tcpsClosing
		}
		if g.flags&thACK != 0 {
			switch dst.state {
			case tcpsSynSent:
				dst.state = tcpsEstablished
				if src.state == tcpsEstablished {
					res = trackEstablished
				}
			case tcpsClosing:
				dst.state = tcpsFinWait2
			}
		}
		if g.flags&thRST != 0 {
			src.state, dst.state = tcpsTimeWait, tcpsTimeWait
		}
		s.timeout = tcpTimeout(src.state, dst.state)
		return res
	}
	if (dst.state < tcpsSynSent || dst.state >= tcpsFinWait2 || src.state >= tcpsFinWait2) &&
		seqGEQ(src.seqhi+maxAckWindow, end) &&
		seqGEQ(seq, src.seqlo-maxAckWindow) {
		slide()
		if g.flags&thFIN != 0 && src.state < tcpsClosing {
			src.state = tcpsClosing
		}
		if g.flags&thRST != 0 {
			src.state, dst.state = tcpsTimeWait, tcpsTimeWait
		}
		return trackLoose
	}
	return trackMismatch
}

// tcpTimeout picks the timeout after a valid segment (PF.md 4.3).
func tcpTimeout(a, b uint8) uint8 {
	switch {
	case a >= tcpsFinWait2 && b >= tcpsFinWait2:
		return tmTCPClosed
	case a >= tcpsClosing && b >= tcpsClosing:
		return tmTCPFinWait
	case a < tcpsEstablished || b < tcpsEstablished:
		return tmTCPOpening
	case a >= tcpsClosing || b >= tcpsClosing:
		return tmTCPClosing
	}
	return tmTCPEstablished
}

// tcpNormalize reports whether pf_normalize_tcp lets flags through: it
// drops SYN+RST, segments with none of SYN, ACK and RST, and FIN, PSH or
// URG without ACK. SYN+FIN has its FIN cleared (newFlags).
func tcpNormalize(flags uint8) (newFlags uint8, ok bool) {
	if flags&thSYN != 0 {
		if flags&thRST != 0 {
			return flags, false
		}
		if flags&thFIN != 0 {
			flags &^= thFIN
		}
	} else if flags&(thACK|thRST) == 0 {
		return flags, false
	}
	if flags&thACK == 0 && flags&(thFIN|thPSH|thURG) != 0 {
		return flags, false
	}
	return flags, true
}

package filter

import (
	"encoding/binary"
	"io"
	"net/netip"
	"sync"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// PflogHdrLen is the size of struct pfloghdr (if_pflog.h PFLOG_REAL_HDRLEN).
const PflogHdrLen = 100

// LinkTypePFLOG is DLT_PFLOG, the pcap link type of pflog captures.
const LinkTypePFLOG = 117

// OpenBSD's address family numbers, as the pflog header carries them.
const (
	afInet  = 2
	afInet6 = 24
)

// noPID is OpenBSD's NO_PID (PID_MAX + 1), the pid of a log without
// `log (user)`.
const noPID = 99999 + 1

// Pflog writes logged packets as a pcap stream of link type 117, each
// preceded by pf's 100-byte pflog header (PF.md 6), readable by tcpdump.
// It is safe for concurrent use; writes are serialised.
type Pflog struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error
}

// NewPflog writes the pcap file header to w and returns the log. The
// caller keeps w (a file for `-l FILE`) and closes it.
func NewPflog(w io.Writer) (*Pflog, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535+PflogHdrLen)
	binary.LittleEndian.PutUint32(h[20:], LinkTypePFLOG)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Pflog{w: w, buf: make([]byte, 0, 2048)}, nil
}

// Err returns the first write error, after which nothing more is
// written.
func (l *Pflog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// logEntry is one pflog record before encoding.
type logEntry struct {
	af        uint8
	action    uint8
	reason    uint8
	ifname    string
	ruleset   string
	rulenr    uint32
	subrulenr uint32
	dir       Dir
	rewritten bool
	saddr     netip.Addr
	daddr     netip.Addr
	sport     uint16
	dport     uint16
	payload   []byte
	stampNS   int64
}

// encodeHeader fills the 100-byte pfloghdr: rule numbers and ports in
// network order, uid and pid in host (little-endian) order as OpenBSD on
// amd64 writes them.
func encodeHeader(h []byte, e *logEntry) {
	clear(h[:PflogHdrLen])
	h[0] = PflogHdrLen
	h[1] = afInet
	if e.af == 6 {
		h[1] = afInet6
	}
	h[2] = e.action
	h[3] = e.reason
	copy(h[4:19], e.ifname)
	copy(h[20:35], e.ruleset)
	binary.BigEndian.PutUint32(h[36:], e.rulenr)
	binary.BigEndian.PutUint32(h[40:], e.subrulenr)
	binary.LittleEndian.PutUint32(h[44:], 0xffffffff) // uid -1
	binary.LittleEndian.PutUint32(h[48:], noPID)
	binary.LittleEndian.PutUint32(h[52:], 0) // rule_uid: loaded by root
	binary.LittleEndian.PutUint32(h[56:], 0) // rule_pid
	h[60] = uint8(e.dir)
	if e.rewritten {
		h[61] = 1
	}
	h[62] = h[1]
	putAddr(h[64:80], e.saddr)
	putAddr(h[80:96], e.daddr)
	binary.BigEndian.PutUint16(h[96:], e.sport)
	binary.BigEndian.PutUint16(h[98:], e.dport)
}

func putAddr(b []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	if a.Is6() {
		v := a.As16()
		copy(b, v[:])
	}
}

func (l *Pflog) write(e *logEntry) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false
	}
	n := 16 + PflogHdrLen + len(e.payload)
	if cap(l.buf) < n {
		l.buf = make([]byte, n)
	}
	b := l.buf[:n]
	sec, usec := e.stampNS/1e9, e.stampNS%1e9/1e3
	binary.LittleEndian.PutUint32(b[0:], uint32(sec))
	binary.LittleEndian.PutUint32(b[4:], uint32(usec))
	binary.LittleEndian.PutUint32(b[8:], uint32(PflogHdrLen+len(e.payload)))
	binary.LittleEndian.PutUint32(b[12:], uint32(PflogHdrLen+len(e.payload)))
	encodeHeader(b[16:], e)
	copy(b[16+PflogHdrLen:], e.payload)
	if _, err := l.w.Write(b); err != nil {
		l.err = err
		return false
	}
	return true
}

func ipPayload(p *packet.Packet, iplen int) []byte {
	b := p.Bytes()[p.Meta.L3:]
	if iplen > 0 && iplen <= len(b) {
		b = b[:iplen]
	}
	return b
}

func stamp(p *packet.Packet, now int64) int64 {
	if p.Stamp != 0 {
		return p.Stamp
	}
	return now * 1e9
}

// logRule logs the packet under rule r (reached through anchor rule am,
// in ruleset rs) during rule evaluation: addresses are the translated
// ones, the payload is not rewritten yet.
func (f *Filter) logRule(c *evalCtx, r, am *rule, rs *ruleset, action, reason uint8) bool {
	if f.log == nil || c.pkt == nil {
		return false
	}
	pd := &c.pd
	e := logEntry{af: pd.af, action: action, reason: reason, dir: pd.dir,
		saddr: pd.src.Addr(), daddr: pd.dst.Addr(), sport: pd.src.Port(), dport: pd.dst.Port(),
		rewritten: pd.src != pd.osrc || pd.dst != pd.odst,
		rulenr:    uint32(r.nr), subrulenr: 0xffffffff,
		payload: ipPayload(c.pkt, pd.iplen), stampNS: stamp(c.pkt, c.now)}
	if pd.ife != nil {
		e.ifname = pd.ife.Name
	}
	if am != nil {
		e.rulenr, e.subrulenr, e.ruleset = uint32(am.nr), uint32(r.nr), rs.name
	}
	return f.log.write(&e)
}

// logState logs a packet that matched state s (log (all), forced logs):
// the header keeps the original addresses, the payload is rewritten.
func (f *Filter) logState(s *state, pd *pdesc, p *packet.Packet, action, reason uint8, now int64) bool {
	if f.log == nil {
		return false
	}
	e := logEntry{af: pd.af, action: action, reason: reason, dir: pd.dir,
		saddr: pd.osrc.Addr(), daddr: pd.odst.Addr(), sport: pd.osrc.Port(), dport: pd.odst.Port(),
		rewritten: s.translated(), rulenr: 0xffffffff, subrulenr: 0xffffffff,
		payload: ipPayload(p, pd.iplen), stampNS: stamp(p, now)}
	if pd.ife != nil {
		e.ifname = pd.ife.Name
	}
	if r := s.rule; r != nil {
		e.rulenr = uint32(r.nr)
		if s.anchorNr != 0 {
			e.rulenr, e.subrulenr, e.ruleset = s.anchorNr-1, uint32(r.nr), r.rs.name
		}
	}
	return f.log.write(&e)
}

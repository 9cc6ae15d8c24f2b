package nat

import (
	"errors"
	"math/rand/v2"
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// PortRange is a range of ports, Low to High inclusive, as pf keeps a
// pool's proxy_port pair. For nat-to the zero range means static-port
// (pfctl encodes it as 0:0) and DefaultNATPorts is what pfctl fills in when
// the rule names no port; a range with Low == High is one port. For
// rdr-to the zero range keeps the destination port, Low alone (High 0)
// maps every port to Low, and a range maps the rule's destination range
// onto it by offset (RdrPort).
type PortRange struct {
	Low, High uint16
}

// DefaultNATPorts is the source port range of a nat-to rule without
// `port` (PF_NAT_PROXY_PORT_LOW and _HIGH in pfctl_parser.h).
var DefaultNATPorts = PortRange{Low: 50001, High: 65535}

// StaticPort is the range of a `static-port` nat-to: keep the source port.
var StaticPort = PortRange{}

// IsStatic reports whether r is the static-port range 0:0.
func (r PortRange) IsStatic() bool { return r.Low == 0 && r.High == 0 }

// Errors of translation. They are sentinel values, so returning one does
// not allocate; the filter drops the packet and counts it under
// packet.DropNATFull (pf's reason is "translate"), except ErrSourceLimit,
// which pf counts as "src-limit".
var (
	// ErrNoFreePort: every candidate tuple of every address the pool
	// type lets pf try is taken.
	ErrNoFreePort = errors.New("nat: no free port")
	// ErrNoAddress: the pool has no address of the packet's family (an
	// interface without one, a pool of the other family).
	ErrNoAddress = errors.New("nat: no address of the family in the pool")
	// ErrSourceLimit: a sticky-address pool's source table is full.
	ErrSourceLimit = errors.New("nat: sticky-address source limit reached")
)

// InUse tells a port search whether a candidate translation is taken. The
// state table lives in the filter, so the search asks it.
type InUse interface {
	// InUse reports whether a state's wire key already holds the
	// translated flow f (on any interface, as pf's pf_find_state_all
	// looks), so that f cannot be given to a new state.
	InUse(f packet.Flow) bool
}

// InUseFunc adapts a function to InUse.
type InUseFunc func(f packet.Flow) bool

// InUse implements InUse.
func (fn InUseFunc) InUse(f packet.Flow) bool { return fn(f) }

// Request is a new state's flow to translate, as NAT needs it.
type Request struct {
	// Flow is the packet's flow as it would leave untranslated (after any
	// rdr-to that also applies): protocol, source and destination.
	Flow packet.Flow
	// ICMPType is the ICMP or ICMPv6 type for those protocols: only an
	// echo request gets a new identifier.
	ICMPType uint8
	// Rand supplies every random choice (the port search's start, a
	// random pool address). It is the caller's, one per worker: replay
	// passes a seeded source so that its output repeats.
	Rand *rand.Rand
	// InUse is asked about each candidate; nil means nothing is taken.
	InUse InUse
}

// findPort searches ports for the source of f translated to addr, as pf's
// pf_get_sport does for one pool address:
//
//   - a protocol without ports (not TCP, UDP, ICMP or ICMPv6) keeps port
//     0, and the address is free if (addr, destination, protocol) is;
//   - ICMP and ICMPv6: only an echo request gets a new identifier, from
//     the whole range 1-65535; other messages keep theirs and are not
//     checked;
//   - the static range 0:0 keeps the source port, a one-port range gives
//     that port; either is checked once;
//   - otherwise a random start in [Low, High] (a reversed range is
//     swapped), walking up to High, then down from start-1 to Low, taking
//     the first port whose tuple is free.
//
// It reports false when nothing is free. pf also skips the host stack's
// in_baddynamic ports during the walk; hostnet's stack binds no ports, so
// there is nothing to skip.
func findPort(req *Request, addr netip.Addr, r PortRange) (uint16, bool) {
	f := req.Flow
	cand := packet.Flow{Proto: f.Proto, Dst: f.Dst}
	taken := func(port uint16) bool {
		cand.Src = netip.AddrPortFrom(addr, port)
		if isICMPProto(f.Proto) {
			// packet.Flow keeps an echo's identifier in both ports.
			cand.Dst = netip.AddrPortFrom(f.Dst.Addr(), port)
		}
		return req.InUse != nil && req.InUse.InUse(cand)
	}
	one := func(port uint16) (uint16, bool) {
		if taken(port) {
			return 0, false
		}
		return port, true
	}
	switch f.Proto {
	case header.ProtoTCP, header.ProtoUDP:
	case header.ProtoICMP, header.ProtoICMPv6:
		if !isEchoRequest(f.Proto, req.ICMPType) {
			return f.Src.Port(), true // non-echo ICMP is left alone
		}
		r = PortRange{Low: 1, High: 65535}
	default:
		return one(0)
	}
	if r.IsStatic() {
		return one(f.Src.Port())
	}
	if r.Low == r.High {
		return one(r.Low)
	}
	low, high := uint32(r.Low), uint32(r.High)
	if low > high {
		low, high = high, low
	}
	cut := low + randN(req.Rand, high-low+1)
	for p := cut; p <= high; p++ {
		if !taken(uint16(p)) {
			return uint16(p), true
		}
	}
	for p := cut; p > low; {
		p--
		if !taken(uint16(p)) {
			return uint16(p), true
		}
	}
	return 0, false
}

// randN returns a uniform number in [0, n) from r, or from the global
// source when r is nil.
func randN(r *rand.Rand, n uint32) uint32 {
	if r == nil {
		return rand.Uint32N(n)
	}
	return r.Uint32N(n)
}

func isICMPProto(p uint8) bool { return p == header.ProtoICMP || p == header.ProtoICMPv6 }

// isEchoRequest reports whether typ is an ICMP or ICMPv6 echo request.
func isEchoRequest(proto, typ uint8) bool {
	if proto == header.ProtoICMP {
		return header.ICMPv4Type(typ) == header.ICMPv4Echo
	}
	return header.ICMPv6Type(typ) == header.ICMPv6EchoRequest
}

// RdrPort returns the destination port an rdr-to gives a packet to port
// dport that matched a rule whose destination port range starts at
// ruleLow, as pf_get_transaddr computes it: a zero range keeps dport, a
// single port (High 0 or High == Low) is used for every packet, and a
// range takes dport's offset from ruleLow modulo its size (`rdr-to port
// N:*` is the range N to N plus the rule's range size), wrapping past
// 65535 to 1.
func RdrPort(r PortRange, dport, ruleLow uint16) uint16 {
	switch {
	case r.IsStatic():
		return dport
	case r.High == 0 || r.High == r.Low:
		return r.Low
	}
	low, high := uint32(r.Low), uint32(r.High)
	if low > high {
		low, high = high, low
	}
	n := (uint32(dport)-uint32(ruleLow))&0xffff%(high-low+1) + low
	if n > 65535 {
		n -= 65535
	}
	return uint16(n)
}

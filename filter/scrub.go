package filter

import (
	"encoding/binary"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
	"github.com/hostnet/hostnet/nat"
)

// actions are the scrub options a rule sets (`scrub (...)`, `set tos`),
// that a packet collects from the rules it matches and that a state keeps
// for all its packets (pf's struct pf_rule_actions: flags, min_ttl,
// set_tos, max_mss; PF.md 1.2 and 7).
type actions struct {
	flags  stateFlags // the scrub flags only (sfScrub)
	minTTL uint8      // 0: none
	setTOS uint8      // with sfSetTOS
	maxMSS uint16     // 0: none
}

// actionsOf is the actions rule r sets.
func actionsOf(r *pfconf.Rule) actions {
	a := actions{minTTL: r.ScrubMinTTL, maxMSS: r.ScrubMaxMSS}
	if r.ScrubNoDF {
		a.flags |= sfNoDF
	}
	if r.ScrubRandomID {
		a.flags |= sfRandomID
	}
	if r.ScrubTCP {
		a.flags |= sfScrubTCP
	}
	if r.SetTOSSet {
		a.flags |= sfSetTOS
		a.setTOS = r.SetTOS
	}
	return a
}

// add joins o, the actions of a rule matched after the ones a holds, to
// a (pf_rule_to_actions): flags accumulate, and each value o sets
// replaces a's.
func (a *actions) add(o *actions) {
	a.flags |= o.flags
	if o.flags&sfSetTOS != 0 {
		a.setTOS = o.setTOS
	}
	if o.minTTL != 0 {
		a.minTTL = o.minTTL
	}
	if o.maxMSS != 0 {
		a.maxMSS = o.maxMSS
	}
}

// rewritesIP reports whether scrub would look at the IP header.
func (a *actions) rewritesIP() bool {
	return a.flags&(sfNoDF|sfRandomID|sfSetTOS) != 0 || a.minTTL != 0
}

// setActions gives the new state s the actions a, for a first packet
// whose TTL or hop limit is ttl.
func (s *state) setActions(a *actions, ttl uint8) {
	s.flags |= a.flags
	s.setTOS = a.setTOS
	s.limits = scrubLimits{ttl: [2]uint8{a.minTTL, a.minTTL}, maxMSS: a.maxMSS}
	if s.tcpScrubbed() {
		s.limits.ttl[0] = max(a.minTTL, ttl)
	}
}

// tcpScrubbed reports whether s normalises its TCP packets' TTL and
// timestamps (`reassemble tcp`); as pf_tcp_track_sloppy, a sloppy state
// does not.
func (s *state) tcpScrubbed() bool {
	return s.flags&(sfScrubTCP|sfSloppy) == sfScrubTCP && s.key[skWire].proto == header.ProtoTCP
}

// actionsLocked returns what s does to a packet from side di (0: from its
// creator), raising that side's TTL floor to ttl first when s normalises
// TCP (pf_normalize_tcp_stateful: a side's packets never leave with a
// TTL lower than the highest it sent). Called with s's lock held.
func (s *state) actionsLocked(di int, ttl uint8) actions {
	if s.tcpScrubbed() && ttl > s.limits.ttl[di] {
		s.limits.ttl[di] = ttl
	}
	return actions{flags: s.flags & sfScrub, minTTL: s.limits.ttl[di], setTOS: s.setTOS, maxMSS: s.limits.maxMSS}
}

// scrubLocked applies s's actions to p, a packet of s from side di, its
// lock held.
func (f *Filter) scrubLocked(s *state, di int, p *packet.Packet) {
	a := s.actionsLocked(di, ipTTL(p))
	f.applyActions(p, &a)
}

// hasActions reports whether s changes its packets at all; a state
// without scrub options costs its packets two tests.
func (s *state) hasActions() bool {
	return s.flags&sfScrub != 0 || s.limits != scrubLimits{}
}

// allowOpts reports whether s's rule has allow-opts.
func (s *state) allowOpts() bool { return s.rule != nil && s.rule.r.AllowOpts }

// applyActions scrubs p's IP header and clamps the MSS of a TCP SYN,
// as a says.
func (f *Filter) applyActions(p *packet.Packet, a *actions) {
	if a.rewritesIP() {
		f.scrub(p, a)
	}
	clampMSS(p, a.maxMSS)
}

// ipTTL returns the TTL or hop limit of the IP packet p.
func ipTTL(p *packet.Packet) uint8 {
	m := &p.Meta
	b := p.Bytes()[m.L3:]
	if m.Kind == packet.KindIPv4 {
		return header.IPv4(b).TTL()
	}
	return header.IPv6(b).HopLimit()
}

// scrub applies a to p's IP header once p is passed (pf_scrub): no-df
// clears IPv4's DF; min-ttl raises a lower TTL or hop limit; set-tos sets
// the IPv4 TOS, keeping its ECN bits, or the whole IPv6 traffic class;
// random-id gives an IPv4 packet that is not a fragment a new
// identification, from the filter's seeded source so that a replay
// repeats it. The IPv4 header checksum is updated incrementally. It
// borrows p and does not allocate.
func (f *Filter) scrub(p *packet.Packet, a *actions) {
	m := &p.Meta
	b := p.Bytes()[m.L3:]
	switch m.Kind {
	case packet.KindIPv4:
		h := header.IPv4(b)
		sum := h.Checksum()
		if a.flags&sfNoDF != 0 && h.DF() {
			old := binary.BigEndian.Uint16(b[6:])
			h.SetFlagsFragOff(h.Flags()&^header.IPv4FlagDF, h.FragOff())
			sum = header.Update16(sum, old, binary.BigEndian.Uint16(b[6:]))
		}
		if t := h.TTL(); t < a.minTTL {
			h.SetTTL(a.minTTL)
			sum = header.UpdateByte(sum, 8 /* TTL */, t, a.minTTL)
		}
		if a.flags&sfSetTOS != 0 {
			old := h.TOS()
			tos := a.setTOS | old&0x03 // IPTOS_ECN_MASK stays
			h.SetTOS(tos)
			sum = header.UpdateByte(sum, 1 /* TOS */, old, tos)
		}
		if a.flags&sfRandomID != 0 && !h.MF() && h.FragOff() == 0 {
			old := h.ID()
			id := uint16(f.rnd.Uint64())
			h.SetID(id)
			sum = header.Update16(sum, old, id)
		}
		h.SetChecksum(sum)
	case packet.KindIPv6:
		h := header.IPv6(b)
		if h.HopLimit() < a.minTTL {
			h.SetHopLimit(a.minTTL)
		}
		if a.flags&sfSetTOS != 0 {
			// pf_scrub writes the whole class, ECN bits included.
			h.SetTrafficClass(a.setTOS)
		}
	}
}

// clampMSS lowers the MSS option of the TCP SYN p to max when it is
// higher (max-mss, pf_normalize_mss), updating the TCP checksum. Other
// packets, and SYNs without the option, are left alone. It borrows p and
// does not allocate.
func clampMSS(p *packet.Packet, max uint16) {
	m := &p.Meta
	if max == 0 || m.Proto != header.ProtoTCP || m.L4 == 0 || m.TCPFlags&thSYN == 0 {
		return
	}
	th := header.TCP(p.Bytes()[m.L4:])
	// The header length comes from the packet: the options must lie
	// inside the IP packet.
	n := tcpOptEnd(th, int(m.L3)+int(m.L3Len)-int(m.L4))
	for i := findTCPOpt(th, header.TCPMinSize, n, tcpOptMSS, tcpOptMSSLen); i >= 0; i = findTCPOpt(th, i+int(th[i+1]), n, tcpOptMSS, tcpOptMSSLen) {
		if binary.BigEndian.Uint16(th[i+2:]) > max {
			var b [2]byte
			binary.BigEndian.PutUint16(b[:], max)
			patchTCP(th, i+2, b[:], nat.PartialTCP(p))
		}
	}
}

const (
	tcpOptMSS    = 2
	tcpOptMSSLen = 4
)

package filter

import "net/netip"

// FlushStates removes every state, as pfctl -F states does, and returns
// how many it removed. Their packets and bytes go to their rules'
// counters, as when a state expires.
func (f *Filter) FlushStates() int {
	return f.removeStates(func(*state) bool { return true })
}

// KillStates removes the states from a source in src to a destination in
// dst, as pfctl -k src [-k dst] does (pf's DIOCKILLSTATES), and returns
// how many it removed. The source and destination are those of the
// connection as its creator sent it: for an outbound state the stack
// side, so that the inside address of a nat-to connection kills it. An
// invalid (zero) prefix matches any address; a valid one matches only
// states of its address family.
func (f *Filter) KillStates(src, dst netip.Prefix) int {
	return f.removeStates(func(s *state) bool {
		k := &s.key[skWire]
		sa, da := k.addr(0), k.addr(1)
		if s.dir() == Out {
			k = &s.key[skStack]
			sa, da = k.addr(1), k.addr(0)
		}
		return prefixHas(src, sa) && prefixHas(dst, da)
	})
}

// prefixHas reports whether a is in p, an invalid p holding every
// address.
func prefixHas(p netip.Prefix, a netip.Addr) bool {
	return !p.IsValid() || p.Addr().Is4() == a.Is4() && p.Contains(a)
}

// removeStates removes the states match selects and returns how many it
// found.
func (f *Filter) removeStates(match func(s *state) bool) int {
	var kill []*state
	f.states.each(func(s *state) {
		if !s.dead() && match(s) {
			kill = append(kill, s)
		}
	})
	for _, s := range kill {
		f.removeState(s) // one that expired meanwhile is skipped
	}
	return len(kill)
}

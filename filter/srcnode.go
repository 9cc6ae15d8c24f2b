package filter

import "net/netip"

// srcKey names a source-tracking node: per rule (`source-track rule`,
// and what max-src-conn implies) or global (nil rule).
type srcKey struct {
	rule *rule
	addr netip.Addr
}

// srcNode is pf's pf_src_node: states and connections of one source.
type srcNode struct {
	states int
	conn   int
	// conn rate: a token count in thousandths, refilled over the rate's
	// seconds (pf_add_threshold / pf_check_threshold).
	rateCount int64
	rateLast  int64
	expire    int64
}

// srcTrack attaches a new state to its source node and enforces
// max-src-states (pf_insert_src_node).
func (f *Filter) srcTrack(s *state, pd *pdesc, now int64) int {
	r := s.rule
	k := srcKey{addr: pd.osrc.Addr()}
	if r.r.SourceTrackRule {
		k.rule = r
	}
	f.srcMu.Lock()
	defer f.srcMu.Unlock()
	n := f.srcNodes[k]
	if n == nil {
		if r.r.MaxSrcNodes != 0 && f.countNodesLocked(r) >= int(r.r.MaxSrcNodes) {
			f.limits[limSrcNodes].Add(1)
			return pfresSrcLimit
		}
		n = &srcNode{}
		f.srcNodes[k] = n
	}
	if r.r.MaxSrcStates != 0 && n.states >= int(r.r.MaxSrcStates) {
		f.limits[limSrcStates].Add(1)
		return pfresSrcLimit
	}
	n.states++
	s.sn = n
	return pfresMatch
}

func (f *Filter) countNodesLocked(r *rule) int {
	c := 0
	for k := range f.srcNodes {
		if k.rule == r {
			c++
		}
	}
	return c
}

// srcRelease detaches a state from its source node.
func (f *Filter) srcRelease(s *state, now int64) {
	if s.sn == nil {
		return
	}
	f.srcMu.Lock()
	s.sn.states--
	if s.sn.states <= 0 {
		s.sn.expire = now
	}
	f.srcMu.Unlock()
}

// srcConnLimit runs when s's TCP connection becomes established
// (pf_src_connlimit): it counts the connection against max-src-conn and
// max-src-conn-rate; over a limit, the source goes into the overload
// table, its states are flushed as the rule says, s is killed, and it
// reports true.
func (f *Filter) srcConnLimit(s *state, now int64) bool {
	r := s.rule
	pr := r.r
	f.srcMu.Lock()
	n := s.sn
	n.conn++
	bad := false
	if pr.MaxSrcConn != 0 && n.conn > int(pr.MaxSrcConn) {
		f.limits[limSrcConn].Add(1)
		bad = true
	}
	if pr.MaxSrcConnRate.Limit != 0 {
		per := int64(pr.MaxSrcConnRate.Seconds)
		limit := int64(pr.MaxSrcConnRate.Limit) * 1000
		// Leak the count at limit per `per` seconds.
		if n.rateLast != 0 {
			n.rateCount -= (now - n.rateLast) * limit / max(per, 1)
			if n.rateCount < 0 {
				n.rateCount = 0
			}
		}
		n.rateLast = now
		n.rateCount += 1000
		if n.rateCount > limit {
			f.limits[limSrcConnRate].Add(1)
			bad = true
		}
	}
	f.srcMu.Unlock()
	if !bad {
		return false
	}
	src := s.key[skWire].addr(0)
	if s.dir() == Out {
		src = s.key[skStack].addr(1)
	}
	if r.overload != nil {
		if r.overload.add(src) {
			f.limits[limOverloadTable].Add(1)
		}
		if pr.Flush {
			var kill []*state
			f.states.each(func(o *state) {
				osrc := o.key[skWire].addr(0)
				if o.dir() == Out {
					osrc = o.key[skStack].addr(1)
				}
				if osrc == src && (pr.FlushGlobal || o.rule == r) {
					kill = append(kill, o)
				}
			})
			for _, o := range kill {
				f.removeState(o)
				f.limits[limOverloadFlush].Add(1)
			}
		}
	}
	f.removeState(s)
	return true
}

// purgeSrcNodes drops nodes without states whose src.track time passed.
func (f *Filter) purgeSrcNodes(rs *Ruleset, now int64) {
	f.srcMu.Lock()
	defer f.srcMu.Unlock()
	for k, n := range f.srcNodes {
		t := int64(rs.timeouts[tmSrcTrack])
		if k.rule != nil {
			t = int64(rs.timeout(k.rule, tmSrcTrack))
		}
		if n.states <= 0 && now >= n.expire+t {
			delete(f.srcNodes, k)
		}
	}
}

package filter

import "github.com/hostnet/hostnet/filter/pfconf"

// Timeout indexes, pf's PFTM_* order (pfconf.TimeoutNames).
const (
	tmTCPFirst = iota
	tmTCPOpening
	tmTCPEstablished
	tmTCPClosing
	tmTCPFinWait
	tmTCPClosed
	tmUDPFirst
	tmUDPSingle
	tmUDPMultiple
	tmICMPFirst
	tmICMPError
	tmOtherFirst
	tmOtherSingle
	tmOtherMultiple
	tmFrag
	tmInterval
	tmAdaptiveStart
	tmAdaptiveEnd
	tmSrcTrack
)

// defaultTimeouts are pf's PFTM_*_VAL (PF.md 4.5).
var defaultTimeouts = [pfconf.NumTimeouts]uint32{
	tmTCPFirst: 120, tmTCPOpening: 30, tmTCPEstablished: 86400,
	tmTCPClosing: 900, tmTCPFinWait: 45, tmTCPClosed: 90,
	tmUDPFirst: 60, tmUDPSingle: 30, tmUDPMultiple: 60,
	tmICMPFirst: 20, tmICMPError: 10,
	tmOtherFirst: 60, tmOtherSingle: 30, tmOtherMultiple: 60,
	tmFrag: 60, tmInterval: 10,
	tmAdaptiveStart: 60000, tmAdaptiveEnd: 120000, tmSrcTrack: 0,
}

// timeout returns the timeout i of a state of rule r: the rule's own when
// it set one, else the ruleset's.
func (rs *Ruleset) timeout(r *rule, i int) uint32 {
	if r != nil && r.timeouts[i] != 0 {
		return r.timeouts[i]
	}
	return rs.timeouts[i]
}

// expiresAt returns when a state idle since last with timeout index tm
// expires, scaled as pf_state_expires does when the state count passes
// adaptive.start (the rule's own adaptive values and state count when it
// set them).
func (rs *Ruleset) expiresAt(r *rule, tm uint8, last int64, states int64) int64 {
	t := int64(rs.timeout(r, int(tm)))
	start, end := int64(rs.timeouts[tmAdaptiveStart]), int64(rs.timeouts[tmAdaptiveEnd])
	if r != nil && (r.timeouts[tmAdaptiveStart] != 0 || r.timeouts[tmAdaptiveEnd] != 0) {
		start, end = int64(r.timeouts[tmAdaptiveStart]), int64(r.timeouts[tmAdaptiveEnd])
		states = r.states.Load()
	}
	if end != 0 && start != 0 && states > start {
		if states >= end {
			return last
		}
		t = t * (end - states) / (end - start)
	}
	return last + t
}

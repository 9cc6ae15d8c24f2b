package l3

import "sync"

// OpenBSD's rate limits, per second.
const (
	icmpErrPPS = 100 // net.inet.icmp.errppslimit, net.inet6.icmp6.errppslimit
	rstPPS     = 100 // net.inet.tcp.rstppslimit
)

// limiter is a token bucket on the clock Input is given: rate tokens a
// second, at most rate in the bucket. It is safe for concurrent use.
type limiter struct {
	mu     sync.Mutex
	rate   int64
	tokens int64 // in 1e-9 tokens
	last   int64 // nanoseconds
	primed bool
}

func (l *limiter) init(rate int64) { l.rate = rate }

// allow reports whether one more message may go at time now, and takes its
// token if so.
func (l *limiter) allow(now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	const full = 1e9
	if !l.primed {
		l.primed, l.last, l.tokens = true, now, l.rate*full
	}
	if d := now - l.last; d > 0 {
		d = min(d, 10*full) // the bucket fills in a second; keep the product in range
		l.tokens = min(l.tokens+d*l.rate, l.rate*full)
		l.last = now
	}
	if l.tokens < full {
		return false
	}
	l.tokens -= full
	return true
}

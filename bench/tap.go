package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/hostnet/hostnet/internal/netns"
)

// TapOptions say how Tap measures.
type TapOptions struct {
	// Hostnet is the hostnet binary that Tap starts as `hostnet run`.
	Hostnet string
	// Duration is the length of each measurement, rounded up to whole
	// seconds (iperf3 runs whole seconds), at least one.
	Duration time.Duration
	// Prefix starts the name of every namespace Tap makes; it must be
	// unique to the run ("hnb" and the PID when empty).
	Prefix string
	// Progress, when set, gets a line per step.
	Progress io.Writer
}

// Path is what Tap measured between the two namespaces over one path.
// Rates are of what the receiver got; latencies are round trips.
type Path struct {
	Name           string  `json:"name"` // "hostnet", "linux bridge"
	TCPGbps        float64 `json:"tcp_gbit_per_s"`
	TCPRetransmits int     `json:"tcp_retransmits"`
	UDPSentPPS     float64 `json:"udp64_sent_pps"`
	UDPRecvPPS     float64 `json:"udp64_received_pps"`
	UDPLossPercent float64 `json:"udp64_loss_percent"`
	Pings          int     `json:"pings"` // answered
	PingLost       int     `json:"ping_lost"`
	PingAvgUs      float64 `json:"ping_avg_us"`
	PingP50Us      float64 `json:"ping_p50_us"`
	PingP99Us      float64 `json:"ping_p99_us"`
	// Errors say what could not be built or measured on this path; its
	// figures are then zero.
	Errors []string `json:"errors,omitempty"`
}

// TapResult is what Tap measured over hostnet and over the Linux bridge,
// between the same two namespaces in the same run.
type TapResult struct {
	Prefix  string  `json:"prefix"`  // of the namespaces' names
	Seconds float64 `json:"seconds"` // of each iperf3 run and each ping series
	Hostnet Path    `json:"hostnet"`
	Linux   Path    `json:"linux_bridge"`
}

// TapTools are the commands Tap runs.
var TapTools = []string{"ip", "ss", "iperf3", "ping"}

// MissingTools returns the commands of TapTools that lookPath does not
// find, and the packages that have them.
func MissingTools(lookPath func(string) (string, error)) (cmds, pkgs []string) {
	return netns.Missing(lookPath, TapTools...)
}

var pingTime = regexp.MustCompile(`time=([0-9.]+) ms`)

// PingTimes returns the round-trip times, in microseconds, of the replies
// that ping(8) printed ("time=0.045 ms"), or an error if there were none.
func PingTimes(out string) ([]float64, error) {
	var rtts []float64
	for _, m := range pingTime.FindAllStringSubmatch(out, -1) {
		ms, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return nil, fmt.Errorf("reply time %q: %v", m[1], err)
		}
		rtts = append(rtts, ms*1000)
	}
	if len(rtts) == 0 {
		return nil, errors.New("no reply")
	}
	return rtts, nil
}

// rttStats returns the mean, the median and the 99th percentile
// (nearest rank) of rtts, which it sorts.
func rttStats(rtts []float64) (avg, p50, p99 float64) {
	if len(rtts) == 0 {
		return 0, 0, 0
	}
	slices.Sort(rtts)
	var sum float64
	for _, v := range rtts {
		sum += v
	}
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(rtts)))) - 1
		return rtts[max(0, min(i, len(rtts)-1))]
	}
	return sum / float64(len(rtts)), rank(0.5), rank(0.99)
}

package dataplane

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// DropCount is a number of frames dropped for one reason.
type DropCount struct {
	Reason packet.DropReason `json:"-"`
	Name   string            `json:"reason"`
	N      uint64            `json:"count"`
}

// Stats is a snapshot of one interface's counters.
type Stats struct {
	Name       string      `json:"name"`
	Kind       string      `json:"kind"`
	InPackets  uint64      `json:"in_packets"`
	InBytes    uint64      `json:"in_bytes"`
	OutPackets uint64      `json:"out_packets"`
	OutBytes   uint64      `json:"out_bytes"`
	Dropped    uint64      `json:"dropped"`
	Drops      []DropCount `json:"drops,omitempty"`
	// Bridge holds a bridge's address-table counters; nil for other kinds.
	Bridge *BridgeStats `json:"bridge,omitempty"`
}

// BridgeStats are a bridge's address-table counters.
type BridgeStats struct {
	Addresses int    `json:"addresses"`  // entries in the table now
	Learned   uint64 `json:"learned"`    // addresses learned
	Moved     uint64 `json:"moved"`      // entries that moved to another member
	TableFull uint64 `json:"table_full"` // addresses not learned, or statics refused, at maxaddr
}

// Stats returns a snapshot of the counters of ifc, with the non-zero drop
// reasons in the order of packet.DropReason.
func (ifc *Interface) Stats() Stats {
	c := &ifc.Counters
	s := Stats{
		Name: ifc.Name, Kind: ifc.Kind.String(),
		InPackets: c.InPackets.Load(), InBytes: c.InBytes.Load(),
		OutPackets: c.OutPackets.Load(), OutBytes: c.OutBytes.Load(),
	}
	for r := packet.DropReason(1); r < packet.NumDropReasons; r++ {
		if n := c.Drops(r); n > 0 {
			s.Drops = append(s.Drops, DropCount{Reason: r, Name: r.String(), N: n})
			s.Dropped += n
		}
	}
	return s
}

// Stats returns the counters of every interface, sorted by name.
func (d *Dataplane) Stats() []Stats {
	var out []Stats
	for _, ifc := range d.Interfaces() {
		s := ifc.Stats()
		if r := d.Router(); r != nil && ifc.stack {
			// The stack counts its own drops (no route, TTL, ARP).
			s.addDrops(r.Counters(int(ifc.Index)))
		}
		if br := d.Bridge(ifc.Name); br != nil {
			c := br.Counters()
			s.Bridge = &BridgeStats{Addresses: br.Table().Len(), Learned: c.Learned.Load(), Moved: c.Moves.Load(), TableFull: c.Full.Load()}
		}
		out = append(out, s)
	}
	return out
}

// WriteStats prints stats as a table: per interface, frames in, out, and
// dropped by reason.
func WriteStats(w io.Writer, stats []Stats) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "INTERFACE\tKIND\tIN\tOUT\tDROPPED\tREASONS\n")
	for _, s := range stats {
		var reasons []string
		for _, d := range s.Drops {
			reasons = append(reasons, fmt.Sprintf("%s=%d", d.Name, d.N))
		}
		r := strings.Join(reasons, " ")
		if r == "" {
			r = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", s.Name, s.Kind, s.InPackets, s.OutPackets, s.Dropped, r)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range stats {
		if b := s.Bridge; b != nil {
			fmt.Fprintf(w, "%s: %d addresses in the table; %d learned, %d moved, %d refused (table full)\n",
				s.Name, b.Addresses, b.Learned, b.Moved, b.TableFull)
		}
	}
	return nil
}

// addDrops adds the drops counted in c to s, keeping reason order.
func (s *Stats) addDrops(c *packet.Counters) {
	if c == nil {
		return
	}
	for r := packet.DropReason(1); r < packet.NumDropReasons; r++ {
		n := c.Drops(r)
		if n == 0 {
			continue
		}
		s.Dropped += n
		i := 0
		for i < len(s.Drops) && s.Drops[i].Reason < r {
			i++
		}
		if i < len(s.Drops) && s.Drops[i].Reason == r {
			s.Drops[i].N += n
			continue
		}
		s.Drops = append(s.Drops, DropCount{})
		copy(s.Drops[i+1:], s.Drops[i:])
		s.Drops[i] = DropCount{Reason: r, Name: r.String(), N: n}
	}
}

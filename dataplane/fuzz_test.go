package dataplane

import (
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// FuzzInput runs arbitrary frames through the frame path of a bridge with
// a trunk, a vlan and a QinQ member: it must never panic, and every frame
// must be counted in on the interface it arrived on.
func FuzzInput(f *testing.F) {
	plain := udpFrame(macA, macB, 60)
	f.Add(byte(0), plain)                                                                 // untagged unicast on em1
	f.Add(byte(1), udpFrame(macB, header.BroadcastMAC, 60))                               // broadcast from a tap
	f.Add(byte(0), tagged(plain, header.EtherTypeDot1Q, 10, 3))                           // vlan10's VID
	f.Add(byte(0), tagged(plain, header.EtherTypeDot1Q, 0, 6))                            // priority tag
	f.Add(byte(0), tagged(tagged(plain, header.EtherTypeDot1Q, 7, 0), 0x88a8, 20, 0))     // QinQ to svlan20's vlan
	f.Add(byte(0), tagged(tagged(plain, header.EtherTypeDot1Q, 10, 0), 0x8100, 0, 0))     // priority tag over a tag
	f.Add(byte(2), []byte{0x01, 0x80, 0xc2, 0, 0, 0x0e, 2, 0, 0, 0, 0, 1, 0x88, 0xcc, 0}) // LLDP runt
	f.Add(byte(0), plain[:20])                                                            // truncated IPv4
	f.Add(byte(1), []byte{})                                                              // empty
	spec := load(f, map[string]string{
		"hostname.bridge0": "add em1\nadd tap0\nadd vlan10\nadd vlan7\nup\n",
		"hostname.vlan10":  "parent em2 vnetid 10 up\n",
		"hostname.svlan20": "parent em2 vnetid 20 up\n",
		"hostname.vlan7":   "parent svlan20 vnetid 7 up\n",
	})
	d, ports := memDataplane(f, spec)
	for _, p := range ports {
		p.SetDiscard(true)
	}
	names := []string{"em1", "tap0", "em2"}
	w := d.NewWorker()
	f.Fuzz(func(t *testing.T, which byte, frame []byte) {
		if len(frame) > 9100 {
			return
		}
		ifc, _ := d.Interface(names[int(which)%len(names)])
		before := ifc.Counters.InPackets.Load()
		w.SetClock(int64(which) * 1e9)
		p := d.Pool().Get()
		p.SetFrame(frame)
		w.Input(ifc, p)
		if got := ifc.Counters.InPackets.Load(); got != before+1 {
			t.Fatalf("%s counted %d frames in, want %d", ifc.Name, got, before+1)
		}
	})
}

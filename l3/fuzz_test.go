package l3

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
)

// FuzzInput feeds arbitrary frames to a forwarding stack that knows its
// guest and gateway: whatever arrives, Input must not panic, and what it
// sends must be well-formed Ethernet.
func FuzzInput(f *testing.F) {
	f.Add(echo4(guestIP, vetherIP, vetherMAC, 64, 8))                                                  // echo to us
	f.Add(echo4(guestIP, remoteIP, vetherMAC, 1, 8))                                                   // TTL 1, forwarded
	f.Add(udp4(guestIP, remoteIP, vetherMAC, false, 2000))                                             // fragmented on em0
	f.Add(tcp4(guestIP, vetherIP, vetherMAC, true, false))                                             // SYN to a closed port
	f.Add(echo6(guestMAC, guest6, vether6, vetherMAC, 64, 8))                                          // echo6 to us
	f.Add(nsFrame(guestMAC, guest6, vether6, true))                                                    // neighbour solicitation
	f.Add(naFrame(gwMAC, gw6, em06, vetherMAC, true, true))                                            // advertisement on the wrong link
	f.Add(arpFrame(layers.ARPRequest, guestMAC, guestIP, header.MAC{}, vetherIP, header.BroadcastMAC)) // who-has
	f.Add(udp6(guest6, remote6, vetherMAC, 64, 1500))                                                  // too big for em0
	f.Fuzz(func(t *testing.T, b []byte) {
		e := newEnv(t, true)
		e.learnGuest(0)
		e.learnGateway(0)
		if len(b) >= 6 {
			copy(b, vetherMAC[:]) // to us, so that it gets past the MAC check
		}
		e.input(vetherIdx, b, sec)
		e.r.Tick(2 * sec)
		for _, fr := range e.out.take() {
			if len(fr.b) < header.EthernetSize {
				t.Fatalf("sent a %d-byte frame", len(fr.b))
			}
		}
	})
}

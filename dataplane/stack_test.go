package dataplane

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// TestRoutedQinQ routes a packet that came in under two tags (svlan1 and
// vlan1 on em1) out under two others (vlan2 on svlan2 on em0): the stack
// forwards through the reader's worker, and the tags of the way in must
// not count against those of the way out.
func TestRoutedQinQ(t *testing.T) {
	d, ports := memDataplane(t, load(t, map[string]string{
		"hostname.em1":    "up\n",
		"hostname.svlan1": "parent em1 vnetid 200 up\n",
		"hostname.vlan1":  "parent svlan1 vnetid 2001\ninet 10.1.0.1/24\nup\n",
		"hostname.em0":    "up\n",
		"hostname.svlan2": "parent em0 vnetid 300 up\n",
		"hostname.vlan2":  "parent svlan2 vnetid 3001\ninet 10.2.0.1/24\nup\n",
		"sysctl.conf":     "net.inet.ip.forwarding=1\n",
	}))
	w := d.NewWorker()
	w.SetClock(1e9)
	vlan1, _ := d.Interface("vlan1")
	vlan2, _ := d.Interface("vlan2")
	if err := d.Router().AddStaticNeighbor(int(vlan2.Index), netip.MustParseAddr("10.2.0.5"), macB); err != nil {
		t.Fatal(err)
	}
	ports["em0"].Take() // the gratuitous ARPs
	ports["em1"].Take()

	f := udpFrame(macA, vlan1.MAC, 60)
	ip := f[14:34]
	copy(ip[12:16], []byte{10, 1, 0, 5})
	copy(ip[16:20], []byte{10, 2, 0, 5})
	binary.BigEndian.PutUint16(ip[10:], 0)
	binary.BigEndian.PutUint16(ip[10:], ^header.Checksum(ip, 0))
	binary.BigEndian.PutUint16(f[40:], 0) // no UDP checksum
	in := tagged(tagged(f, header.EtherTypeDot1Q, 2001, 0), 0x88a8, 200, 0)
	inject(w, d, "em1", in)

	got := ports["em0"].Take()
	if len(got) != 1 {
		t.Fatalf("em0 sent %d frames, want 1 (drops: %+v %+v)", len(got), vlan2.Stats().Drops, d.Stats())
	}
	b := got[0]
	if tpid, vid := binary.BigEndian.Uint16(b[12:]), binary.BigEndian.Uint16(b[14:])&0xfff; tpid != 0x88a8 || vid != 300 {
		t.Errorf("outer tag %#04x vid %d, want 0x88a8 vid 300", tpid, vid)
	}
	if tpid, vid := binary.BigEndian.Uint16(b[16:]), binary.BigEndian.Uint16(b[18:])&0xfff; tpid != header.EtherTypeDot1Q || vid != 3001 {
		t.Errorf("inner tag %#04x vid %d, want 0x8100 vid 3001", tpid, vid)
	}
	if ttl := b[22+8]; ttl != 63 {
		t.Errorf("TTL %d, want 63 (forwarded)", ttl)
	}
}

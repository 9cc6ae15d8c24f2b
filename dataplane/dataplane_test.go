package dataplane

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/memport"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// load builds a Spec from files written to a temporary directory.
func load(tb testing.TB, files map[string]string) *config.Spec {
	tb.Helper()
	dir := tb.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	spec, _, err := config.Load(dir)
	if err != nil {
		tb.Fatalf("config.Load: %v", err)
	}
	return spec
}

// memDataplane builds spec with a memport on every port interface.
func memDataplane(tb testing.TB, spec *config.Spec) (*Dataplane, map[string]*memport.Port) {
	tb.Helper()
	ports := map[string]*memport.Port{}
	d, err := New(spec, Options{Port: func(ifc *Interface) (packet.Port, error) {
		p := memport.New(ifc.Name, 1024)
		ports[ifc.Name] = p
		return p, nil
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d, ports
}

// udpFrame returns an untagged IPv4/UDP frame of n bytes (at least 42)
// from src to dst, with a valid IPv4 header.
func udpFrame(src, dst header.MAC, n int) []byte {
	b := make([]byte, n)
	e := header.Ethernet(b)
	e.SetDst(dst)
	e.SetSrc(src)
	e.SetType(header.EtherTypeIPv4)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(n-14))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:16], []byte{10, 0, 0, 1})
	copy(ip[16:20], []byte{10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^header.Checksum(ip[:20], 0))
	binary.BigEndian.PutUint16(ip[20:], 4000)
	binary.BigEndian.PutUint16(ip[22:], 5000)
	binary.BigEndian.PutUint16(ip[24:], uint16(n-34))
	return b
}

// tagged returns frame with an 802.1Q tag (tpid, vid, pcp) inserted.
func tagged(frame []byte, tpid, vid uint16, pcp uint8) []byte {
	out := append([]byte(nil), frame[:12]...)
	out = binary.BigEndian.AppendUint16(out, tpid)
	out = binary.BigEndian.AppendUint16(out, uint16(pcp)<<13|vid)
	return append(out, frame[12:]...)
}

var (
	macA = header.MAC{2, 0, 0, 0, 0, 0xa}
	macB = header.MAC{2, 0, 0, 0, 0, 0xb}
)

func inject(w *Worker, d *Dataplane, ifname string, frame []byte) {
	ifc, _ := d.Interface(ifname)
	p := d.Pool().Get()
	p.SetFrame(frame)
	w.Input(ifc, p)
}

func TestBridgeForward(t *testing.T) {
	d, ports := memDataplane(t, load(t, map[string]string{"hostname.bridge0": "add em1\nadd tap0\nadd tap1\nup\n"}))
	w := d.NewWorker()
	w.SetClock(1e9)
	inject(w, d, "tap0", udpFrame(macB, macA, 60))
	if got := len(ports["em1"].Take()); got != 1 {
		t.Errorf("em1 got %d frames of the flood, want 1", got)
	}
	if got := len(ports["tap1"].Take()); got != 1 {
		t.Errorf("tap1 got %d frames of the flood, want 1", got)
	}
	inject(w, d, "em1", udpFrame(macA, macB, 60))
	if got := len(ports["tap0"].Take()); got != 1 {
		t.Errorf("tap0 got %d frames, want 1 (B learned there)", got)
	}
	if got := len(ports["tap1"].Take()); got != 0 {
		t.Errorf("tap1 got %d frames, want 0 (known unicast)", got)
	}
}

func TestVLANChild(t *testing.T) {
	d, ports := memDataplane(t, load(t, map[string]string{
		"hostname.bridge0": "add vlan10\nadd tap0\nup\n",
		"hostname.vlan10":  "parent em1 vnetid 10\nup\n",
	}))
	w := d.NewWorker()
	w.SetClock(1e9)
	plain := udpFrame(macA, macB, 60)
	// Tagged 10 on em1: the tag comes off and the frame reaches tap0.
	inject(w, d, "em1", tagged(plain, header.EtherTypeDot1Q, 10, 5))
	got := ports["tap0"].Take()
	if len(got) != 1 || string(got[0]) != string(plain) {
		t.Fatalf("tap0 got %x, want the untagged frame", got)
	}
	// VID 20 has no child and em1 is in no bridge: dropped as novlan.
	inject(w, d, "em1", tagged(plain, header.EtherTypeDot1Q, 20, 0))
	em1, _ := d.Interface("em1")
	if n := em1.Counters.Drops(packet.DropNoVLAN); n != 1 {
		t.Errorf("em1 novlan drops = %d, want 1", n)
	}
	// The reply leaves em1 tagged 10 with the default priority 3.
	reply := udpFrame(macB, macA, 60)
	inject(w, d, "tap0", reply)
	got = ports["em1"].Take()
	if want := tagged(reply, header.EtherTypeDot1Q, 10, 3); len(got) != 1 || string(got[0]) != string(want) {
		t.Fatalf("em1 got %x, want %x", got, want)
	}
}

func TestRun(t *testing.T) {
	d, ports := memDataplane(t, load(t, map[string]string{"hostname.bridge0": "add em1\nadd tap0\nup\n"}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for i := range 10 {
		ports["em1"].Inject(udpFrame(macA, macB, 60+i))
	}
	if !ports["tap0"].WaitSent(10, 5*time.Second) {
		t.Errorf("tap0 got %d frames, want 10", len(ports["tap0"].Sent()))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

var sinkPorts map[string]*memport.Port

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under -race")
	}
	d, ports := memDataplane(t, load(t, map[string]string{
		"hostname.bridge0": "add em1\nadd tap0\nadd vlan10\nup\n",
		"hostname.vlan10":  "parent em2 vnetid 10\nup\n",
		"hostname.tap0":    "mtu 1000 up\n",
	}))
	for _, p := range ports {
		p.SetDiscard(true)
	}
	sinkPorts = ports
	w := d.NewWorker()
	w.SetClock(1e9)
	inject(w, d, "tap0", udpFrame(macB, macA, 60)) // learn B on tap0
	fwd := udpFrame(macA, macB, 60)
	flood := udpFrame(macA, header.BroadcastMAC, 60)
	vlanIn := tagged(udpFrame(header.MAC{2, 0, 0, 0, 0, 0xc}, macB, 60), header.EtherTypeDot1Q, 10, 0)
	tests := []struct {
		name   string
		ifname string
		frame  []byte
	}{
		{"bridge forward", "em1", fwd},
		{"bridge flood with vlan member", "em1", flood},
		{"vlan child into bridge", "em2", vlanIn},
		{"bridge fragment", "em1", udpFrame(macA, macB, 9014)},
		{"bridge fragmentation needed", "em1", withDF(udpFrame(macA, macB, 9014))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ifc, _ := d.Interface(tc.ifname)
			allocs := testing.AllocsPerRun(1000, func() {
				p := d.Pool().Get()
				p.SetFrame(tc.frame)
				w.Input(ifc, p)
			})
			if allocs != 0 {
				t.Errorf("Input(%s) allocated %v times per frame, want 0", tc.name, allocs)
			}
		})
	}
}

// TestVLANPriority checks rxprio and txprio: the priority a frame gets from
// the tag it came with (outer), a fixed one, or its own, and the PCP it
// leaves with (the packet's, or txprio).
func TestVLANPriority(t *testing.T) {
	tests := []struct {
		name    string
		rx, tx  string
		inPCP   uint8
		wantPCP uint8
	}{
		{name: "outer kept", rx: "outer", tx: "packet", inPCP: 6, wantPCP: 6},
		{name: "outer 0 and 1 swap back", rx: "outer", tx: "packet", inPCP: 1, wantPCP: 1},
		{name: "fixed rxprio", rx: "2", tx: "packet", inPCP: 6, wantPCP: 2},
		{name: "rxprio packet keeps the default 3", rx: "packet", tx: "packet", inPCP: 6, wantPCP: 3},
		{name: "txprio wins", rx: "outer", tx: "5", inPCP: 6, wantPCP: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ports := memDataplane(t, load(t, map[string]string{
				"hostname.bridge0": "add vlan10\nadd vlan20\nup\n",
				"hostname.vlan10":  "parent em1 vnetid 10 rxprio " + tc.rx + " up\n",
				"hostname.vlan20":  "parent em1 vnetid 20 txprio " + tc.tx + " up\n",
			}))
			w := d.NewWorker()
			w.SetClock(1e9)
			inject(w, d, "em1", tagged(udpFrame(macA, header.BroadcastMAC, 60), header.EtherTypeDot1Q, 10, tc.inPCP))
			got := ports["em1"].Take()
			if len(got) != 1 {
				t.Fatalf("em1 sent %d frames, want the flood to vlan20", len(got))
			}
			tci := binary.BigEndian.Uint16(got[0][14:])
			if vid, pcp := tci&0xfff, uint8(tci>>13); vid != 20 || pcp != tc.wantPCP {
				t.Errorf("frame left with VID %d PCP %d, want VID 20 PCP %d", vid, pcp, tc.wantPCP)
			}
		})
	}
}

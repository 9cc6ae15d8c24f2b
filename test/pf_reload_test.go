package test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/memport"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// loadSpec writes files into a new directory and loads it as a host
// configuration.
func loadSpec(t *testing.T, files map[string]string) *config.Spec {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, _, err := config.Load(dir)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return spec
}

// memHost is a dataplane over memports, as the daemon builds one per
// (re)load: ports holds the memports of the latest.
type memHost struct {
	t     *testing.T
	pool  *packet.Pool
	d     *dataplane.Dataplane
	w     *dataplane.Worker
	ports map[string]*memport.Port
}

// load builds the dataplane of spec over new memports, with f (pf and its
// states, kept across reloads) when not nil, and makes it current.
func (h *memHost) load(spec *config.Spec, opts dataplane.Options) {
	h.t.Helper()
	ports := map[string]*memport.Port{}
	opts.Pool = h.pool
	opts.Port = func(ifc *dataplane.Interface) (packet.Port, error) {
		p := memport.New(ifc.Name, 64)
		ports[ifc.Name] = p
		return p, nil
	}
	d, err := dataplane.New(spec, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.d != nil {
		h.d.Close()
	}
	h.t.Cleanup(func() { d.Close() })
	h.d, h.w, h.ports = d, d.NewWorker(), ports
}

// in feeds frame to ifname at t0 plus s seconds.
func (h *memHost) in(s float64, ifname string, frame []byte) {
	h.t.Helper()
	ns := t0.Add(at(s)).UnixNano()
	h.d.Tick(ns)
	h.w.SetClock(ns)
	ifc, ok := h.d.Interface(ifname)
	if !ok {
		h.t.Fatalf("no interface %s", ifname)
	}
	p := h.pool.Get()
	p.SetFrame(frame)
	h.w.Input(ifc, p)
}

// take returns the IPv4 frames ifname sent since the last take, decoded.
func (h *memHost) take(ifname string) []gopacket.Packet {
	var out []gopacket.Packet
	for _, f := range h.ports[ifname].Take() {
		if p := decode(f); p.Layer(layers.LayerTypeIPv4) != nil {
			out = append(out, p)
		}
	}
	return out
}

// oneTCP returns the only TCP segment among ps, failing otherwise.
func oneTCP(t *testing.T, what string, ps []gopacket.Packet) (*layers.IPv4, *layers.TCP) {
	t.Helper()
	if len(ps) != 1 || ps[0].Layer(layers.LayerTypeTCP) == nil {
		var frames [][]byte
		for _, p := range ps {
			frames = append(frames, p.Data())
		}
		t.Fatalf("%s: got %d IPv4 frames, want one TCP segment:\n%s", what, len(ps), listing(frames))
	}
	l4ChecksumOK(t, what, ps[0])
	return ps[0].Layer(layers.LayerTypeIPv4).(*layers.IPv4), ps[0].Layer(layers.LayerTypeTCP).(*layers.TCP)
}

// TestPFReloadKeepsFlow reloads the routed segment's pf.conf, with a rule
// added that forbids new HTTPS connections, in the middle of a NATed HTTP
// connection, as the daemon does on SIGHUP: a new dataplane over the same
// *filter.Filter. The connection's next packets pass both ways on its
// states and keep their translation; a connection opened before the
// reload keeps going though the new rules would block it; a new one they
// forbid is blocked, and one they allow is NATed as before.
func TestPFReloadKeepsFlow(t *testing.T) {
	h := &memHost{t: t, pool: packet.NewPool()}
	h.load(loadSpec(t, routed(map[string]string{"pf.conf": seedNAT})), dataplane.Options{Seed: 1})
	f := h.d.Filter()
	if f == nil {
		t.Fatal("no pf in the first dataplane")
	}
	gwARP := pkt.ARP(gwEth, 2, macGW, ipGW, macEm0, ipEm0)
	guest := func(sport, dport uint16, flags uint8, seq, ack uint32, payload string) []byte {
		return seg(macGuest, ipGuest, sport, macVether, ipFar, dport, flags, seq, ack, payload)
	}
	far := func(sport, dport uint16, flags uint8, seq, ack uint32, payload string) []byte {
		return seg(macGW, ipFar, sport, macEm0, ipEm0, dport, flags, seq, ack, payload)
	}

	// Before: the handshake of guest:40000 -> far:80, NATed.
	h.in(1, "tap0", guestARP)
	h.in(2, "tap0", guest(40000, 80, pkt.SYN, 1000, 0, ""))
	h.in(2.5, "em0", gwARP)
	ip, tcp := oneTCP(t, "SYN out on em0", h.take("em0"))
	nat := uint16(tcp.SrcPort)
	if ip.SrcIP.String() != ipEm0 || nat < 50001 {
		t.Fatalf("SYN left from %s:%d, want %s and a port in 50001-65535", ip.SrcIP, nat, ipEm0)
	}
	h.in(3, "em0", far(80, nat, pkt.SYN|pkt.ACK, 5000, 1001, ""))
	if ip, tcp := oneTCP(t, "SYN-ACK to the guest", h.take("tap0")); ip.DstIP.String() != ipGuest || tcp.DstPort != 40000 {
		t.Fatalf("SYN-ACK reached the guest as %s:%d, want %s:40000", ip.DstIP, tcp.DstPort, ipGuest)
	}
	h.in(4, "tap0", guest(40000, 80, pkt.ACK, 1001, 5001, ""))
	if _, tcp := oneTCP(t, "ACK out on em0", h.take("em0")); uint16(tcp.SrcPort) != nat {
		t.Fatalf("ACK left from port %d, want %d", tcp.SrcPort, nat)
	}
	// An HTTPS connection, allowed by the first rules.
	h.in(4.5, "tap0", guest(40100, 443, pkt.SYN, 3000, 0, ""))
	_, tcp = oneTCP(t, "HTTPS SYN before the reload", h.take("em0"))
	nat443 := uint16(tcp.SrcPort)
	states := f.States()

	// Reload: an unrelated rule added (new HTTPS connections from the
	// guests are blocked); pf, with its states, is kept.
	h.load(loadSpec(t, routed(map[string]string{"pf.conf": seedNAT + "block in on vether0 proto tcp to port 443\n"})), dataplane.Options{Seed: 2, Filter: f})
	if h.d.Filter() != f {
		t.Fatal("the reloaded dataplane has a new filter")
	}
	if got := f.States(); got != states {
		t.Fatalf("%d states after the reload, want the %d from before", got, states)
	}

	// After: the HTTP connection goes on, with the same translation.
	// The new dataplane's stack resolves the gateway again.
	h.in(5, "tap0", guestARP)
	h.take("tap0")
	h.in(5.1, "tap0", guest(40000, 80, pkt.PSH|pkt.ACK, 1001, 5001, "GET /"))
	h.in(5.5, "em0", gwARP)
	ip, tcp = oneTCP(t, "request out on em0 after the reload", h.take("em0"))
	if ip.SrcIP.String() != ipEm0 || uint16(tcp.SrcPort) != nat || string(tcp.Payload) != "GET /" {
		t.Errorf("request left as %s:%d %q, want %s:%d \"GET /\" (the translation from before the reload)", ip.SrcIP, tcp.SrcPort, tcp.Payload, ipEm0, nat)
	}
	h.in(6, "em0", far(80, nat, pkt.PSH|pkt.ACK, 5001, 1006, "200 OK"))
	ip, tcp = oneTCP(t, "answer to the guest after the reload", h.take("tap0"))
	if ip.SrcIP.String() != ipFar || ip.DstIP.String() != ipGuest || tcp.SrcPort != 80 || tcp.DstPort != 40000 || string(tcp.Payload) != "200 OK" {
		t.Errorf("answer reached the guest as %s:%d > %s:%d %q, want %s:80 > %s:40000 \"200 OK\"", ip.SrcIP, tcp.SrcPort, ip.DstIP, tcp.DstPort, tcp.Payload, ipFar, ipGuest)
	}

	// The HTTPS connection opened before the reload goes on too: its
	// packets match its states, not the new rules.
	h.in(6.5, "em0", far(443, nat443, pkt.SYN|pkt.ACK, 7000, 3001, ""))
	if _, tcp := oneTCP(t, "HTTPS SYN-ACK to the guest", h.take("tap0")); tcp.DstPort != 40100 {
		t.Errorf("HTTPS SYN-ACK reached the guest at port %d, want 40100", tcp.DstPort)
	}
	h.in(6.6, "tap0", guest(40100, 443, pkt.ACK, 3001, 7001, ""))
	if _, tcp := oneTCP(t, "HTTPS ACK out on em0", h.take("em0")); uint16(tcp.SrcPort) != nat443 {
		t.Errorf("HTTPS ACK left from port %d, want %d", tcp.SrcPort, nat443)
	}

	// A new HTTPS connection: the new rules block it, in on vether0.
	vether0, _ := h.d.Interface("vether0")
	before := vether0.Counters.Drops(packet.DropFilter)
	h.in(7, "tap0", guest(40101, 443, pkt.SYN, 4000, 0, ""))
	if got := h.take("em0"); len(got) != 0 {
		t.Errorf("em0 sent %d frames for a new HTTPS connection, want none (blocked)", len(got))
	}
	if n := vether0.Counters.Drops(packet.DropFilter) - before; n != 1 {
		t.Errorf("vether0 dropped %d frames by pf, want the new HTTPS SYN", n)
	}
	// A new connection the new rules allow is NATed as before.
	h.in(8, "tap0", guest(40102, 8080, pkt.SYN, 5000, 0, ""))
	ip, tcp = oneTCP(t, "new HTTP-alt SYN out on em0", h.take("em0"))
	if ip.SrcIP.String() != ipEm0 || tcp.SrcPort < 50001 || uint16(tcp.SrcPort) == nat || uint16(tcp.SrcPort) == nat443 {
		t.Errorf("new connection left from %s:%d, want %s and a free port in 50001-65535", ip.SrcIP, tcp.SrcPort, ipEm0)
	}
}

package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/memport"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Scenario is one whole-pipeline measurement: a dataplane whose ports are
// memports that count and discard what they are given, and the frames one
// of its interfaces receives, fed in turn to the frame path as a port's
// reader feeds it: dataplane.BatchSize frames at a time through
// Worker.InputBatch, in packets from the worker's cache. The benchmarks of
// this package and `hostnet bench` run the same Scenarios.
//
// A Scenario is owned by one goroutine.
type Scenario struct {
	Name string // "bridge-forward/64"
	Size int    // bytes of each frame
	// Single makes Input run each frame alone through Worker.Input, which
	// commits the counters once a frame, instead of once a batch.
	Single bool

	d      *dataplane.Dataplane
	w      *dataplane.Worker
	in     *dataplane.Interface
	out    []*dataplane.Interface // every frame leaves by each of them
	frames [][]byte
	next   int
	batch  []*packet.Packet // frames Input has not run yet
}

// Sizes are the frame sizes of the size-dependent benchmarks: 64, 512,
// 1500 and 9001 (odd on purpose).
var Sizes = []int{64, 512, 1500, 9001}

// build writes files into a temporary configuration directory, loads it
// and returns a dataplane on discarding memports, with a worker whose
// clock is set. The directory is removed before it returns.
func build(files map[string]string) (*dataplane.Dataplane, *dataplane.Worker, error) {
	dir, err := os.MkdirTemp("", "hostnet-bench-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return nil, nil, err
		}
	}
	spec, _, err := config.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	d, err := dataplane.New(spec, dataplane.Options{Port: func(ifc *dataplane.Interface) (packet.Port, error) {
		p := memport.New(ifc.Name, 16)
		p.SetDiscard(true)
		return p, nil
	}})
	if err != nil {
		return nil, nil, err
	}
	w := d.NewWorker()
	w.SetClock(1e9)
	return d, w, nil
}

// newScenario builds the dataplane of files for a scenario that feeds in
// and sends out of each of outs.
func newScenario(name string, size int, files map[string]string, in string, outs ...string) (*Scenario, error) {
	d, w, err := build(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &Scenario{Name: name, Size: size, d: d, w: w, batch: make([]*packet.Packet, 0, dataplane.BatchSize)}
	var ok bool
	if s.in, ok = d.Interface(in); !ok {
		d.Close()
		return nil, fmt.Errorf("%s: no interface %s", name, in)
	}
	for _, o := range outs {
		ifc, ok := d.Interface(o)
		if !ok {
			d.Close()
			return nil, fmt.Errorf("%s: no interface %s", name, o)
		}
		s.out = append(s.out, ifc)
	}
	return s, nil
}

// feed runs frame through the frame path as received on ifname, outside
// the measurement (to teach the bridge a MAC, to create a state).
func (s *Scenario) feed(ifname string, frame []byte) {
	ifc, _ := s.d.Interface(ifname)
	p := s.w.Get()
	p.SetFrame(frame)
	s.w.Input(ifc, p)
}

// Input hands the next frame of s to the frame path: it runs with the
// batch it completes, or at once when s.Single is set. It does not
// allocate.
func (s *Scenario) Input() {
	p := s.w.Get()
	p.SetFrame(s.frames[s.next])
	if s.next++; s.next == len(s.frames) {
		s.next = 0
	}
	if s.Single {
		s.w.Input(s.in, p)
		return
	}
	if s.batch = append(s.batch, p); len(s.batch) == cap(s.batch) {
		s.w.InputBatch(s.in, s.batch)
		s.batch = s.batch[:0]
	}
}

// Flush runs the frames that Input has not run yet, as a short batch.
func (s *Scenario) Flush() {
	if len(s.batch) > 0 {
		s.w.InputBatch(s.in, s.batch)
		s.batch = s.batch[:0]
	}
}

// Sent returns the frames sent so far, summed over the output interfaces,
// after the frames that Input has not run yet are run (Flush).
func (s *Scenario) Sent() uint64 {
	s.Flush()
	var n uint64
	for _, o := range s.out {
		n += o.Counters.OutPackets.Load()
	}
	return n
}

// Check reports an error unless each of the n frames input since Sent
// returned before left by every output interface (once the last batch is
// run): a measurement of frames that were dropped would measure failures.
func (s *Scenario) Check(before, n uint64) error {
	got, want := s.Sent()-before, n*uint64(len(s.out))
	if got == want {
		return nil
	}
	var drops []string
	for _, ifc := range append([]*dataplane.Interface{s.in}, s.out...) {
		for _, dc := range ifc.Stats().Drops {
			drops = append(drops, fmt.Sprintf("%s %s %d", ifc.Name, dc.Name, dc.N))
		}
	}
	return fmt.Errorf("%s: %d frames sent for %d input, want %d (drops: %v)", s.Name, got, n, want, drops)
}

// Close releases the worker and the dataplane.
func (s *Scenario) Close() error {
	s.Flush()
	s.w.Close()
	return s.d.Close()
}

// Result is what Measure found.
type Result struct {
	Name           string  `json:"name"`
	FrameBytes     int     `json:"frame_bytes"`
	Frames         uint64  `json:"frames"`
	Seconds        float64 `json:"seconds"`
	NsPerFrame     float64 `json:"ns_per_frame"`
	Mpps           float64 `json:"mpps"`
	Gbps           float64 `json:"gbit_per_s"` // frame bytes only
	AllocsPerFrame float64 `json:"allocs_per_frame"`
}

// chunk is how many frames Measure runs between two looks at the clock.
const chunk = 1024

// Measure runs frames through s for at least d, after a warm-up, and
// returns the figures: the loop is the benchmarks' (one Input per frame,
// on one goroutine), timed as a whole, and checked (Check) at the end.
func (s *Scenario) Measure(d time.Duration) (Result, error) {
	for range chunk {
		s.Input()
	}
	before := s.Sent()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	var n uint64
	for {
		for range chunk {
			s.Input()
		}
		n += chunk
		if time.Since(start) >= d {
			break
		}
	}
	s.Flush()
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	if err := s.Check(before, n); err != nil {
		return Result{}, err
	}
	sec := el.Seconds()
	return Result{
		Name:           s.Name,
		FrameBytes:     s.Size,
		Frames:         n,
		Seconds:        sec,
		NsPerFrame:     float64(el.Nanoseconds()) / float64(n),
		Mpps:           float64(n) / sec / 1e6,
		Gbps:           float64(n) * float64(s.Size) * 8 / sec / 1e9,
		AllocsPerFrame: float64(m1.Mallocs-m0.Mallocs) / float64(n),
	}, nil
}

// Case is a Scenario by name, built when it is measured.
type Case struct {
	Name string
	New  func() (*Scenario, error)
}

// InMemory are the scenarios `hostnet bench` measures in memory: bridge
// forward of small and full-size frames, and routed NAT over 1000 flows.
var InMemory = []Case{
	{"bridge-forward/64", func() (*Scenario, error) { return BridgeForward(64) }},
	{"bridge-forward/1500", func() (*Scenario, error) { return BridgeForward(1500) }},
	{"routed-nat/1k", func() (*Scenario, error) { return RoutedNAT(1000) }},
}

var (
	macA = header.MAC{2, 0, 0, 0, 0, 0xa}
	macB = header.MAC{2, 0, 0, 0, 0, 0xb}
)

// udpFrame returns a UDP/IPv4 frame of n bytes from src to dst.
func udpFrame(src, dst header.MAC, n int) []byte {
	f := make([]byte, n)
	e := header.Ethernet(f)
	e.SetDst(dst)
	e.SetSrc(src)
	e.SetType(header.EtherTypeIPv4)
	ip := header.IPv4(f[14:])
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(n-14))
	ip[8], ip[9] = 64, 17
	copy(ip[12:20], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^header.Checksum(ip[:20], 0))
	binary.BigEndian.PutUint16(ip[24:], uint16(n-34))
	return f
}

// tagged returns f with an 802.1Q tag of vid after the MACs.
func tagged(f []byte, vid byte) []byte {
	return append(append(append([]byte(nil), f[:12]...), 0x81, 0, 0, vid), f[12:]...)
}

// BridgeForward is known unicast of size bytes from em1 to tap0 through
// the whole frame path: parse, bridge, output to a port. Both members have
// an MTU that takes the frame.
func BridgeForward(size int) (*Scenario, error) {
	files := map[string]string{"hostname.bridge0": "add em1\nadd tap0\nup\n"}
	if size > 1514 { // jumbo frames: both members get an MTU that takes them
		mtu := fmt.Sprintf("mtu %d\nup\n", size-14)
		files["hostname.em1"], files["hostname.tap0"] = mtu, mtu
	}
	s, err := newScenario(fmt.Sprintf("bridge-forward/%d", size), size, files, "em1", "tap0")
	if err != nil {
		return nil, err
	}
	s.feed("tap0", udpFrame(macB, macA, 60)) // learn B on tap0
	s.frames = [][]byte{udpFrame(macA, macB, size)}
	return s, nil
}

// BridgeFlood8 is a broadcast of 64 bytes from em1 flooded to the 7 other
// members of an 8-member bridge.
func BridgeFlood8() (*Scenario, error) {
	conf := "add em1\n"
	var outs []string
	for i := range 7 {
		conf += fmt.Sprintf("add tap%d\n", i)
		outs = append(outs, fmt.Sprintf("tap%d", i))
	}
	s, err := newScenario("bridge-flood8/64", 64, map[string]string{"hostname.bridge0": conf + "up\n"}, "em1", outs...)
	if err != nil {
		return nil, err
	}
	s.frames = [][]byte{udpFrame(macA, header.BroadcastMAC, 64)}
	return s, nil
}

// vlanFiles put vlan10 of em1 in bridge0 with tap0.
var vlanFiles = map[string]string{
	"hostname.bridge0": "add vlan10\nadd tap0\nup\n",
	"hostname.vlan10":  "parent em1 vnetid 10\nup\n",
}

// VLANPop is a frame tagged 10 on em1 that loses its tag on vlan10 and
// crosses bridge0 to tap0.
func VLANPop() (*Scenario, error) {
	s, err := newScenario("vlan-forward/pop", 68, vlanFiles, "em1", "tap0")
	if err != nil {
		return nil, err
	}
	s.feed("tap0", udpFrame(macB, macA, 60))
	s.frames = [][]byte{tagged(udpFrame(macA, macB, 64), 10)}
	return s, nil
}

// VLANPush is the reply: a frame from tap0 that gains tag 10 on its way
// out of em1.
func VLANPush() (*Scenario, error) {
	s, err := newScenario("vlan-forward/push", 64, vlanFiles, "tap0", "em1")
	if err != nil {
		return nil, err
	}
	s.feed("em1", tagged(udpFrame(macA, macB, 60), 10)) // learn A behind vlan10
	s.frames = [][]byte{udpFrame(macB, macA, 64)}
	return s, nil
}

// routedNAT is a router between a LAN on em1 and a WAN on em0 that NATs
// the LAN out of em0, as the seed's routed segment does.
var routedNAT = map[string]string{
	"hostname.em1": "inet 10.50.0.1/16\nup\n",
	"hostname.em0": "inet 192.0.2.1/24\nup\n",
	"mygate":       "192.0.2.254\n",
	"sysctl.conf":  "net.inet.ip.forwarding=1\n",
	// Each flow has two states, in on em1 and out on em0.
	"pf.conf": `set limit states 300000
match out on em0 from 10.50.0.0/16 nat-to (em0)
pass
`,
}

// udpFlow returns a UDP/IPv4 frame of the i-th flow from the LAN to a
// server beyond the gateway, addressed to em1's MAC.
func udpFlow(dst header.MAC, i, n int) []byte {
	f := make([]byte, n)
	e := header.Ethernet(f)
	e.SetDst(dst)
	e.SetSrc(header.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)})
	e.SetType(header.EtherTypeIPv4)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(n-14))
	ip[8], ip[9] = 64, header.ProtoUDP
	// Sources 10.50.x.y (one per 64 flows), ports 1024 + i%64.
	h := i / 64
	copy(ip[12:16], []byte{10, 50, byte(1 + h>>8), byte(h)})
	// A server per 8192 flows: NAT to em0's one address has 15535 ports
	// per destination.
	copy(ip[16:20], []byte{198, 51, 100, byte(1 + i/8192)})
	binary.BigEndian.PutUint16(ip[10:], ^header.Checksum(ip, 0))
	u := f[34:42]
	binary.BigEndian.PutUint16(u[0:], uint16(1024+i%64))
	binary.BigEndian.PutUint16(u[2:], 53)
	binary.BigEndian.PutUint16(u[4:], uint16(n-34))
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dstA := netip.AddrFrom4([4]byte(ip[16:20]))
	binary.BigEndian.PutUint16(u[6:], ^header.Checksum(f[34:], header.PseudoHeaderChecksum(header.ProtoUDP, src, dstA, uint32(n-34))))
	return f
}

// RoutedNAT is an established UDP flow of 64-byte frames crossing the
// router: pf in on em1 (state hit), route lookup, TTL, pf out on em0
// (state hit and NAT rewrite with incremental checksums), gateway
// neighbour hit, output. The flows' states are made first, and the flows
// are visited round-robin, so that with 100k of them the state table is
// out of cache as in real traffic.
func RoutedNAT(flows int) (*Scenario, error) {
	if flows < 1 {
		return nil, errors.New("routed-nat: want at least one flow")
	}
	name := fmt.Sprintf("routed-nat/%dk", flows/1000)
	if flows%1000 != 0 {
		name = fmt.Sprintf("routed-nat/%d", flows)
	}
	s, err := newScenario(name, 64, routedNAT, "em1", "em0")
	if err != nil {
		return nil, err
	}
	em0 := s.out[0]
	if err := s.d.Router().AddStaticNeighbor(int(em0.Index), netip.MustParseAddr("192.0.2.254"), header.MAC{2, 0, 0, 0, 0, 0xfe}); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.frames = make([][]byte, flows)
	for i := range s.frames {
		s.frames[i] = udpFlow(s.in.MAC, i, 64)
	}
	before := s.Sent()
	for _, f := range s.frames { // create the states
		s.feed("em1", f)
	}
	if sent := s.Sent() - before; sent != uint64(flows) {
		drops := em0.Stats().Drops
		s.Close()
		return nil, fmt.Errorf("%s: %d of %d flows left em0 (drops %+v); the scenario would measure failures", name, sent, flows, drops)
	}
	return s, nil
}

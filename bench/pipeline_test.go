package bench

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/memport"
	"github.com/hostnet/hostnet/dataplane/packet"
)

var sizes = []int{64, 512, 1500, 9001}

// setup builds a dataplane from files, with discarding memports.
func setup(b *testing.B, files map[string]string) (*dataplane.Dataplane, *dataplane.Worker) {
	b.Helper()
	dir := b.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	spec, _, err := config.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	d, err := dataplane.New(spec, dataplane.Options{Port: func(ifc *dataplane.Interface) (packet.Port, error) {
		p := memport.New(ifc.Name, 16)
		p.SetDiscard(true)
		return p, nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	w := d.NewWorker()
	w.SetClock(1e9)
	return d, w
}

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

func run(b *testing.B, d *dataplane.Dataplane, w *dataplane.Worker, ifname string, frame []byte) {
	ifc, ok := d.Interface(ifname)
	if !ok {
		b.Fatalf("no interface %s", ifname)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	ps := make([]*packet.Packet, 0, dataplane.BatchSize)
	for b.Loop() {
		p := w.Get()
		p.SetFrame(frame)
		if ps = append(ps, p); len(ps) == cap(ps) {
			w.InputBatch(ifc, ps)
			ps = ps[:0]
		}
	}
	w.InputBatch(ifc, ps)
}

var (
	macA = header.MAC{2, 0, 0, 0, 0, 0xa}
	macB = header.MAC{2, 0, 0, 0, 0, 0xb}
)

// BenchmarkPipelineBridgeForward is known unicast from em1 to tap0 through
// the whole frame path: parse, bridge, output to a port.
func BenchmarkPipelineBridgeForward(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, w := setup(b, map[string]string{"hostname.bridge0": "add em1\nadd tap0\nup\n"})
			tap0, _ := d.Interface("tap0")
			p := d.Pool().Get()
			p.SetFrame(udpFrame(macB, macA, 60))
			w.Input(tap0, p) // learn B on tap0
			run(b, d, w, "em1", udpFrame(macA, macB, n))
		})
	}
}

// BenchmarkPipelineBridgeFlood8 is a broadcast from one member flooded to
// the 7 others.
func BenchmarkPipelineBridgeFlood8(b *testing.B) {
	conf := "add em1\n"
	for i := range 7 {
		conf += fmt.Sprintf("add tap%d\n", i)
	}
	d, w := setup(b, map[string]string{"hostname.bridge0": conf + "up\n"})
	run(b, d, w, "em1", udpFrame(macA, header.BroadcastMAC, 64))
}

// BenchmarkPipelineVLANForward is a frame tagged 10 on em1 that loses its
// tag on vlan10, crosses bridge0 to tap0, and the reply that gains it back.
func BenchmarkPipelineVLANForward(b *testing.B) {
	files := map[string]string{
		"hostname.bridge0": "add vlan10\nadd tap0\nup\n",
		"hostname.vlan10":  "parent em1 vnetid 10\nup\n",
	}
	b.Run("pop", func(b *testing.B) {
		d, w := setup(b, files)
		tap0, _ := d.Interface("tap0")
		p := d.Pool().Get()
		p.SetFrame(udpFrame(macB, macA, 60))
		w.Input(tap0, p)
		f := udpFrame(macA, macB, 64)
		tagged := append(append(append([]byte(nil), f[:12]...), 0x81, 0, 0, 10), f[12:]...)
		run(b, d, w, "em1", tagged)
	})
	b.Run("push", func(b *testing.B) {
		d, w := setup(b, files)
		em1, _ := d.Interface("em1")
		f := udpFrame(macA, macB, 60)
		p := d.Pool().Get()
		p.SetFrame(append(append(append([]byte(nil), f[:12]...), 0x81, 0, 0, 10), f[12:]...))
		w.Input(em1, p) // learn A behind vlan10
		run(b, d, w, "tap0", udpFrame(macB, macA, 64))
	})
}

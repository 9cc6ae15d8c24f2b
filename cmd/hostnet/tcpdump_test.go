package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var (
	hwA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	hwB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
	ipA = net.IP{10, 9, 0, 1}
	ipB = net.IP{10, 9, 0, 2}
)

func build(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	for _, l := range ls {
		if n, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			for _, x := range ls {
				if ip, ok := x.(gopacket.NetworkLayer); ok {
					n.SetNetworkLayerForChecksum(ip)
				}
			}
		}
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSummarize(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	eth := func(typ layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: hwA, DstMAC: hwB, EthernetType: typ}
	}
	ip4 := func(p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TTL: 64, Protocol: p, SrcIP: ipA, DstIP: ipB}
	}
	tests := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"arp request", build(t, &layers.Ethernet{SrcMAC: hwA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPRequest, SourceHwAddress: hwA, SourceProtAddress: ipA, DstHwAddress: make([]byte, 6), DstProtAddress: ipB}),
			"03:04:05.678901 02:00:00:00:00:0a ff:ff:ff:ff:ff:ff 0806 60: arp who-has 10.9.0.2 tell 10.9.0.1"},
		{"arp reply", build(t, eth(layers.EthernetTypeARP),
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPReply, SourceHwAddress: hwA, SourceProtAddress: ipA, DstHwAddress: hwB, DstProtAddress: ipB}),
			"arp reply 10.9.0.1 is-at 02:00:00:00:00:0a"},
		{"echo request", build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x1234, Seq: 7}),
			"02:00:00:00:00:0a 02:00:00:00:00:0b 0800 60: 10.9.0.1 > 10.9.0.2: icmp: echo request (id:1234 seq:7)"},
		{"tcp syn", build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP),
			&layers.TCP{SrcPort: 40000, DstPort: 80, SYN: true, Seq: 100, Window: 512}),
			"10.9.0.1.40000 > 10.9.0.2.80: S 100:100(0) win 512"},
		{"udp", build(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP),
			&layers.UDP{SrcPort: 68, DstPort: 67}, gopacket.Payload("hello")),
			"10.9.0.1.68 > 10.9.0.2.67: udp 5"},
		{"vlan", build(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 10, Priority: 3, Type: layers.EthernetTypeIPv4},
			ip4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1, DstPort: 2}),
			"8100 60: 802.1Q vid 10 pri 3 10.9.0.1.1 > 10.9.0.2.2: udp 0"},
		{"runt", []byte{1, 2, 3}, "03:04:05.678901 [|ether] 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(ts, tc.frame); !strings.Contains(got, tc.want) {
				t.Errorf("summarize = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestCapHub(t *testing.T) {
	h := &capHub{}
	h.capture([]byte{1}, 1, false) // no clients: nothing happens
	s := &capSub{ch: make(chan capFrame, 1)}
	h.subs.Store(&[]*capSub{s})
	buf := []byte{1, 2, 3}
	h.capture(buf, 5, false)
	h.capture(buf, 6, true)
	h.capture(buf, 7, false)
	buf[0] = 9 // the capture kept a copy
	if n := s.drops.Load(); n != 2 {
		t.Errorf("drops = %d, want 2 (a full queue drops, never blocks)", n)
	}
	f := <-s.ch
	if f.ns != 5 || !bytes.Equal(f.data, []byte{1, 2, 3}) {
		t.Errorf("captured %+v, want the first frame as it was", f)
	}
}

func TestCopyCapture(t *testing.T) {
	var stream bytes.Buffer
	w := pcapgo.NewWriter(&stream)
	w.WriteFileHeader(captureSnapLen, layers.LinkTypeEthernet)
	f := frame(macA, macB)
	for i := range 3 {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(f), Length: len(f)}, f)
	}
	var out, errb bytes.Buffer
	n, err := copyCapture(bytes.NewReader(stream.Bytes()), "", 2, "tap0", &out, &errb)
	if err != nil || n != 2 || strings.Count(out.String(), "\n") != 2 {
		t.Errorf("copyCapture -c 2 = %d, %v, printed %q; want 2 lines", n, err, out.String())
	}
	out.Reset()
	n, err = copyCapture(bytes.NewReader(stream.Bytes()), "-", 0, "tap0", &out, &errb)
	if err != nil || n != 3 || !bytes.Equal(out.Bytes(), stream.Bytes()) {
		t.Errorf("copyCapture -w - = %d, %v, %d bytes; want the 3 frames as they came (%d bytes)", n, err, out.Len(), stream.Len())
	}
}

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hostnet/hostnet/cmd/hostnet/capfilter"
)

// captureQueue is how many frames a capture holds for its client before it
// drops: the frame path never waits for a slow reader.
const captureQueue = 4096

// captureSnapLen is the snap length of live captures: enough for a whole
// TCP super-frame.
const captureSnapLen = 262144

// capFrame is a frame copied off the frame path.
type capFrame struct {
	ns   int64
	data []byte
}

// capSub is one tcpdump client of an interface.
type capSub struct {
	ch     chan capFrame
	filter *capfilter.Filter // the client's expression
	drops  atomic.Uint64
}

// capHub fans the frames of one interface out to its clients. Its capture
// method is the interface's dataplane.CaptureFunc; the subscriber list is
// copied on write so that the frame path only loads a pointer.
type capHub struct {
	subs atomic.Pointer[[]*capSub]
}

func (h *capHub) active() bool {
	p := h.subs.Load()
	return p != nil && len(*p) > 0
}

// capture runs on the frame path: it copies a frame that some client's
// filter matches once and offers it to each such client without
// blocking, counting a drop for a full queue.
func (h *capHub) capture(frame []byte, ns int64, out bool) {
	p := h.subs.Load()
	if p == nil {
		return
	}
	var c []byte
	for _, s := range *p {
		if !s.filter.Match(frame) {
			continue
		}
		if c == nil {
			c = slices.Clone(frame)
		}
		select {
		case s.ch <- capFrame{ns: ns, data: c}:
		default:
			s.drops.Add(1)
		}
	}
}

// subscribe adds s to the clients of interface name.
func (d *daemon) subscribe(name string, s *capSub) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ifc, ok := d.cur.Load().dp.Interface(name)
	if !ok {
		return fmt.Errorf("tcpdump: %s: no such interface", name)
	}
	h := d.caps[name]
	if h == nil {
		h = &capHub{}
		d.caps[name] = h
	}
	var list []*capSub
	if p := h.subs.Load(); p != nil {
		list = slices.Clone(*p)
	}
	list = append(list, s)
	h.subs.Store(&list)
	ifc.SetCapture(h.capture)
	return nil
}

// unsubscribe removes s; the last client stops the capture.
func (d *daemon) unsubscribe(name string, s *capSub) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.caps[name]
	if h == nil {
		return
	}
	var list []*capSub
	if p := h.subs.Load(); p != nil {
		for _, x := range *p {
			if x != s {
				list = append(list, x)
			}
		}
	}
	h.subs.Store(&list)
	if len(list) == 0 {
		delete(d.caps, name)
		if ifc, ok := d.cur.Load().dp.Interface(name); ok {
			ifc.SetCapture(nil)
		}
	}
}

// tcpdumpOpts are the options of `hostnet tcpdump`.
type tcpdumpOpts struct {
	iface *string
	count *int
	write *string
	ether *bool
	num   *bool
}

func (o *tcpdumpOpts) define(fs *flag.FlagSet) {
	o.iface = fs.String("i", "", "capture on `IF`erface (required)")
	o.count = fs.Int("c", 0, "stop after `N` frames (0: until interrupted)")
	o.write = fs.String("w", "", "write the frames to pcap `FILE` (\"-\" for stdout) instead of printing them")
	o.ether = fs.Bool("e", false, "print the link-level header (always)")
	o.num = fs.Bool("n", false, "numeric addresses (always)")
}

func (d *daemon) prepTcpdump(ctx context.Context, args []string) (func(w io.Writer) error, error) {
	var o tcpdumpOpts
	fs, err := serverFlags("tcpdump", expandShortFlags(args, "en"), o.define)
	if err != nil {
		return nil, err
	}
	if *o.iface == "" {
		return nil, errors.New("tcpdump: -i IF is required")
	}
	filter, err := capfilter.Compile(strings.Join(fs.Args(), " "))
	if err != nil {
		return nil, fmt.Errorf("tcpdump: %w", err)
	}
	s := &capSub{ch: make(chan capFrame, captureQueue), filter: filter}
	if err := d.subscribe(*o.iface, s); err != nil {
		return nil, err
	}
	name, count := *o.iface, *o.count
	return func(w io.Writer) error {
		defer d.unsubscribe(name, s)
		sent := 0
		defer func() {
			d.log.Debug("tcpdump ended", "if", name, "frames", sent, "dropped", s.drops.Load())
		}()
		bw := bufio.NewWriterSize(w, 64<<10)
		pw := pcapgo.NewWriter(bw)
		if err := pw.WriteFileHeader(captureSnapLen, layers.LinkTypeEthernet); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		for count == 0 || sent < count {
			var f capFrame
			select {
			case <-ctx.Done():
				return nil
			case f = <-s.ch:
			}
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.ns), CaptureLength: len(f.data), Length: len(f.data)}
			if err := pw.WritePacket(ci, f.data); err != nil {
				return err
			}
			sent++
			if len(s.ch) == 0 {
				if err := bw.Flush(); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	}, nil
}

func cmdTcpdump(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tcpdump", "-i IF [-c N] [-w FILE] [-e] [-n] [-socket PATH] [EXPRESSION]",
		`Tcpdump captures the frames that interface IF of the running daemon
receives and sends, live, as tcpdump(8) does: a line per frame (tcpdump -e
-n style: time, source and destination MAC, ethertype, length, and a summary
of ARP, IPv4, IPv6, ICMP, TCP and UDP), or with -w the frames as a pcap
file for tcpdump -r or Wireshark. It stops after -c N frames or when
interrupted. A capture never slows the frame path: frames a slow client
cannot take are dropped and counted.

EXPRESSION selects frames as pcap-filter(7) does, for its common part:
host, net, port and portrange (with src, dst and tcp, udp, sctp, ip, ip6
qualifiers), ether host/src/dst, broadcast, multicast, the protocols ip,
ip6, arp, tcp, udp, sctp, icmp, icmp6, proto N, vlan [ID], less and
greater N, with not (!), and (&&), or (||) and parentheses. Addresses and
ports are numbers (no name lookups). Unlike pcap, address and port
primitives also match frames under VLAN tags. Examples:

  hostnet tcpdump -i tap3 tcp port 80
  hostnet tcpdump -i em0 'host 192.0.2.1 and not icmp'
  hostnet tcpdump -i trunk0 vlan 10 and arp`, stderr)
	var o tcpdumpOpts
	o.define(fs)
	cf := addClientFlags(fs)
	args = expandShortFlags(args, "en")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if _, err := capfilter.Compile(strings.Join(fs.Args(), " ")); err != nil {
		fmt.Fprintf(stderr, "hostnet tcpdump: %v\n", err)
		return 2
	}
	if *o.iface == "" {
		fmt.Fprintf(stderr, "hostnet tcpdump: -i IF is required\n")
		return 2
	}
	if *cf.json {
		fmt.Fprintf(stderr, "hostnet tcpdump: -j is not supported: use -w FILE for the frames\n")
		return 2
	}
	c, r, err := dial(*cf.socket, request{Cmd: "tcpdump", Args: args})
	if err != nil {
		fmt.Fprintf(stderr, "hostnet tcpdump: %v\n", err)
		return 1
	}
	defer c.Close()
	resp, err := readResponse(*cf.socket, r)
	if err != nil {
		fmt.Fprintf(stderr, "hostnet tcpdump: %v\n", err)
		return 1
	}
	if !resp.OK {
		fmt.Fprintf(stderr, "hostnet tcpdump: %s\n", resp.Error)
		return 1
	}
	// Ctrl-C ends the capture: closing the connection ends the read.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	var interrupted atomic.Bool
	go func() {
		select {
		case <-sigs:
			interrupted.Store(true)
			c.Close()
		case <-done:
		}
	}()
	n, err := copyCapture(r, *o.write, *o.count, *o.iface, stdout, stderr)
	if err != nil && !interrupted.Load() && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(stderr, "hostnet tcpdump: %v\n", err)
		fmt.Fprintf(stderr, "%d packets captured\n", n)
		return 1
	}
	fmt.Fprintf(stderr, "%d packets captured\n", n)
	return 0
}

// copyCapture reads the pcap stream from r and writes it to the pcap file
// path ("-": stdout) or prints a line per frame, until count frames (0:
// no limit) or the end of the stream. It returns the number of frames.
func copyCapture(r io.Reader, path string, count int, iface string, stdout, stderr io.Writer) (int, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return 0, fmt.Errorf("read capture: %w", err)
	}
	var (
		pw    *pcapgo.Writer
		bw    *bufio.Writer
		file  *os.File
		frame int
	)
	if path != "" {
		out := stdout
		if path != "-" {
			file, err = os.Create(path)
			if err != nil {
				return 0, err
			}
			defer file.Close()
			out = file
		}
		bw = bufio.NewWriter(out)
		pw = pcapgo.NewWriter(bw)
		if err := pw.WriteFileHeader(pr.Snaplen(), pr.LinkType()); err != nil {
			return 0, err
		}
		if err := bw.Flush(); err != nil {
			return 0, err
		}
	} else {
		fmt.Fprintf(stderr, "tcpdump: listening on %s, link-type EN10MB\n", iface)
	}
	for count == 0 || frame < count {
		data, ci, err := pr.ReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if bw != nil {
				bw.Flush()
			}
			return frame, err
		}
		frame++
		if pw != nil {
			if err := pw.WritePacket(ci, data); err != nil {
				return frame, err
			}
			if err := bw.Flush(); err != nil {
				return frame, err
			}
			continue
		}
		fmt.Fprintln(stdout, summarize(ci.Timestamp, data))
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			return frame, err
		}
	}
	if file != nil {
		return frame, file.Close()
	}
	return frame, nil
}

// summarize returns a line for one frame in tcpdump -e -n style: time,
// source and destination MAC, ethertype, length, and what the frame
// carries.
func summarize(ts time.Time, data []byte) string {
	var b strings.Builder
	b.WriteString(ts.Format("15:04:05.000000"))
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok {
		fmt.Fprintf(&b, " [|ether] %d", len(data))
		return b.String()
	}
	fmt.Fprintf(&b, " %s %s %04x %d:", eth.SrcMAC, eth.DstMAC, uint16(eth.EthernetType), len(data))
	for _, l := range pkt.Layers() {
		switch l := l.(type) {
		case *layers.Dot1Q:
			fmt.Fprintf(&b, " 802.1Q vid %d pri %d", l.VLANIdentifier, l.Priority)
		case *layers.ARP:
			spa, tpa := net.IP(l.SourceProtAddress), net.IP(l.DstProtAddress)
			switch l.Operation {
			case layers.ARPRequest:
				fmt.Fprintf(&b, " arp who-has %s tell %s", tpa, spa)
			case layers.ARPReply:
				fmt.Fprintf(&b, " arp reply %s is-at %s", spa, net.HardwareAddr(l.SourceHwAddress))
			default:
				fmt.Fprintf(&b, " arp op %d", l.Operation)
			}
			return b.String()
		}
	}
	var src, dst string
	if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		src, dst = ip.SrcIP.String(), ip.DstIP.String()
	} else if ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		src, dst = ip.SrcIP.String(), ip.DstIP.String()
	} else {
		return b.String()
	}
	switch {
	case pkt.Layer(layers.LayerTypeICMPv4) != nil:
		ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		fmt.Fprintf(&b, " %s > %s: icmp: %s", src, dst, icmp4Name(ic))
	case pkt.Layer(layers.LayerTypeICMPv6) != nil:
		ic := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		fmt.Fprintf(&b, " %s > %s: icmp6: %s", src, dst, ic.TypeCode)
	case pkt.Layer(layers.LayerTypeTCP) != nil:
		t := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		fmt.Fprintf(&b, " %s.%d > %s.%d: %s %d:%d(%d) win %d", src, t.SrcPort, dst, t.DstPort, tcpFlags(t), t.Seq, t.Seq+uint32(len(t.Payload)), len(t.Payload), t.Window)
	case pkt.Layer(layers.LayerTypeUDP) != nil:
		u := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		fmt.Fprintf(&b, " %s.%d > %s.%d: udp %d", src, u.SrcPort, dst, u.DstPort, len(u.Payload))
	default:
		fmt.Fprintf(&b, " %s > %s", src, dst)
	}
	return b.String()
}

func icmp4Name(ic *layers.ICMPv4) string {
	switch ic.TypeCode.Type() {
	case layers.ICMPv4TypeEchoRequest:
		return fmt.Sprintf("echo request (id:%04x seq:%d)", ic.Id, ic.Seq)
	case layers.ICMPv4TypeEchoReply:
		return fmt.Sprintf("echo reply (id:%04x seq:%d)", ic.Id, ic.Seq)
	}
	return ic.TypeCode.String()
}

// tcpFlags returns the flags as OpenBSD's tcpdump prints them: S, F, R,
// P, W, E, or "." for none of those.
func tcpFlags(t *layers.TCP) string {
	var s string
	for _, f := range []struct {
		on bool
		c  string
	}{{t.SYN, "S"}, {t.FIN, "F"}, {t.RST, "R"}, {t.PSH, "P"}, {t.CWR, "W"}, {t.ECE, "E"}} {
		if f.on {
			s += f.c
		}
	}
	if s == "" {
		return "."
	}
	return s
}

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hostnet/hostnet/internal/netns"
)

// The topology of Tap, every name under the run's prefix P:
//
//	P-a  198.18.0.1/24 on tapN ---- hostnet run (P-hn): bridge0 ---- tapM 198.18.0.2/24  P-b
//	     198.18.1.1/24 on lb0  ---- Linux bridge br0 (P-lb)    ---- lb0  198.18.1.2/24
//
// P-a and P-b play two VMs, each with a NIC on either path, so that both
// paths join the same two kernels. hostnet runs on its own taps, which
// are moved into P-a and P-b as test/e2e does; the Linux bridge joins
// veth pairs. 198.18.0.0/15 is the range RFC 2544 sets aside for
// benchmarks, and no packet leaves the namespaces.
const (
	hostnetA, hostnetB = "198.18.0.1", "198.18.0.2"
	linuxA, linuxB     = "198.18.1.1", "198.18.1.2"
	iperfPort          = 5201
	setupTimeout       = 10 * time.Second // hostnet's socket, iperf3's port, the first ping
)

// benchVMConf puts two VMs on bridge0.
const benchVMConf = `switch "bench" {
	interface bridge0
}
vm "a" {
	interface { switch "bench" }
}
vm "b" {
	interface { switch "bench" }
}
`

// tapRun is one run of Tap: what it made, to be removed.
type tapRun struct {
	opts  TapOptions
	ctx   context.Context
	a, b  string // the VMs' namespaces
	tmp   string
	nss   []string
	procs []*netns.Proc
}

// Tap measures TCP throughput, the rate of small UDP packets and the
// round-trip time between two network namespaces, across hostnet (two
// taps on one bridge) and across a Linux bridge (two veth pairs), in one
// run on this machine. It needs root, ip(8), ss(8), iperf3 and ping.
//
// Everything it makes (namespaces, bridge, veths, taps, processes) is
// removed before it returns, also when ctx is cancelled (it then returns
// ctx's error) or a step fails. A path that cannot be built or measured
// has its Errors set, and its figures stay zero; Tap returns an error
// only when nothing could be measured.
func Tap(ctx context.Context, opts TapOptions) (res *TapResult, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: network namespaces, veth pairs and tap devices")
	}
	if cmds, pkgs := MissingTools(exec.LookPath); len(cmds) > 0 {
		return nil, fmt.Errorf("missing %s: apt-get install %s", strings.Join(cmds, ", "), strings.Join(pkgs, " "))
	}
	if opts.Hostnet == "" {
		return nil, errors.New("no hostnet binary to run")
	}
	if opts.Prefix == "" {
		opts.Prefix = fmt.Sprintf("hnb%d", os.Getpid())
	}
	secs := max(1, int(math.Ceil(opts.Duration.Seconds())))
	r := &tapRun{opts: opts, ctx: ctx, a: opts.Prefix + "-a", b: opts.Prefix + "-b"}
	defer r.cleanup()
	res = &TapResult{Prefix: opts.Prefix, Seconds: float64(secs),
		Hostnet: Path{Name: "hostnet"}, Linux: Path{Name: "linux bridge"}}
	removeStale()
	if r.tmp, err = os.MkdirTemp("", "hostnet-bench-"); err != nil {
		return nil, err
	}
	r.progress("namespaces %s and %s play two VMs", r.a, r.b)
	for _, ns := range []string{r.a, r.b} {
		if err := r.addNS(ns); err != nil {
			return nil, err
		}
	}
	if err := r.hostnet(); err != nil {
		res.Hostnet.Errors = append(res.Hostnet.Errors, err.Error())
	}
	if err := r.linuxBridge(); err != nil {
		res.Linux.Errors = append(res.Linux.Errors, err.Error())
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	paths := []*struct {
		p      *Path
		server string
	}{{&res.Hostnet, hostnetB}, {&res.Linux, linuxB}}
	if len(res.Hostnet.Errors) > 0 && len(res.Linux.Errors) > 0 {
		return res, fmt.Errorf("neither path could be built: hostnet: %s; linux bridge: %s", res.Hostnet.Errors[0], res.Linux.Errors[0])
	}
	iperf, err := r.start(r.b, "iperf3 server", "iperf3", "-s", "-p", strconv.Itoa(iperfPort))
	if err == nil {
		err = netns.WaitSocket(ctx, r.b, "-Hltn", iperfPort, setupTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("iperf3 server: %v\n%s", err, outputOf(iperf))
	}
	for _, pp := range paths {
		if len(pp.p.Errors) == 0 && !r.reach(pp.server) {
			pp.p.Errors = append(pp.p.Errors, fmt.Sprintf("%s does not answer ping from %s after %v", pp.server, r.a, setupTimeout))
		}
	}
	steps := []struct {
		what string
		run  func(p *Path, server string) error
	}{
		// Round trips first, on idle paths: after a flood of UDP a queue
		// may still be draining.
		{"round trips (ping -i 0.01)", func(p *Path, server string) error { return r.ping(p, server, secs) }},
		{"TCP throughput (iperf3)", func(p *Path, server string) error { return r.tcp(p, server, secs) }},
		{"UDP 64-byte packets, unlimited rate (iperf3 -u -l 64 -b 0)", func(p *Path, server string) error { return r.udp(p, server, secs) }},
	}
	for _, s := range steps {
		for _, pp := range paths {
			if len(pp.p.Errors) > 0 {
				continue
			}
			r.progress("%s through %s, %ds", s.what, pp.p.Name, secs)
			if err := s.run(pp.p, pp.server); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				pp.p.Errors = append(pp.p.Errors, err.Error())
			}
		}
	}
	return res, nil
}

// removeStale deletes the namespaces of earlier runs whose process is
// gone (killed with SIGKILL, which leaves no time to clean up): their
// names are "hnb" and that process's PID.
func removeStale() {
	for _, ns := range netns.Names("hnb") {
		pid, _, ok := strings.Cut(strings.TrimPrefix(ns, "hnb"), "-")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(pid); err != nil || n <= 0 {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) {
			netns.Delete(ns)
		}
	}
}

func (r *tapRun) progress(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "bench: "+format+"\n", args...)
	}
}

func (r *tapRun) addNS(ns string) error {
	if err := netns.Add(r.ctx, ns); err != nil {
		return err
	}
	r.nss = append(r.nss, ns)
	return nil
}

func (r *tapRun) start(ns, name string, args ...string) (*netns.Proc, error) {
	p, err := netns.Start(ns, name, args...)
	if err != nil {
		return nil, err
	}
	r.procs = append(r.procs, p)
	return p, nil
}

// outputOf returns what p printed, or nothing for a p never started.
func outputOf(p *netns.Proc) string {
	if p == nil {
		return ""
	}
	return p.Output()
}

// cleanup stops every process by PID, hostnet first (it removes its
// taps), and deletes the namespaces, with their links.
func (r *tapRun) cleanup() {
	for _, p := range r.procs {
		p.Stop()
	}
	for i := len(r.nss) - 1; i >= 0; i-- {
		if err := netns.Delete(r.nss[i]); err != nil {
			r.progress("cleanup: %v", err)
		}
	}
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

// hostnet starts `hostnet run` in a namespace of its own on two VMs of
// one bridge and moves their taps into the VMs' namespaces.
func (r *tapRun) hostnet() error {
	host := r.opts.Prefix + "-hn"
	if err := r.addNS(host); err != nil {
		return err
	}
	dir := filepath.Join(r.tmp, "etc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for name, body := range map[string]string{"vm.conf": benchVMConf, "hostname.bridge0": "up\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	sock := filepath.Join(r.tmp, "hostnet.sock")
	r.progress("hostnet run -f %s in namespace %s", dir, host)
	p, err := r.start(host, "hostnet run", r.opts.Hostnet, "run", "-f", dir, "-socket", sock)
	if err != nil {
		return err
	}
	var vms []struct {
		Name       string `json:"name"`
		Interfaces []struct {
			Tap    string `json:"tap"`
			LLAddr string `json:"lladdr"`
			Port   bool   `json:"port"`
		} `json:"interfaces"`
	}
	deadline := time.Now().Add(setupTimeout)
	for {
		if p.Exited() {
			return fmt.Errorf("hostnet run exited: %v\n%s", p.Err(), p.Output())
		}
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			out, err := netns.Run(r.ctx, "", setupTimeout, r.opts.Hostnet, "status", "-socket", sock, "-j")
			if err == nil && json.Unmarshal([]byte(out), &vms) == nil {
				break
			}
		}
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hostnet run: no answer on %s after %v\n%s", sock, setupTimeout, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	vmNS := map[string]struct{ ns, cidr string }{"a": {r.a, hostnetA + "/24"}, "b": {r.b, hostnetB + "/24"}}
	moved := 0
	for _, vm := range vms {
		v, ok := vmNS[vm.Name]
		if !ok || len(vm.Interfaces) == 0 || !vm.Interfaces[0].Port {
			continue
		}
		ifc := vm.Interfaces[0]
		if err := netns.Must(r.ctx, host, "ip", "link", "set", ifc.Tap, "netns", v.ns); err != nil {
			return err
		}
		if err := netns.Must(r.ctx, v.ns, "ip", "link", "set", ifc.Tap, "address", ifc.LLAddr); err != nil {
			return err
		}
		if err := netns.Addr(r.ctx, v.ns, ifc.Tap, v.cidr); err != nil {
			return err
		}
		r.progress("VM %s is namespace %s on hostnet's %s (%s)", vm.Name, v.ns, ifc.Tap, v.cidr)
		moved++
	}
	if moved != 2 {
		return fmt.Errorf("hostnet status: want VMs a and b with a tap each, got %+v", vms)
	}
	return nil
}

// linuxBridge makes a Linux bridge in a namespace of its own and joins
// the VMs' namespaces to it with veth pairs.
func (r *tapRun) linuxBridge() error {
	host := r.opts.Prefix + "-lb"
	if err := r.addNS(host); err != nil {
		return err
	}
	if err := netns.Must(r.ctx, host, "ip", "link", "add", "br0", "type", "bridge"); err != nil {
		return fmt.Errorf("cannot create a Linux bridge here (is the bridge module available?): %v", err)
	}
	if err := netns.Must(r.ctx, host, "ip", "link", "set", "br0", "up"); err != nil {
		return err
	}
	for _, v := range []struct{ ns, port, cidr string }{{r.a, "pa", linuxA + "/24"}, {r.b, "pb", linuxB + "/24"}} {
		if err := netns.Veth(r.ctx, host, v.port, v.ns, "lb0"); err != nil {
			return fmt.Errorf("cannot create a veth pair here: %v", err)
		}
		if err := netns.Must(r.ctx, host, "ip", "link", "set", v.port, "master", "br0"); err != nil {
			return err
		}
		if err := netns.Addr(r.ctx, v.ns, "lb0", v.cidr); err != nil {
			return err
		}
	}
	r.progress("Linux bridge br0 in namespace %s joins %s and %s through veth pairs (%s, %s)", host, r.a, r.b, linuxA, linuxB)
	return nil
}

// reach pings addr from the first VM until it answers: ARP and learning
// settle before anything is measured.
func (r *tapRun) reach(addr string) bool {
	deadline := time.Now().Add(setupTimeout)
	for r.ctx.Err() == nil {
		if _, err := netns.Run(r.ctx, r.a, 5*time.Second, "ping", "-n", "-c", "1", "-W", "1", addr); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
	return false
}

// iperfStats is what Tap reads of `iperf3 -J`.
type iperfStats struct {
	End struct {
		SumSent struct {
			Seconds       float64 `json:"seconds"`
			Packets       float64 `json:"packets"`
			BitsPerSecond float64 `json:"bits_per_second"`
			Retransmits   int     `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			Seconds       float64 `json:"seconds"`
			Packets       float64 `json:"packets"` // received and lost (by sequence number)
			LostPackets   float64 `json:"lost_packets"`
			LostPercent   float64 `json:"lost_percent"`
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// iperf runs an iperf3 client in the first VM against the server at addr
// and returns its result. A server still busy with the previous test is
// given a moment and asked again.
func (r *tapRun) iperf(addr string, secs int, extra ...string) (iperfStats, error) {
	args := append([]string{"iperf3", "-c", addr, "-p", strconv.Itoa(iperfPort), "-t", strconv.Itoa(secs), "-J"}, extra...)
	var st iperfStats
	for try := 0; ; try++ {
		out, err := netns.Run(r.ctx, r.a, time.Duration(secs+20)*time.Second, args...)
		st = iperfStats{}
		if jerr := json.Unmarshal([]byte(out), &st); jerr != nil {
			return st, fmt.Errorf("%s: %v (%v)\n%s", strings.Join(args, " "), jerr, err, out)
		}
		if st.Error != "" && strings.Contains(st.Error, "busy") && try < 3 {
			time.Sleep(500 * time.Millisecond)
			continue
		}
		if err != nil || st.Error != "" {
			return st, fmt.Errorf("%s: %v %s", strings.Join(args, " "), err, st.Error)
		}
		return st, nil
	}
}

// tcp measures one TCP stream's throughput.
func (r *tapRun) tcp(p *Path, addr string, secs int) error {
	st, err := r.iperf(addr, secs)
	if err != nil {
		return err
	}
	p.TCPGbps = st.End.SumReceived.BitsPerSecond / 1e9
	p.TCPRetransmits = st.End.SumSent.Retransmits
	if p.TCPGbps == 0 {
		return errors.New("iperf3 TCP: nothing received")
	}
	return nil
}

// udp measures how many 64-byte UDP datagrams a second the receiver gets
// from a sender that sends as fast as it can.
func (r *tapRun) udp(p *Path, addr string, secs int) error {
	st, err := r.iperf(addr, secs, "-u", "-l", "64", "-b", "0")
	if err != nil {
		return err
	}
	s, rc := st.End.SumSent, st.End.SumReceived
	if s.Seconds > 0 {
		p.UDPSentPPS = s.Packets / s.Seconds
	}
	if rc.Seconds > 0 {
		p.UDPRecvPPS = (rc.Packets - rc.LostPackets) / rc.Seconds
	}
	p.UDPLossPercent = rc.LostPercent
	if p.UDPRecvPPS <= 0 {
		return fmt.Errorf("iperf3 UDP: nothing received (%.0f sent)", s.Packets)
	}
	return nil
}

// ping sends 100 echo requests a second for secs seconds and keeps the
// round-trip times of the replies.
func (r *tapRun) ping(p *Path, addr string, secs int) error {
	n := secs * 100
	out, err := netns.Run(r.ctx, r.a, time.Duration(secs+15)*time.Second, "ping", "-n", "-i", "0.01", "-W", "1", "-c", strconv.Itoa(n), addr)
	rtts, perr := PingTimes(out)
	if perr != nil {
		return fmt.Errorf("ping %s: %v (%v)", addr, perr, err)
	}
	p.Pings, p.PingLost = len(rtts), max(0, n-len(rtts))
	p.PingAvgUs, p.PingP50Us, p.PingP99Us = rttStats(rtts)
	return nil
}

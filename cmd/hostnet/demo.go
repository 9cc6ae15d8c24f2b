package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hostnet/hostnet/internal/netns"
)

// The demo builds the seed's topology on this machine out of network
// namespaces, each played by the Linux kernel:
//
//	hn-demo-lan    LAN host 10.10.0.2/24, dnsmasq (DHCP 10.10.0.100-150)
//	     | eth0 -- em1
//	hn-demo-host   hostnet run -f DIR: em0, em1 and the VMs' taps
//	     | em0 -- eth0
//	hn-demo-wan    WAN host 192.0.2.2/24, an HTTP server on 80
//	hn-demo-web01  on web01's tap (bridge0): DHCP from the LAN; HTTP on 80, nc on 22, 443
//	hn-demo-db01   on db01's tap (bridge1): 10.50.0.30/24 via 10.50.0.1; nc on 3306
//
// hostnet runs in a namespace of its own so that em0 and em1 are the
// demo's veths and never a NIC of this machine.

// demoNames are the namespaces of the demo, by role.
type demoNames struct{ host, lan, wan, web01, db01 string }

// namesFor returns the names of the demo's namespaces with prefix.
func namesFor(prefix string) demoNames {
	return demoNames{prefix + "-host", prefix + "-lan", prefix + "-wan", prefix + "-web01", prefix + "-db01"}
}

// all returns every name, hostnet's first.
func (n demoNames) all() []string { return []string{n.host, n.lan, n.wan, n.web01, n.db01} }

// demoTools are the commands the demo runs.
var demoTools = []string{"ip", "ping", "dnsmasq", "busybox", "curl", "nc", "python3"}

// missingTools returns the commands of demoTools not found by lookPath,
// and their packages.
func missingTools(lookPath func(string) (string, error)) (cmds, pkgs []string) {
	return netns.Missing(lookPath, demoTools...)
}

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "[-f DIR] [-keep]",
		`Demo builds the seed's topology on this machine and shows what hostnet
does with it (root only). Network namespaces play the VMs web01 (on
bridge0, with the LAN) and db01 (on bridge1, behind vether0), a LAN host
with a DHCP server (dnsmasq) beyond em1 and a WAN host beyond em0; em0 and
em1 are veth pairs in a namespace of their own, where hostnet runs on DIR.
It then tries, with real ping, curl and nc, what the seed says passes and
what it says is blocked, prints each result with the command used, shows
hostnet status, ifconfig and netstat, and removes everything it made when
done or on Ctrl-C. With -keep it leaves everything running for exploring
and prints how to stop it.

The tools it needs (ip, ping, dnsmasq, busybox udhcpc, curl, nc, python3)
are installed with apt-get when missing.`, stderr)
	dir := fs.String("f", "examples/seed", "configuration `DIR`ectory")
	keep := fs.Bool("keep", false, "leave the topology and hostnet running")
	prefix := fs.String("ns", "hn-demo", "`PREFIX` of the namespaces' names (PREFIX-host, PREFIX-web01, ...)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostnet demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "hostnet demo: needs root (network namespaces, veth pairs, tap devices): sudo %s demo\n", os.Args[0])
		return 1
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "hostnet demo: %v\n", err)
		return 1
	}
	if _, err := os.Stat(filepath.Join(abs, "vm.conf")); err != nil {
		fmt.Fprintf(stderr, "hostnet demo: %s: no vm.conf (run from the repository root, or give -f DIR)\n", abs)
		return 1
	}
	if err := demoInstall(stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "hostnet demo: %v\n", err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "hostnet demo: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &demo{self: self, dir: abs, ns: namesFor(*prefix), out: stdout, errw: stderr, ctx: ctx}
	if err := d.checkFree(); err != nil {
		fmt.Fprintf(stderr, "hostnet demo: %v\n", err)
		return 1
	}
	err = d.run()
	if *keep && err == nil && ctx.Err() == nil {
		d.printKeep()
		return 0
	}
	d.cleanup()
	if ctx.Err() != nil {
		fmt.Fprintf(stdout, "demo: interrupted; everything removed\n")
		return 130
	}
	if err != nil {
		fmt.Fprintf(stderr, "hostnet demo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "demo: done; everything removed (namespaces, veths, taps, processes)\n")
	return 0
}

// demoInstall installs the missing tools with apt-get, saying what it
// installs, or says exactly what to install.
func demoInstall(stdout, stderr io.Writer) error {
	cmds, pkgs := missingTools(exec.LookPath)
	if len(cmds) == 0 {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing %s: install the packages %s", strings.Join(cmds, ", "), strings.Join(pkgs, " "))
	}
	fmt.Fprintf(stdout, "demo: installing %s (for %s): apt-get install -y %s\n", strings.Join(pkgs, " "), strings.Join(cmds, ", "), strings.Join(pkgs, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "apt-get update: %v\n%s", err, out)
	}
	c := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
	c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	if cmds, pkgs := missingTools(exec.LookPath); len(cmds) > 0 {
		return fmt.Errorf("still missing %s after installing: install the packages %s", strings.Join(cmds, ", "), strings.Join(pkgs, " "))
	}
	return nil
}

// demo is one run of `hostnet demo`.
type demo struct {
	self, dir string
	ns        demoNames
	out, errw io.Writer
	ctx       context.Context

	tmp    string
	socket string
	nss    []string    // made, in order
	procs  []*demoProc // started, in order
	daemon *demoProc

	tap01, tap02 string // web01's and db01's taps
	web01Addr    string // from the DHCP lease
	passed       int
	failed       int
}

// demoProc is a background process of the demo. Its output goes to a
// file, so that it can outlive the demo under -keep.
type demoProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// output returns what the process has printed so far.
func (p *demoProc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// checkFree refuses to run over a demo that is still there.
func (d *demo) checkFree() error {
	for _, ns := range d.ns.all() {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			return fmt.Errorf("namespace %s exists: a demo started with -keep is still there; stop it first:\n%s", ns, stopCommands(d.ns, ""))
		}
	}
	return nil
}

// stopCommands returns the shell commands that stop a kept demo.
func stopCommands(n demoNames, pidFile string) string {
	var b strings.Builder
	if pidFile != "" {
		fmt.Fprintf(&b, "  kill $(cat %s)   # stops hostnet: its taps go\n", pidFile)
	}
	for _, ns := range []string{n.lan, n.wan, n.web01, n.db01, n.host} {
		fmt.Fprintf(&b, "  ip netns pids %s | xargs -r kill; ip netns del %s\n", ns, ns)
	}
	return b.String()
}

// sh runs args (in ns unless "") within timeout and returns its output.
func (d *demo) sh(ns string, timeout time.Duration, args ...string) (string, error) {
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, args[0], args[1:]...)
	c.WaitDelay = time.Second
	out, err := c.CombinedOutput()
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w (timed out after %v)", err, timeout)
	}
	return string(out), err
}

// must runs args and returns an error naming the command if it fails.
func (d *demo) must(ns string, args ...string) error {
	out, err := d.sh(ns, 20*time.Second, args...)
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", cmdline(ns, args), err, out)
	}
	return nil
}

// shellJoin joins args as a shell would read them back, quoting those
// with characters the shell would expand or split.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n*?[]$'\"\\|&;<>(){}~#") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// cmdline is the shell form of args run in ns.
func cmdline(ns string, args []string) string {
	s := shellJoin(args)
	if ns != "" {
		s = "ip netns exec " + ns + " " + s
	}
	return s
}

// start starts args in ns in the background, in a session of its own so
// that Ctrl-C reaches the demo only and -keep can leave it running.
func (d *demo) start(ns, name string, args ...string) (*demoProc, error) {
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	c := exec.Command(args[0], args[1:]...)
	p := &demoProc{name: name, cmd: c, log: filepath.Join(d.tmp, strings.ReplaceAll(name, " ", "-")+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c.Stdout, c.Stderr = f, f
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v", cmdline("", args), err)
	}
	go func() {
		c.Wait()
		close(p.done)
	}()
	d.procs = append(d.procs, p)
	return p, nil
}

func (p *demoProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop stops p by its PID: SIGTERM, then SIGKILL after 5 s.
func (p *demoProc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(5 * time.Second):
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// disableIPv6 turns IPv6 off in the namespace it runs in, so that the only
// traffic is the demo's (/proc/sys/net is the reader's namespace's).
const disableIPv6 = "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"

// addNS makes a namespace with lo up and IPv6 off.
func (d *demo) addNS(ns string) error {
	if err := d.must("", "ip", "netns", "add", ns); err != nil {
		return err
	}
	d.nss = append(d.nss, ns)
	if err := d.must(ns, "ip", "link", "set", "lo", "up"); err != nil {
		return err
	}
	return d.must(ns, "sh", "-c", disableIPv6)
}

// run builds the topology, starts hostnet and the servers, and runs the
// steps. It returns an error only when the topology cannot be built.
func (d *demo) run() error {
	var err error
	if d.tmp, err = os.MkdirTemp("", "hostnet-demo-"); err != nil {
		return err
	}
	d.socket = filepath.Join(d.tmp, "hostnet.sock")
	fmt.Fprintf(d.out, "demo: building the seed's topology (namespaces %s)\n", strings.Join(d.ns.all(), ", "))
	for _, ns := range d.ns.all() {
		if err := d.addNS(ns); err != nil {
			return err
		}
	}
	for _, c := range [][]string{
		{"", "ip", "link", "add", "em1", "netns", d.ns.host, "type", "veth", "peer", "name", "eth0", "netns", d.ns.lan},
		{"", "ip", "link", "add", "em0", "netns", d.ns.host, "type", "veth", "peer", "name", "eth0", "netns", d.ns.wan},
		{d.ns.host, "ip", "link", "set", "em0", "up"},
		{d.ns.host, "ip", "link", "set", "em1", "up"},
		{d.ns.lan, "ip", "addr", "add", "10.10.0.2/24", "dev", "eth0"},
		{d.ns.lan, "ip", "link", "set", "eth0", "up"},
		{d.ns.wan, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"},
		{d.ns.wan, "ip", "link", "set", "eth0", "up"},
		{d.ns.wan, "ip", "route", "add", "10.50.0.0/24", "via", "192.0.2.1"},
	} {
		if err := d.must(c[0], c[1:]...); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.out, "demo: em0 (WAN host 192.0.2.2 beyond it) and em1 (LAN host 10.10.0.2 beyond it) are veth pairs in %s\n", d.ns.host)

	// hostnet itself.
	pidFile := filepath.Join(d.tmp, "hostnet.pid")
	d.daemon, err = d.start(d.ns.host, "hostnet run", d.self, "run", "-f", d.dir, "-socket", d.socket, "-pid", pidFile)
	if err != nil {
		return err
	}
	if err := d.waitSocket(); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "demo: hostnet run -f %s -socket %s (pid %d)\n", d.dir, d.socket, d.daemon.cmd.Process.Pid)
	vms, err := d.status()
	if err != nil {
		return err
	}
	for _, vm := range vms {
		if len(vm.Interfaces) == 0 {
			continue
		}
		p := vm.Interfaces[0]
		ns := map[string]string{"web01": d.ns.web01, "db01": d.ns.db01}[vm.Name]
		if ns == "" || !p.Port {
			continue
		}
		for _, c := range [][]string{
			{d.ns.host, "ip", "link", "set", p.Tap, "netns", ns},
			{ns, "ip", "link", "set", p.Tap, "address", p.LLAddr},
			{ns, "ip", "link", "set", p.Tap, "up"},
		} {
			if err := d.must(c[0], c[1:]...); err != nil {
				return err
			}
		}
		fmt.Fprintf(d.out, "demo: %s is namespace %s on %s (MAC %s, %s)\n", vm.Name, ns, p.Tap, p.LLAddr, p.Bridge)
		switch vm.Name {
		case "web01":
			d.tap01 = p.Tap
		case "db01":
			d.tap02 = p.Tap
		}
	}
	if d.tap01 == "" || d.tap02 == "" {
		return fmt.Errorf("%s/vm.conf: the demo needs VMs web01 and db01 with a NIC each; hostnet status:\n%s", d.dir, d.cli("status"))
	}
	if err := d.must(d.ns.db01, "ip", "addr", "add", "10.50.0.30/24", "dev", d.tap02); err != nil {
		return err
	}
	if err := d.must(d.ns.db01, "ip", "route", "add", "default", "via", "10.50.0.1"); err != nil {
		return err
	}

	if !strings.Contains(d.cli("ifconfig", "em0"), "inet ") {
		fmt.Fprintf(d.out, "demo: note: em0 has no inet address in %s (the seed has no hostname.em0), so nat-to ($wan) has no address to translate to\n", d.dir)
	}

	// The servers.
	if _, err := d.start(d.ns.lan, "dnsmasq", "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--user=root",
		"--interface=eth0", "--bind-interfaces", "--port=0", "--dhcp-range=10.10.0.100,10.10.0.150,255.255.255.0,1h",
		"--dhcp-leasefile="+filepath.Join(d.tmp, "leases"), "--pid-file="+filepath.Join(d.tmp, "dnsmasq.pid")); err != nil {
		return err
	}
	www := filepath.Join(d.tmp, "www")
	os.MkdirAll(www, 0o755)
	os.WriteFile(filepath.Join(www, "index.html"), []byte("hello from the demo\n"), 0o644)
	servers := []struct {
		ns, name string
		port     int
		args     []string
	}{
		{d.ns.wan, "wan http", 80, []string{"python3", "-u", "-m", "http.server", "--directory", www, "80"}},
		{d.ns.web01, "web01 http", 80, []string{"python3", "-u", "-m", "http.server", "--directory", www, "80"}},
		{d.ns.web01, "web01 nc 443", 443, []string{"nc", "-lk", "-n", "443"}},
		{d.ns.web01, "web01 nc 22", 22, []string{"nc", "-lk", "-n", "22"}},
		{d.ns.db01, "db01 nc 3306", 3306, []string{"nc", "-lk", "-n", "3306"}},
	}
	for _, s := range servers {
		if _, err := d.start(s.ns, s.name, s.args...); err != nil {
			return err
		}
	}
	for _, s := range servers {
		if err := d.waitListen(s.ns, "-Hltn", s.port); err != nil {
			return err
		}
	}
	if err := d.waitListen(d.ns.lan, "-Hlun", 67); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "demo: servers: dnsmasq (DHCP) on the LAN host; HTTP on the WAN host :80 and web01 :80; nc on web01 :443 :22 and db01 :3306\n\n")
	d.steps()
	fmt.Fprintf(d.out, "\ndemo: %d steps as the seed says, %d not\n", d.passed, d.failed)
	if d.failed > 0 {
		fmt.Fprintf(d.out, "demo: examples/e2e/ has variants of the seed's files that do what it means under pf's semantics on bridges; its README says why\n")
	}
	fmt.Fprintln(d.out)
	for _, c := range [][]string{{"status"}, {"ifconfig", "bridge0"}, {"ifconfig", "bridge0", "addr"}, {"ifconfig", "bridge1"}, {"netstat", "-rn"},
		{"pfctl", "-sr"}, {"pfctl", "-a", "vm/*", "-sr"}} {
		fmt.Fprintf(d.out, "$ hostnet %s\n%s\n", shellJoin(c), d.cli(c[0], c[1:]...))
	}
	return nil
}

// waitSocket waits until the daemon answers, or fails with its log.
func (d *demo) waitSocket() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if d.daemon.exited() {
			return fmt.Errorf("hostnet run exited:\n%s", d.daemon.output())
		}
		if c, err := net.Dial("unix", d.socket); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || d.ctx.Err() != nil {
			return fmt.Errorf("hostnet run: no control socket after 10s:\n%s", d.daemon.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitListen waits until something listens on port in ns (ss flags).
func (d *demo) waitListen(ns, flags string, port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := d.sh(ns, 5*time.Second, "ss", flags, fmt.Sprintf("sport = :%d", port))
		if strings.TrimSpace(out) != "" {
			return nil
		}
		if time.Now().After(deadline) || d.ctx.Err() != nil {
			var logs []string
			for _, p := range d.procs {
				logs = append(logs, p.name+": "+p.output())
			}
			return fmt.Errorf("%s: nothing on port %d after 10s\n%s", ns, port, strings.Join(logs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cli runs `hostnet CMD -socket S ARGS` and returns what it printed.
func (d *demo) cli(cmd string, args ...string) string {
	var out bytes.Buffer
	run(append([]string{cmd, "-socket", d.socket}, args...), &out, &out)
	return strings.TrimRight(out.String(), "\n")
}

// status returns `hostnet status` as values.
func (d *demo) status() ([]statusVM, error) {
	resp, err := call(d.socket, request{Cmd: "status"})
	if err != nil {
		return nil, err
	}
	if !resp.OK {
		return nil, errors.New(resp.Error)
	}
	var vms []statusVM
	if err := json.Unmarshal(resp.JSON, &vms); err != nil {
		return nil, err
	}
	return vms, nil
}

// demoStep is one thing the demo tries.
type demoStep struct {
	name string
	// want is what the seed says: true passes, false is blocked.
	want bool
	// why is the seed's reason, printed with the result.
	why string
	ns  string
	cmd []string
	// check, when set, must also hold of the output for a pass.
	check func(out string) bool
}

// steps runs and prints every step.
func (d *demo) steps() {
	d.dhcp()
	web01 := d.web01Addr
	if web01 == "" {
		web01 = "10.10.0.11"
	}
	steps := []demoStep{
		{name: "web01 -> lan host ping", want: true, why: "bridged through bridge0",
			ns: d.ns.web01, cmd: []string{"ping", "-n", "-c", "2", "-W", "1", "10.10.0.2"}},
		{name: "lan host -> web01 curl :80", want: true, why: "bridged through bridge0; the seed: web01 takes HTTP from anywhere",
			ns: d.ns.lan, cmd: []string{"curl", "-sS", "--max-time", "3", "http://" + web01 + "/"},
			check: func(out string) bool { return strings.Contains(out, "hello from the demo") }},
		{name: "lan host -> web01 nc :443", want: true, why: "the seed: web01 takes HTTPS from anywhere",
			ns: d.ns.lan, cmd: []string{"nc", "-z", "-n", "-w", "3", web01, "443"}},
		{name: "lan host (10.10.0.2) -> web01 nc :22", want: true, why: "the seed: web01 takes SSH from the admin subnet 10.10.0.0/24",
			ns: d.ns.lan, cmd: []string{"nc", "-z", "-n", "-w", "3", web01, "22"}},
		{name: "db01 -> vether0 ping 10.50.0.1", want: true, why: "routed segment: vether0 is 10.50.0.1 on bridge1",
			ns: d.ns.db01, cmd: []string{"ping", "-n", "-c", "2", "-W", "1", "10.50.0.1"}},
		{name: "db01 -> wan host ping 192.0.2.2", want: true, why: "the seed: routed out em0, NATed by match out on $wan nat-to ($wan)",
			ns: d.ns.db01, cmd: []string{"ping", "-n", "-c", "2", "-W", "1", "192.0.2.2"}},
		{name: "db01 -> wan host curl :80", want: true, why: "the seed: NATed to em0's address, passed out on $wan from ($wan)",
			ns: d.ns.db01, cmd: []string{"curl", "-sS", "--max-time", "3", "http://192.0.2.2/"},
			check: func(out string) bool { return strings.Contains(out, "hello from the demo") }},
		{name: "wan host -> db01 nc :3306", want: false, why: "the seed: block all; nothing passes in on em0",
			ns: d.ns.wan, cmd: []string{"nc", "-z", "-n", "-w", "3", "10.50.0.30", "3306"}},
	}
	for _, s := range steps {
		if d.ctx.Err() != nil {
			return
		}
		d.step(s)
	}
	if logs := d.procOutput("wan http"); logs != "" {
		fmt.Fprintf(d.out, "demo: the WAN host's HTTP server saw these peers (em0 is what NAT shows): %s\n", logs)
	}
}

// procOutput returns the peers an HTTP server logged, one line.
func (d *demo) procOutput(name string) string {
	for _, p := range d.procs {
		if p.name != name {
			continue
		}
		var peers []string
		seen := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^(\S+) - - \[`).FindAllStringSubmatch(p.output(), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				peers = append(peers, m[1])
			}
		}
		sort.Strings(peers)
		return strings.Join(peers, ", ")
	}
	return ""
}

// dhcp has web01 ask the LAN's dnsmasq for a lease through bridge0.
func (d *demo) dhcp() {
	script := filepath.Join(d.tmp, "udhcpc.script")
	os.WriteFile(script, []byte("#!/bin/sh\ncase \"$1\" in\nbound|renew)\n  ip addr add \"$ip/${mask:-24}\" dev \"$interface\"\n  [ -n \"$router\" ] && ip route replace default via ${router%% *} dev \"$interface\"\n  ;;\nesac\n"), 0o755)
	args := []string{"busybox", "udhcpc", "-i", d.tap01, "-f", "-n", "-q", "-t", "4", "-T", "2", "-s", script}
	before := d.drops()
	out, err := d.sh(d.ns.web01, 20*time.Second, args...)
	m := regexp.MustCompile(`lease of (\S+) obtained`).FindStringSubmatch(out)
	if err == nil && m != nil {
		d.web01Addr = m[1]
		d.result("web01 DHCP from the lan host's dnsmasq", true, true, fmt.Sprintf("lease %s; bridged through bridge0, of which em1 is a member", m[1]), d.ns.web01, args, "")
		return
	}
	d.result("web01 DHCP from the lan host's dnsmasq", true, false, "bridged through bridge0, of which em1 is a member", d.ns.web01, args, lastLine(out))
	if dd := dropDiff(before, d.drops()); dd != "" {
		fmt.Fprintf(d.out, "      -> hostnet dropped meanwhile: %s\n", dd)
	}
	d.must(d.ns.web01, "ip", "addr", "add", "10.10.0.11/24", "dev", d.tap01)
	fmt.Fprintf(d.out, "demo: web01 takes 10.10.0.11/24 instead\n")
}

// step runs s and prints its result, with the frames hostnet dropped
// meanwhile, by interface and reason: the why of a blocked step.
func (d *demo) step(s demoStep) {
	before := d.drops()
	out, err := d.sh(s.ns, 15*time.Second, s.cmd...)
	passed := err == nil && (s.check == nil || s.check(out))
	detail := ""
	if !passed {
		detail = lastLine(out)
		if detail == "" && err != nil {
			detail = err.Error()
		}
	}
	d.result(s.name, s.want, passed, s.why, s.ns, s.cmd, detail)
	if !passed {
		if dd := dropDiff(before, d.drops()); dd != "" {
			fmt.Fprintf(d.out, "      -> hostnet dropped meanwhile: %s\n", dd)
		}
	}
}

// drops returns hostnet's drop counters, keyed "IF reason".
func (d *demo) drops() map[string]uint64 {
	m := map[string]uint64{}
	resp, err := call(d.socket, request{Cmd: "ifconfig"})
	if err != nil || !resp.OK {
		return m
	}
	var ifs []struct {
		Name     string `json:"name"`
		Counters struct {
			Drops []struct {
				Reason string `json:"reason"`
				Count  uint64 `json:"count"`
			} `json:"drops"`
		} `json:"counters"`
	}
	if json.Unmarshal(resp.JSON, &ifs) != nil {
		return m
	}
	for _, ifc := range ifs {
		for _, dc := range ifc.Counters.Drops {
			m[ifc.Name+" "+dc.Reason] = dc.Count
		}
	}
	return m
}

// dropDiff says which counters grew from before to after:
// "em1 pf-block 2, tap0 no-route 1", sorted.
func dropDiff(before, after map[string]uint64) string {
	var parts []string
	for k, n := range after {
		if n > before[k] {
			parts = append(parts, fmt.Sprintf("%s %d", k, n-before[k]))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// result prints one line: what was tried, what happened, what the seed
// says should happen and why, and the command.
func (d *demo) result(name string, want, passed bool, why, ns string, cmd []string, detail string) {
	var got string
	switch {
	case passed && want:
		got = "ok"
	case !passed && !want:
		got = "blocked"
	case passed:
		got = "PASSED, the seed says blocked"
	default:
		got = "FAILED, the seed says it passes"
	}
	if passed == want {
		d.passed++
	} else {
		d.failed++
	}
	fmt.Fprintf(d.out, "demo: %s: %s (%s)\n      $ %s\n", name, got, why, cmdline(ns, cmd))
	if detail != "" && passed != want {
		fmt.Fprintf(d.out, "      -> %s\n", detail)
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// printKeep says what is left running and how to stop it.
func (d *demo) printKeep() {
	fmt.Fprintf(d.out, "\ndemo: left running (-keep). Explore with, for example:\n")
	fmt.Fprintf(d.out, "  %s ifconfig -socket %s bridge0\n", d.self, d.socket)
	fmt.Fprintf(d.out, "  %s tcpdump -socket %s -i %s\n", d.self, d.socket, d.tap01)
	fmt.Fprintf(d.out, "  ip netns exec %s ping 10.10.0.2\n", d.ns.web01)
	fmt.Fprintf(d.out, "Stop it with:\n%s  rm -r %s\n", stopCommands(d.ns, filepath.Join(d.tmp, "hostnet.pid")), d.tmp)
}

// cleanup stops every process the demo started, by PID, hostnet first
// (it removes its taps), and deletes the namespaces it made.
func (d *demo) cleanup() {
	if d.daemon != nil {
		d.daemon.stop()
	}
	for i := len(d.procs) - 1; i >= 0; i-- {
		d.procs[i].stop()
	}
	for i := len(d.nss) - 1; i >= 0; i-- {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", d.nss[i]).CombinedOutput(); err != nil {
			fmt.Fprintf(d.errw, "demo: ip netns del %s: %v %s\n", d.nss[i], err, out)
		}
		cancel()
	}
	d.nss = nil
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
}

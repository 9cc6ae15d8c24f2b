package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/dataplane/tap"
)

// needRoot skips a test that needs root, /dev/net/tun and ip(8), unless
// CI=true, where it must run: CI runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	var why string
	switch {
	case os.Geteuid() != 0:
		why = "needs root (tap devices, network namespaces)"
	case !fileExists("/dev/net/tun"):
		why = "needs /dev/net/tun"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "needs ip(8) from iproute2"
		}
	}
	if why == "" {
		return
	}
	if ci {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skip(why)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sh runs a command with a bounded time and fails the test on error.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := shErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func shErr(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// poke sends something from namespace ns to addr: a ping, or without
// ping a UDP datagram through bash's /dev/udp.
func poke(ns, addr string) {
	if _, err := exec.LookPath("ping"); err == nil {
		shErr("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", addr)
		return
	}
	shErr("ip", "netns", "exec", ns, "bash", "-c", "echo hostnet > /dev/udp/"+addr+"/9")
}

// TestRunNamespaces runs the daemon on a configuration with two VMs on
// bridge0 and a host NIC (one end of a veth pair), moves the taps it
// creates into network namespaces that play the VMs, and checks what the
// CLI says against what the namespaces' kernels did.
func TestRunNamespaces(t *testing.T) {
	needRoot(t)
	checkLeaks(t)
	pid := os.Getpid()
	unit := 100000 + (pid%400000)*2
	tapA, tapB := fmt.Sprintf("tap%d", unit), fmt.Sprintf("tap%d", unit+1)
	nsA, nsB, nsC := fmt.Sprintf("hn%d-a", pid), fmt.Sprintf("hn%d-b", pid), fmt.Sprintf("hn%d-c", pid)
	vethH, vethC := fmt.Sprintf("hn%dh", pid), fmt.Sprintf("hn%dc", pid)
	missing := fmt.Sprintf("hn%dx", pid) // a host NIC that does not exist
	t.Cleanup(func() {
		for _, ns := range []string{nsA, nsB, nsC} {
			shErr("ip", "netns", "del", ns)
		}
		for _, l := range []string{tapA, tapB, vethH} {
			shErr("ip", "link", "del", l)
		}
	})
	// The third "VM" is a namespace behind a veth: the daemon attaches the
	// host end as a host NIC.
	sh(t, "ip", "netns", "add", nsC)
	sh(t, "ip", "link", "add", vethH, "type", "veth", "peer", "name", vethC, "netns", nsC)
	sh(t, "ip", "link", "set", vethH, "up")
	sh(t, "ip", "-n", nsC, "addr", "add", "10.9.0.3/24", "dev", vethC)
	sh(t, "ip", "-n", nsC, "link", "set", vethC, "up")

	vmconf := fmt.Sprintf(`switch "lan" {
	interface bridge0
}
vm "web01" {
	memory 1G
	interface %s { switch "lan" }
}
vm "db01" {
	memory 512M
	interface %s { switch "lan" }
}
`, tapA, tapB)
	dir := writeFiles(t, map[string]string{
		"vm.conf":          vmconf,
		"hostname.bridge0": fmt.Sprintf("add %s\nadd %s\nadd vether0\nup\n", vethH, missing),
		"hostname.vether0": "inet 10.9.0.254 255.255.255.0\nup\n",
	})
	sdir, err := os.MkdirTemp("", "hn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sdir) })
	sock := filepath.Join(sdir, "sock")
	pidFile := filepath.Join(sdir, "pid")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reload := make(chan struct{}, 1)
	ready := make(chan *daemon, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runDaemon(ctx, runOptions{dir: dir, socket: sock, pidFile: pidFile, log: testLogger(t), reload: reload,
			ready: func(d *daemon) { ready <- d }})
	}()
	var d *daemon
	select {
	case d = <-ready:
	case err := <-errc:
		t.Fatalf("runDaemon: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon not ready within 15s")
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("runDaemon: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("daemon did not stop within 15s")
		}
	}
	t.Cleanup(stop)

	cli := func(args ...string) string {
		t.Helper()
		code, out, errs := runCmd(t, append(args, "-socket", sock)...)
		if code != 0 {
			t.Fatalf("hostnet %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
		}
		return out
	}

	// status -j tells the guest MACs to give the namespaces' NICs, as a
	// hypervisor would be told.
	var vms []statusVM
	if err := json.Unmarshal([]byte(cli("status", "-j")), &vms); err != nil {
		t.Fatal(err)
	}
	if len(vms) != 2 || len(vms[0].Interfaces) != 1 || len(vms[1].Interfaces) != 1 {
		t.Fatalf("status -j = %+v, want two VMs with one NIC each", vms)
	}
	macA, macB := vms[0].Interfaces[0].LLAddr, vms[1].Interfaces[0].LLAddr
	for i, want := range []struct{ name, tap string }{{"web01", tapA}, {"db01", tapB}} {
		p := vms[i].Interfaces[0]
		if vms[i].Name != want.name || p.Tap != want.tap || p.Bridge != "bridge0" || p.Switch != "lan" || !p.Port {
			t.Errorf("status -j VM %d = %+v, want %s on %s in bridge0 with its port open", i, vms[i], want.name, want.tap)
		}
	}
	status := cli("status")
	for _, w := range []string{"web01", tapA, macA, "db01", tapB, macB, "bridge0"} {
		if !strings.Contains(status, w) {
			t.Errorf("status printed\n%s\nwant %q in it", status, w)
		}
	}

	for _, v := range []struct{ ns, tap, mac, addr string }{{nsA, tapA, macA, "10.9.0.1/24"}, {nsB, tapB, macB, "10.9.0.2/24"}} {
		sh(t, "ip", "netns", "add", v.ns)
		sh(t, "ip", "link", "set", v.tap, "netns", v.ns)
		sh(t, "ip", "-n", v.ns, "link", "set", v.tap, "address", v.mac)
		sh(t, "ip", "-n", v.ns, "addr", "add", v.addr, "dev", v.tap)
		sh(t, "ip", "-n", v.ns, "link", "set", v.tap, "up")
	}
	reach := func(from, to string) {
		t.Helper()
		if _, err := exec.LookPath("ping"); err == nil {
			sh(t, "ip", "netns", "exec", from, "ping", "-c", "2", "-W", "1", to)
			return
		}
		// Without ping (iputils-ping): a UDP datagram makes the kernel
		// resolve the address; a resolved neighbour entry proves that
		// the ARP request and the reply crossed hostnet.
		poke(from, to)
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, _ := shErr("ip", "-n", from, "neigh", "show", to)
			if strings.Contains(out, "lladdr") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s cannot reach %s: neighbour entry %q", from, to, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	reach(nsA, "10.9.0.2")
	reach(nsA, "10.9.0.3")   // through the host NIC
	reach(nsA, "10.9.0.254") // hostnet's own stack on vether0

	// The host's stack learned nsA's MAC, and routes its network.
	arp := cli("arp", "-an")
	for _, w := range []string{"10.9.0.1 ", macA + " vether0", "10.9.0.254 ", "vether0 permanent l"} {
		if !strings.Contains(arp, w) {
			t.Errorf("arp -an printed\n%s\nwant %q in it", arp, w)
		}
	}
	var ns []neighbor
	if err := json.Unmarshal([]byte(cli("arp", "-an", "-j")), &ns); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range ns {
		found = found || n.Addr == "10.9.0.1" && n.LLAddr == macA && n.Iface == "vether0" && n.Flags == ""
	}
	if !found {
		t.Errorf("arp -an -j = %+v, want 10.9.0.1 at %s on vether0", ns, macA)
	}
	var v0 ifInfo
	if err := json.Unmarshal([]byte(cli("ifconfig", "vether0", "-j")), &v0); err != nil {
		t.Fatal(err)
	}
	if v0.Stack == nil || v0.Stack.InPackets == 0 || v0.Stack.OutPackets == 0 {
		t.Errorf("ifconfig vether0 -j stack counters = %+v, want packets in and out (ARP and ICMP echo)", v0.Stack)
	}
	if rt := cli("netstat", "-rn"); !strings.Contains(rt, "10.9.0/24          10.9.0.254         UCn") {
		t.Errorf("netstat -rn printed\n%s\nwant the connected route of vether0", rt)
	}

	checkLearned := func(when string) {
		t.Helper()
		out := cli("ifconfig", "bridge0", "addr")
		for _, w := range []string{macA + " " + tapA + " 1 flags=0<>", macB + " " + tapB + " 1 flags=0<>"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s: ifconfig bridge0 addr printed\n%s\nwant a line %q", when, out, w)
			}
		}
		var addrs []ifBridgeAddr
		if err := json.Unmarshal([]byte(cli("ifconfig", "bridge0", "addr", "-j")), &addrs); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range addrs {
			got[a.MAC] = a.Iface
		}
		if got[macA] != tapA || got[macB] != tapB {
			t.Errorf("%s: ifconfig bridge0 addr -j = %+v, want %s on %s and %s on %s", when, addrs, macA, tapA, macB, tapB)
		}
	}
	checkLearned("after ping")

	ifc := cli("ifconfig", "-v")
	for _, w := range []string{
		"bridge0: flags=41<UP,RUNNING>",
		tapA + ": flags=8943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST> mtu 1500",
		"\t" + tapA + " flags=3<LEARNING,DISCOVER>",
		vethH + ": flags=8943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST>",
		missing + ": flags=8903<UP,BROADCAST,PROMISC,SIMPLEX,MULTICAST>",
		"status: no carrier",
		"port: tap, created",
		"port: af_packet",
	} {
		if !strings.Contains(ifc, w) {
			t.Errorf("ifconfig -v printed\n%s\nwant %q in it", ifc, w)
		}
	}

	// A reload through the socket and one as SIGHUP makes it keep the
	// taps and what the bridge learned.
	if out := cli("reload"); !strings.Contains(out, "ports opened: none; closed: none") {
		t.Errorf("reload printed %q, want no port opened or closed", out)
	}
	checkLearned("after reload")
	gen := d.current().n
	reload <- struct{}{}
	deadline := time.Now().Add(10 * time.Second)
	for d.current().n == gen && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if d.current().n == gen {
		t.Fatalf("SIGHUP reload did not happen within 10s")
	}
	checkLearned("after SIGHUP")
	reach(nsB, "10.9.0.1") // the taps still work

	// tcpdump catches a ping.
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		c, o, e := runCmd(t, "tcpdump", "-i", tapA, "-c", "1", "-socket", sock)
		done <- result{c, o, e}
	}()
	var r result
	wait := time.After(15 * time.Second)
loop:
	for {
		poke(nsB, "10.9.0.1")
		time.Sleep(100 * time.Millisecond)
		select {
		case r = <-done:
			break loop
		case <-wait:
			t.Fatalf("tcpdump -i %s -c 1 captured nothing within 15s", tapA)
		default:
		}
	}
	if r.code != 0 || strings.Count(r.out, "\n") != 1 || !strings.Contains(r.errs, "1 packets captured") {
		t.Errorf("tcpdump -i %s -c 1: exit %d, stdout %q, stderr %q; want one frame", tapA, r.code, r.out, r.errs)
	}

	stop()
	if fileExists(sock) || fileExists(pidFile) {
		t.Errorf("after stop the socket (%v) or pid file (%v) is left", fileExists(sock), fileExists(pidFile))
	}
	for _, v := range []struct{ ns, tap string }{{nsA, tapA}, {nsB, tapB}} {
		if out, err := shErr("ip", "-n", v.ns, "link", "show", v.tap); err == nil {
			t.Errorf("after stop %s is still in %s:\n%s", v.tap, v.ns, out)
		}
	}
	if out, err := shErr("ip", "link", "show", vethH); err != nil {
		t.Errorf("after stop the host NIC %s is gone (it is not hostnet's to remove): %v %s", vethH, err, out)
	}
	if _, err := shErr("ip", "link", "show", tapA); err == nil {
		t.Errorf("after stop %s exists in the root namespace", tapA)
	}
}

// TestRunTapDeletedFromOutside deletes a VM's tap behind the daemon's
// back: ifconfig -v reports it, and a reload recreates it.
func TestRunTapDeletedFromOutside(t *testing.T) {
	needRoot(t)
	checkLeaks(t)
	pid := os.Getpid()
	tp := fmt.Sprintf("tap%d", 100000+(pid%400000)*2)
	t.Cleanup(func() { shErr("ip", "link", "del", tp) })
	dir := writeFiles(t, map[string]string{"vm.conf": fmt.Sprintf("vm \"web01\" {\n\tinterface %s\n}\n", tp)})
	sock := filepath.Join(shortDir(t), "sock")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *daemon, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runDaemon(ctx, runOptions{dir: dir, socket: sock, log: testLogger(t), ready: func(d *daemon) { ready <- d }})
	}()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("runDaemon: %v", err)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("daemon not ready within 15s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(15 * time.Second):
			t.Errorf("daemon did not stop within 15s")
		}
	})
	sh(t, "ip", "link", "del", tp)
	deadline := time.Now().Add(10 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		_, out, _ = runCmd(t, "ifconfig", "-v", tp, "-socket", sock)
		if strings.Contains(out, "deleted from outside") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out, "deleted from outside") {
		t.Fatalf("after ip link del, ifconfig -v %s printed\n%s\nwant it reported as deleted", tp, out)
	}
	code, out, errs := runCmd(t, "reload", "-socket", sock)
	if code != 0 || !strings.Contains(out, "ports opened: "+tp) {
		t.Fatalf("reload: exit %d, stdout %q, stderr %q; want %s opened again", code, out, errs, tp)
	}
	if _, err := shErr("ip", "link", "show", tp); err != nil {
		t.Errorf("after reload %s does not exist: %v", tp, err)
	}
	if _, out, _ = runCmd(t, "ifconfig", "-v", tp, "-socket", sock); strings.Contains(out, "deleted from outside") {
		t.Errorf("after reload ifconfig -v still reports %s deleted:\n%s", tp, out)
	}
}

// TestRunKeepsPersistentTap gives the daemon a persistent tap that was
// there before it started: it uses it, and leaves it when it stops.
func TestRunKeepsPersistentTap(t *testing.T) {
	needRoot(t)
	checkLeaks(t)
	pid := os.Getpid()
	tp := fmt.Sprintf("tap%d", 100001+(pid%400000)*2)
	t.Cleanup(func() { shErr("ip", "link", "del", tp) })
	sh(t, "ip", "tuntap", "add", "dev", tp, "mode", "tap")
	dir := writeFiles(t, map[string]string{"vm.conf": fmt.Sprintf("vm \"web01\" {\n\tinterface %s\n}\n", tp)})
	sock := filepath.Join(shortDir(t), "sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *daemon, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runDaemon(ctx, runOptions{dir: dir, socket: sock, log: testLogger(t), ready: func(d *daemon) { ready <- d }})
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("runDaemon: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon not ready within 15s")
	}
	_, out, _ := runCmd(t, "ifconfig", "-v", tp, "-socket", sock)
	if !strings.Contains(out, "port: tap, persistent, kept at exit") {
		t.Errorf("ifconfig -v %s printed\n%s\nwant the tap reported as persistent", tp, out)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("runDaemon: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon did not stop within 15s")
	}
	if out, err := shErr("ip", "link", "show", tp); err != nil {
		t.Errorf("after stop the persistent tap %s is gone: %v %s", tp, err, out)
	}
}

// vmNIC is the test's stand-in for a hypervisor: it holds a tap's
// descriptor, as QEMU does, and reads frames in the background.
type vmNIC struct {
	t    *tap.Tap
	pool *packet.Pool
	rx   chan []byte
	done chan struct{}
}

func openVMNIC(t *testing.T, name string) *vmNIC {
	t.Helper()
	tp, err := tap.Open(name, tap.Options{NoVnetHdr: true})
	if err != nil {
		t.Fatalf("hypervisor side of %s: %v", name, err)
	}
	v := &vmNIC{t: tp, pool: packet.NewPool(), rx: make(chan []byte, 256), done: make(chan struct{})}
	go func() {
		defer close(v.done)
		batch := []*packet.Packet{v.pool.Get()}
		for {
			n, err := tp.ReadBatch(batch)
			if n > 0 {
				select {
				case v.rx <- slices.Clone(batch[0].Bytes()):
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return v
}

func (v *vmNIC) send(t *testing.T, frame []byte) {
	t.Helper()
	p := v.pool.Get()
	p.SetFrame(frame)
	if n, err := v.t.WriteBatch([]*packet.Packet{p}); n != 1 || err != nil {
		t.Fatalf("hypervisor write: %d, %v", n, err)
	}
	v.pool.Put(p)
}

// expect waits up to 10 s for a frame from src.
func (v *vmNIC) expect(t *testing.T, src header.MAC) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-v.rx:
			if len(f) >= 12 && header.MAC(f[6:12]) == src {
				return
			}
		case <-deadline:
			t.Fatalf("no frame from %s within 10s", src)
		}
	}
}

func (v *vmNIC) close() {
	v.t.Close()
	<-v.done
}

// TestRunHypervisor runs the daemon with -hypervisor: it makes the taps
// persistent and attaches to them by AF_PACKET, and the test holds their
// descriptors as QEMU would.
func TestRunHypervisor(t *testing.T) {
	needRoot(t)
	checkLeaks(t)
	pid := os.Getpid()
	unit := 100000 + (pid%400000)*2
	tapA, tapB := fmt.Sprintf("tap%d", unit), fmt.Sprintf("tap%d", unit+1)
	t.Cleanup(func() {
		shErr("ip", "link", "del", tapA)
		shErr("ip", "link", "del", tapB)
	})
	dir := writeFiles(t, map[string]string{"vm.conf": fmt.Sprintf(`switch "lan" {
	interface bridge0
}
vm "web01" {
	interface %s { switch "lan" }
}
vm "db01" {
	interface %s { switch "lan" }
}
`, tapA, tapB)})
	sock := filepath.Join(shortDir(t), "sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *daemon, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runDaemon(ctx, runOptions{dir: dir, socket: sock, log: testLogger(t), hypervisor: true,
			ready: func(d *daemon) { ready <- d }})
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("runDaemon: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon not ready within 15s")
	}
	stop := func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("runDaemon: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("daemon did not stop within 15s")
		}
	}

	a, b := openVMNIC(t, tapA), openVMNIC(t, tapB)
	defer a.close()
	defer b.close()
	a.send(t, frame(bcast, macA))
	b.expect(t, macA)
	b.send(t, frame(macA, macB))
	a.expect(t, macB)

	var vms []statusVM
	_, js, _ := runCmd(t, "status", "-j", "-socket", sock)
	if err := json.Unmarshal([]byte(js), &vms); err != nil || len(vms) != 2 || vms[0].State != "running" || vms[1].State != "running" {
		t.Errorf("status -j with both hypervisors attached = %s (%v), want both running", js, err)
	}
	_, out, _ := runCmd(t, "ifconfig", "bridge0", "addr", "-socket", sock)
	for _, w := range []string{macA.String() + " " + tapA + " 1 flags=0<>", macB.String() + " " + tapB + " 1 flags=0<>"} {
		if !strings.Contains(out, w) {
			t.Errorf("ifconfig bridge0 addr printed\n%s\nwant a line %q", out, w)
		}
	}
	_, out, _ = runCmd(t, "ifconfig", "-v", tapA, "-socket", sock)
	if !strings.Contains(out, "port: tap for a hypervisor, af_packet, created") {
		t.Errorf("ifconfig -v %s printed\n%s\nwant the hypervisor port", tapA, out)
	}

	// The VM stops: its tap stays for the next start.
	a.close()
	if _, err := shErr("ip", "link", "show", tapA); err != nil {
		t.Errorf("%s is gone after its hypervisor let go of it: %v", tapA, err)
	}
	_, js, _ = runCmd(t, "status", "-j", "-socket", sock)
	if err := json.Unmarshal([]byte(js), &vms); err != nil || len(vms) != 2 || vms[0].State != "stopped" || vms[1].State != "running" {
		t.Errorf("status -j after web01's hypervisor let go = %s (%v), want web01 stopped, db01 running", js, err)
	}
	b.close()
	stop()
	for _, tp := range []string{tapA, tapB} {
		if _, err := shErr("ip", "link", "show", tp); err == nil {
			t.Errorf("after stop %s, which hostnet created, still exists", tp)
		}
	}
}

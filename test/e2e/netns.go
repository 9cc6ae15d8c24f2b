//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hostnet/hostnet/internal/netns"
)

// Timeouts of the harness. Every wait is bounded by one of them.
const (
	cmdTimeout   = 20 * time.Second // one command run to completion
	startTimeout = 10 * time.Second // a daemon's socket, a server's port
)

// InCI reports whether the tests run in CI, where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// skip skips t, or fails it in CI.
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true: cannot skip: "+format, args...)
	}
	t.Skipf(format, args...)
}

var installMu sync.Mutex

// Need skips t (fails it in CI) unless it runs as root and every tool is
// on PATH. In CI, missing tools are installed with apt-get first.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root: network namespaces, veth pairs and tap devices")
	}
	missing, pkgs := netns.Missing(exec.LookPath, tools...)
	if len(missing) > 0 && InCI() {
		installMu.Lock()
		install(t, pkgs)
		installMu.Unlock()
		missing, pkgs = netns.Missing(exec.LookPath, tools...)
	}
	if len(missing) > 0 {
		skip(t, "missing tools %s: apt-get install %s", strings.Join(missing, " "), strings.Join(pkgs, " "))
	}
}

// install installs Debian packages pkgs with apt-get, bounded in time.
func install(t testing.TB, pkgs []string) {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil || len(pkgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Logf("installing %s", strings.Join(pkgs, " "))
	if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
		t.Logf("apt-get update: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("apt-get install %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
}

// Env is one test's namespaces and processes. Its cleanup, registered by
// NewEnv, stops every process it started, by PID, and deletes every
// namespace it made, by name; the links in them go with them.
type Env struct {
	t      testing.TB
	prefix string // "hne<pid>-"

	mu    sync.Mutex
	nss   []string
	procs []*Proc
}

// envSeq numbers the Envs of one test binary, so that two tests never
// share a namespace name even if a cleanup failed.
var envSeq struct {
	sync.Mutex
	n int
}

// NewEnv returns an Env for t after Need(t, "ip"). Leftover namespaces of
// this process (and only this process) are deleted first.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	Need(t, "ip")
	envSeq.Lock()
	envSeq.n++
	n := envSeq.n
	envSeq.Unlock()
	e := &Env{t: t, prefix: fmt.Sprintf("hne%d-%d-", os.Getpid(), n)}
	e.removeLeftovers()
	t.Cleanup(e.cleanup)
	return e
}

// removeLeftovers deletes the namespaces whose names start with e's prefix.
func (e *Env) removeLeftovers() {
	for _, ns := range netns.Names(e.prefix) {
		netns.Delete(ns)
	}
}

func (e *Env) cleanup() {
	e.mu.Lock()
	procs, nss := e.procs, e.nss
	e.procs, e.nss = nil, nil
	e.mu.Unlock()
	// hostnet first, so that it removes its taps itself, then the rest.
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
	for i := len(nss) - 1; i >= 0; i-- {
		if err := netns.Delete(nss[i]); err != nil {
			e.t.Logf("cleanup: %v", err)
		}
	}
}

// NS makes a namespace for role ("wan", "web01") with lo up and returns
// its name. IPv6 is turned off in it, so that the only traffic is the
// test's.
func (e *Env) NS(role string) string {
	e.t.Helper()
	name := e.prefix + role
	if err := netns.Add(context.Background(), name); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.nss = append(e.nss, name)
	e.mu.Unlock()
	return name
}

// Veth makes a veth pair: name1 in ns1 and name2 in ns2, both up.
func (e *Env) Veth(ns1, name1, ns2, name2 string) {
	e.t.Helper()
	if err := netns.Veth(context.Background(), ns1, name1, ns2, name2); err != nil {
		e.t.Fatal(err)
	}
}

// Addr gives dev in ns the addresses (CIDR) and sets it up.
func (e *Env) Addr(ns, dev string, cidrs ...string) {
	e.t.Helper()
	if err := netns.Addr(context.Background(), ns, dev, cidrs...); err != nil {
		e.t.Fatal(err)
	}
}

// VLAN makes a Linux VLAN device name on parent (in ns) with id, moves it
// to dst (which may be ns itself), gives it the addresses and sets it up.
func (e *Env) VLAN(ns, parent, name string, id int, dst string, cidrs ...string) {
	e.t.Helper()
	e.Must(ns, "ip", "link", "add", "link", parent, "name", name, "netns", dst, "type", "vlan", "id", strconv.Itoa(id))
	e.Addr(dst, name, cidrs...)
}

// Run runs args in ns within timeout and returns its combined output.
func (e *Env) Run(ns string, timeout time.Duration, args ...string) (string, error) {
	return netns.Run(context.Background(), ns, timeout, args...)
}

// Must runs args in ns and fails the test if it fails.
func (e *Env) Must(ns string, args ...string) string {
	e.t.Helper()
	out, err := e.Run(ns, cmdTimeout, args...)
	if err != nil {
		e.t.Fatalf("%s: %s: %v\n%s", netns.Label(ns), strings.Join(args, " "), err, out)
	}
	return out
}

// Ping reports whether src reaches addr with ICMP echo within timeout: it
// retries one-second pings until one is answered, so that ARP and
// learning have time to settle.
func (e *Env) Ping(ns, addr string, timeout time.Duration, extra ...string) bool {
	deadline := time.Now().Add(timeout)
	for {
		args := append([]string{"ping", "-n", "-c", "1", "-W", "1"}, extra...)
		if _, err := e.Run(ns, 5*time.Second, append(args, addr)...); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Connect reports whether a TCP connection from ns to addr:port opens
// within timeout (nc -z); src, when set, is the source address.
func (e *Env) Connect(ns, src, addr string, port int, timeout time.Duration) bool {
	args := []string{"nc", "-z", "-n", "-w", strconv.Itoa(max(1, int(timeout/time.Second)))}
	if src != "" {
		args = append(args, "-s", src)
	}
	_, err := e.Run(ns, timeout+5*time.Second, append(args, addr, strconv.Itoa(port))...)
	return err == nil
}

// WaitListen waits until something listens on TCP port in ns.
func (e *Env) WaitListen(ns string, port int) {
	e.t.Helper()
	e.waitSocket(ns, "-Hltn", port)
}

func (e *Env) waitSocket(ns, flags string, port int) {
	e.t.Helper()
	if err := netns.WaitSocket(context.Background(), ns, flags, port, startTimeout); err != nil {
		e.t.Fatal(err)
	}
}

// Proc is a process started by an Env: it runs until Stop or the test's
// cleanup, which stops it by PID.
type Proc = netns.Proc

// Start starts args in ns in the background. Its output is kept for
// Output and logged when the test fails.
func (e *Env) Start(ns, name string, args ...string) *Proc {
	e.t.Helper()
	p, err := netns.Start(ns, name, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	t := e.t
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", p.Name, p.PID(), p.Output())
		}
	})
	return p
}

// hostnetBin is the hostnet binary the tests run, built once per test binary.
var hostnetBin struct {
	once sync.Once
	path string
	err  error
}

// HostnetBinary builds ./cmd/hostnet once into a temporary directory and
// returns its path. TestMain removes the directory with RemoveBinary.
func HostnetBinary(t testing.TB) string {
	t.Helper()
	hostnetBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "hostnet-e2e-")
		if err != nil {
			hostnetBin.err = err
			return
		}
		hostnetBin.path = filepath.Join(dir, "hostnet")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		gobin := "go"
		if root := os.Getenv("GOROOT"); root != "" {
			if p := filepath.Join(root, "bin", "go"); fileExists(p) {
				gobin = p
			}
		}
		out, err := exec.CommandContext(ctx, gobin, "build", "-o", hostnetBin.path, "github.com/hostnet/hostnet/cmd/hostnet").CombinedOutput()
		if err != nil {
			hostnetBin.err = fmt.Errorf("go build ./cmd/hostnet: %v\n%s", err, out)
		}
	})
	if hostnetBin.err != nil {
		t.Fatal(hostnetBin.err)
	}
	return hostnetBin.path
}

// RemoveBinary removes what HostnetBinary built.
func RemoveBinary() {
	if hostnetBin.path != "" {
		os.RemoveAll(filepath.Dir(hostnetBin.path))
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Hostnet is a `hostnet run` started by StartHostnet.
type Hostnet struct {
	*Proc
	e      *Env
	NS     string // the host namespace hostnet runs in
	Dir    string // its configuration directory
	Socket string
	bin    string
}

// StartHostnet runs `hostnet run -f dir` in ns and waits until its control
// socket answers. The test's cleanup stops it (SIGTERM, by PID) before the
// namespaces go.
func (e *Env) StartHostnet(ns, dir string) *Hostnet {
	e.t.Helper()
	bin := HostnetBinary(e.t)
	sock := filepath.Join(e.t.TempDir(), "hostnet.sock")
	p := e.Start(ns, "hostnet run", bin, "run", "-f", dir, "-socket", sock)
	h := &Hostnet{Proc: p, e: e, NS: ns, Dir: dir, Socket: sock, bin: bin}
	// Registered after the Env's cleanup, so it runs first, while the
	// daemon still answers.
	t := e.t
	t.Cleanup(func() {
		if t.Failed() && !p.Exited() {
			out, _ := h.CLI("ifconfig", "-v")
			t.Logf("hostnet ifconfig -v at the failure:\n%s", out)
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		if p.Exited() {
			e.t.Fatalf("hostnet run -f %s exited: %v\n%s", dir, p.Err(), p.Output())
		}
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			if _, err := h.CLI("status"); err == nil {
				return h
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("hostnet run -f %s: no control socket after %v\n%s", dir, startTimeout, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CLI runs `hostnet CMD -socket S ARGS...` and returns its output.
func (h *Hostnet) CLI(cmd string, args ...string) (string, error) {
	return h.e.Run("", cmdTimeout, append([]string{h.bin, cmd, "-socket", h.Socket}, args...)...)
}

// MustCLI is CLI that fails the test on error.
func (h *Hostnet) MustCLI(cmd string, args ...string) string {
	h.e.t.Helper()
	out, err := h.CLI(cmd, args...)
	if err != nil {
		h.e.t.Fatalf("hostnet %s %s: %v\n%s", cmd, strings.Join(args, " "), err, out)
	}
	return out
}

// VMPort is one NIC of a VM as `hostnet status -j` reports it.
type VMPort struct {
	Tap    string `json:"tap"`
	LLAddr string `json:"lladdr"`
	Bridge string `json:"bridge"`
	Port   bool   `json:"port"`
}

// VM is one VM as `hostnet status -j` reports it.
type VM struct {
	Name       string   `json:"name"`
	Interfaces []VMPort `json:"interfaces"`
}

// Status returns the VMs of `hostnet status -j`.
func (h *Hostnet) Status() []VM {
	h.e.t.Helper()
	out := h.MustCLI("status", "-j")
	var vms []VM
	if err := json.Unmarshal([]byte(out), &vms); err != nil {
		h.e.t.Fatalf("hostnet status -j: %v\n%s", err, out)
	}
	return vms
}

// VMPort returns the first NIC of VM name.
func (h *Hostnet) VMPort(name string) VMPort {
	h.e.t.Helper()
	for _, vm := range h.Status() {
		if vm.Name == name && len(vm.Interfaces) > 0 {
			return vm.Interfaces[0]
		}
	}
	h.e.t.Fatalf("hostnet status: no VM %q with an interface", name)
	return VMPort{}
}

// AttachVM moves the tap of VM name into ns, where the namespace's kernel
// plays the guest: the device takes the guest's MAC from vm.conf (or the
// one hostnet chose), the addresses and is set up. It returns the tap's
// name, which is also its name inside ns.
func (h *Hostnet) AttachVM(name, ns string, cidrs ...string) string {
	h.e.t.Helper()
	p := h.VMPort(name)
	if !p.Port {
		h.e.t.Fatalf("hostnet holds no port for %s's tap %s", name, p.Tap)
	}
	h.e.Must(h.NS, "ip", "link", "set", p.Tap, "netns", ns)
	if p.LLAddr != "" {
		h.e.Must(ns, "ip", "link", "set", p.Tap, "address", p.LLAddr)
	}
	h.e.Addr(ns, p.Tap, cidrs...)
	return p.Tap
}

// Reload sends SIGHUP to the daemon's PID and waits until its log says
// the configuration was reloaded, or that the reload failed.
func (h *Hostnet) Reload() error {
	ok, failed := h.reloads()
	if err := h.Signal(syscall.SIGHUP); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		ok2, failed2 := h.reloads()
		if failed2 > failed {
			return errors.New("reload failed:\n" + h.Output())
		}
		if ok2 > ok {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no reload logged %v after SIGHUP", startTimeout)
}

// reloads counts the reloads the daemon has logged, done and failed.
func (h *Hostnet) reloads() (ok, failed int) {
	out := h.Output()
	return strings.Count(out, "configuration reloaded"), strings.Count(out, "reload failed")
}

// CopyDir copies the regular files of src (recursively) into a new
// temporary directory of the test and returns it.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	return dst
}

// WaitListenUDP waits until a socket is bound to UDP port in ns.
func (e *Env) WaitListenUDP(ns string, port int) {
	e.t.Helper()
	e.waitSocket(ns, "-Hlun", port)
}

// Counters are an interface's counters as `hostnet ifconfig -j` reports
// them.
type Counters struct {
	InPackets  uint64 `json:"in_packets"`
	InBytes    uint64 `json:"in_bytes"`
	OutPackets uint64 `json:"out_packets"`
	OutBytes   uint64 `json:"out_bytes"`
	Dropped    uint64 `json:"dropped"`
}

// Counters returns the counters of interface name.
func (h *Hostnet) Counters(name string) Counters {
	h.e.t.Helper()
	out := h.MustCLI("ifconfig", "-j", name)
	type ifc struct {
		Name     string   `json:"name"`
		Counters Counters `json:"counters"`
	}
	var list []ifc
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		var one ifc
		if err := json.Unmarshal([]byte(out), &one); err != nil {
			h.e.t.Fatalf("hostnet ifconfig -j %s: %v\n%s", name, err, out)
		}
		list = []ifc{one}
	}
	for _, i := range list {
		if i.Name == name {
			return i.Counters
		}
	}
	h.e.t.Fatalf("hostnet ifconfig -j %s: no interface %s\n%s", name, name, out)
	return Counters{}
}

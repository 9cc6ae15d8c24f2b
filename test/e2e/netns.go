//go:build linux

package e2e

import (
	"bytes"
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
)

// Timeouts of the harness. Every wait is bounded by one of them.
const (
	cmdTimeout   = 20 * time.Second // one command run to completion
	startTimeout = 10 * time.Second // a daemon's socket, a server's port
	stopTimeout  = 5 * time.Second  // SIGTERM to SIGKILL
)

// Tools maps each command the tests run to the Debian package that has it.
var Tools = map[string]string{
	"ip":      "iproute2",
	"ss":      "iproute2",
	"ping":    "iputils-ping",
	"dnsmasq": "dnsmasq-base",
	"busybox": "busybox",
	"iperf3":  "iperf3",
	"curl":    "curl",
	"nc":      "netcat-openbsd",
	"python3": "python3",
}

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
	missing := missingTools(tools)
	if len(missing) > 0 && InCI() {
		installMu.Lock()
		install(t, missing)
		installMu.Unlock()
		missing = missingTools(tools)
	}
	if len(missing) > 0 {
		var pkgs []string
		for _, m := range missing {
			pkgs = append(pkgs, Tools[m])
		}
		skip(t, "missing tools %s: apt-get install %s", strings.Join(missing, " "), strings.Join(pkgs, " "))
	}
}

func missingTools(tools []string) []string {
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// install installs the packages of tools with apt-get, bounded in time.
func install(t testing.TB, tools []string) {
	t.Helper()
	seen := map[string]bool{}
	var pkgs []string
	for _, tool := range tools {
		if p := Tools[tool]; p != "" && !seen[p] {
			seen[p] = true
			pkgs = append(pkgs, p)
		}
	}
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
	entries, _ := os.ReadDir("/run/netns")
	for _, ent := range entries {
		if strings.HasPrefix(ent.Name(), e.prefix) {
			runQuiet("ip", "netns", "del", ent.Name())
		}
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
		if out, err := runQuiet("ip", "netns", "del", nss[i]); err != nil {
			e.t.Logf("cleanup: ip netns del %s: %v %s", nss[i], err, out)
		}
	}
}

func runQuiet(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// disableIPv6 turns IPv6 off in the namespace it runs in (/proc/sys/net
// is the reader's namespace's), without sysctl(8), which minimal systems
// lack.
const disableIPv6 = "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"

// NS makes a namespace for role ("wan", "web01") with lo up and returns
// its name. IPv6 is turned off in it, so that the only traffic is the
// test's.
func (e *Env) NS(role string) string {
	e.t.Helper()
	name := e.prefix + role
	e.Must("", "ip", "netns", "add", name)
	e.mu.Lock()
	e.nss = append(e.nss, name)
	e.mu.Unlock()
	e.Must(name, "ip", "link", "set", "lo", "up")
	e.Must(name, "sh", "-c", disableIPv6)
	return name
}

// Veth makes a veth pair: name1 in ns1 and name2 in ns2, both up.
func (e *Env) Veth(ns1, name1, ns2, name2 string) {
	e.t.Helper()
	e.Must("", "ip", "link", "add", name1, "netns", ns1, "type", "veth", "peer", "name", name2, "netns", ns2)
	e.Must(ns1, "ip", "link", "set", name1, "up")
	e.Must(ns2, "ip", "link", "set", name2, "up")
}

// Addr gives dev in ns the addresses (CIDR) and sets it up.
func (e *Env) Addr(ns, dev string, cidrs ...string) {
	e.t.Helper()
	for _, c := range cidrs {
		e.Must(ns, "ip", "addr", "add", c, "dev", dev)
	}
	e.Must(ns, "ip", "link", "set", dev, "up")
}

// VLAN makes a Linux VLAN device name on parent (in ns) with id, moves it
// to dst (which may be ns itself), gives it the addresses and sets it up.
func (e *Env) VLAN(ns, parent, name string, id int, dst string, cidrs ...string) {
	e.t.Helper()
	e.Must(ns, "ip", "link", "add", "link", parent, "name", name, "netns", dst, "type", "vlan", "id", strconv.Itoa(id))
	e.Addr(dst, name, cidrs...)
}

// command returns the command that runs args in ns ("" for the current
// one) under ctx.
func command(ctx context.Context, ns string, args ...string) *exec.Cmd {
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second // a grandchild holding the pipes does not hold us
	return cmd
}

// Run runs args in ns within timeout and returns its combined output.
func (e *Env) Run(ns string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := command(ctx, ns, args...).CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timed out after %v)", err, timeout)
	}
	return string(out), err
}

// Must runs args in ns and fails the test if it fails.
func (e *Env) Must(ns string, args ...string) string {
	e.t.Helper()
	out, err := e.Run(ns, cmdTimeout, args...)
	if err != nil {
		e.t.Fatalf("%s: %s: %v\n%s", nsLabel(ns), strings.Join(args, " "), err, out)
	}
	return out
}

func nsLabel(ns string) string {
	if ns == "" {
		return "(root namespace)"
	}
	return ns
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
	deadline := time.Now().Add(startTimeout)
	for {
		out, _ := e.Run(ns, 5*time.Second, "ss", flags, "sport = :"+strconv.Itoa(port))
		if strings.TrimSpace(out) != "" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: no socket on port %d after %v (ss %s)", ns, port, startTimeout, flags)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Proc is a process started by an Env: it runs until Stop or the test's
// cleanup, which stops it by PID.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start starts args in ns in the background. Its output is kept for
// Output and logged when the test fails.
func (e *Env) Start(ns, name string, args ...string) *Proc {
	e.t.Helper()
	cmd := command(context.Background(), ns, args...)
	p := &Proc{Name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("%s: start %s: %v", nsLabel(ns), strings.Join(args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
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

// PID returns the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Output returns what the process printed so far.
func (p *Proc) Output() string { return p.out.String() }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits at most timeout for the process to exit and returns its
// error, or an error saying it still runs.
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still running after %v", p.Name, p.PID(), timeout)
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Stop sends SIGTERM, then SIGKILL if the process has not exited after
// stopTimeout, and waits for it.
func (p *Proc) Stop() {
	if p.Exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopTimeout):
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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
			e.t.Fatalf("hostnet run -f %s exited: %v\n%s", dir, p.err, p.Output())
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

package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timeouts of the commands the package runs itself.
const (
	cmdTimeout = 20 * time.Second // one ip(8) command
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	StopTimeout = 5 * time.Second
)

// DisableIPv6 is a shell command that turns IPv6 off in the namespace it
// runs in (/proc/sys/net is the reader's namespace's), without sysctl(8),
// which minimal systems lack.
const DisableIPv6 = "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"

// Label names ns in messages: "(root namespace)" for "".
func Label(ns string) string {
	if ns == "" {
		return "(root namespace)"
	}
	return ns
}

// Command returns the command that runs args in namespace ns ("" for the
// caller's) under ctx. A grandchild that keeps its output open does not
// hold Wait for more than a second.
func Command(ctx context.Context, ns string, args ...string) *exec.Cmd {
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second
	return cmd
}

// Run runs args in ns within timeout and returns its combined output. The
// error says when the timeout ended it.
func Run(ctx context.Context, ns string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := Command(ctx, ns, args...).CombinedOutput()
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("%w (timed out after %v)", err, timeout)
	}
	return string(out), err
}

// Must runs args in ns like Run and returns an error that names the
// namespace, the command and its output if it fails.
func Must(ctx context.Context, ns string, args ...string) error {
	out, err := Run(ctx, ns, cmdTimeout, args...)
	if err != nil {
		return fmt.Errorf("%s: %s: %v\n%s", Label(ns), strings.Join(args, " "), err, out)
	}
	return nil
}

// Add makes namespace name with lo up and IPv6 off, so that the only
// traffic in it is the caller's. If a later step fails the namespace is
// deleted again.
func Add(ctx context.Context, name string) error {
	if err := Must(ctx, "", "ip", "netns", "add", name); err != nil {
		return err
	}
	for _, args := range [][]string{{"ip", "link", "set", "lo", "up"}, {"sh", "-c", DisableIPv6}} {
		if err := Must(ctx, name, args...); err != nil {
			Delete(name)
			return err
		}
	}
	return nil
}

// Delete deletes namespace name; the links in it go with it.
func Delete(name string) error {
	if out, err := Run(context.Background(), "", cmdTimeout, "ip", "netns", "del", name); err != nil {
		return fmt.Errorf("ip netns del %s: %v %s", name, err, strings.TrimSpace(out))
	}
	return nil
}

// Exists reports whether namespace name exists.
func Exists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// Names returns the namespaces whose names start with prefix.
func Names(prefix string) []string {
	entries, _ := os.ReadDir("/run/netns")
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// Veth makes a veth pair, name1 in ns1 and name2 in ns2, both up. Each end
// is made in its namespace, so that the names never meet the caller's.
func Veth(ctx context.Context, ns1, name1, ns2, name2 string) error {
	for _, c := range [][]string{
		{"", "ip", "link", "add", name1, "netns", ns1, "type", "veth", "peer", "name", name2, "netns", ns2},
		{ns1, "ip", "link", "set", name1, "up"},
		{ns2, "ip", "link", "set", name2, "up"},
	} {
		if err := Must(ctx, c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// Addr gives dev in ns the addresses (CIDR) and sets it up.
func Addr(ctx context.Context, ns, dev string, cidrs ...string) error {
	for _, c := range cidrs {
		if err := Must(ctx, ns, "ip", "addr", "add", c, "dev", dev); err != nil {
			return err
		}
	}
	return Must(ctx, ns, "ip", "link", "set", dev, "up")
}

// WaitSocket waits at most timeout until ss(8) in ns lists a socket on
// port with flags ("-Hltn" for a listening TCP socket, "-Hlun" for UDP).
func WaitSocket(ctx context.Context, ns, flags string, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, _ := Run(ctx, ns, 5*time.Second, "ss", flags, "sport = :"+strconv.Itoa(port))
		if strings.TrimSpace(out) != "" {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no socket on port %d after %v (ss %s)", Label(ns), port, timeout, flags)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Proc is a process started in a namespace. It runs until Stop, or until
// the program that started it dies (Pdeathsig).
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start starts args in ns in the background; name is what messages call
// it. Its output is kept for Output.
func Start(ns, name string, args ...string) (*Proc, error) {
	cmd := Command(context.Background(), ns, args...)
	p := &Proc{Name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %v", Label(ns), strings.Join(args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
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

// Err returns how the process ended: nil while it runs or after exit
// status 0.
func (p *Proc) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
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
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return errors.New(p.Name + ": process already exited")
	}
	return p.cmd.Process.Signal(sig)
}

// Stop sends SIGTERM to the process's PID, then SIGKILL if it has not
// exited after StopTimeout, and waits for it.
func (p *Proc) Stop() {
	if p.Exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(StopTimeout):
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(StopTimeout):
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

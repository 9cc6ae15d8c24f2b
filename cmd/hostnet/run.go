package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/filter"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "-f DIR [-socket PATH] [-pid FILE] [-log text|json] [-v] [-hypervisor]",
		`Run is the hostnet daemon. It loads the configuration directory DIR
(hostname.IF, vm.conf, sysctl.conf, mygate), opens a tap device for every
tap interface (the NICs of vm.conf's VMs and hostname.tapN), attaches every
host NIC that exists on this machine by AF_PACKET (one that does not is
left without a port, with a warning), and forwards frames between them
until it is told to stop.

hostnet holds each tap's descriptor itself, so the tap's kernel side is
the VM's NIC: move it into a network namespace, or give it to a container.
For VMs run by a hypervisor, which opens the tap itself, use -hypervisor:
hostnet then makes each tap persistent and attaches to it by AF_PACKET,
and the hypervisor attaches with -netdev tap,ifname=TAP,script=no,
downscript=no and the guest MAC that 'hostnet status' shows (-device
virtio-net-pci,netdev=...,mac=LLADDR).

It listens on the control socket (mode 0600) for the hostnet commands
status, ifconfig, netstat, arp, ndp, tcpdump, pfctl and reload.

SIGHUP or 'hostnet reload' reloads DIR: the new configuration is built
aside and swapped in whole; the taps of interfaces that are still there
stay open and the bridges keep what they learned. A configuration that
fails to load changes nothing. SIGTERM or SIGINT stops the daemon: the
taps it created are removed, persistent taps that were there before it
stay.`, stderr)
	dir := fs.String("f", "/etc/hostnet", "configuration `DIR`ectory, laid out like /etc")
	socket := fs.String("socket", defaultSocket, "the control socket `PATH`")
	pidFile := fs.String("pid", "", "write the daemon's process id to `FILE`")
	logFmt := fs.String("log", "text", "log format: text or json (to stderr)")
	verbose := fs.Bool("v", false, "log debug messages too")
	pflogFile := fs.String("l", "", "write the packets of pf rules with `log` to `FILE` (pcap, pflog link type, for tcpdump -r)")
	hyper := fs.Bool("hypervisor", false, "leave each tap's descriptor to a hypervisor (QEMU -netdev tap,ifname=tapN,script=no,downscript=no): make the taps persistent and attach to their host side by AF_PACKET")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostnet run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	var h slog.Handler
	switch *logFmt {
	case "text":
		h = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		fmt.Fprintf(stderr, "hostnet run: -log %s: want text or json\n", *logFmt)
		return 2
	}
	log := slog.New(h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				if s == syscall.SIGHUP {
					select {
					case reload <- struct{}{}:
					default:
					}
					continue
				}
				log.Info("stopping", "signal", s.String())
				cancel()
			}
		}
	}()
	var pflog *filter.Pflog
	if *pflogFile != "" {
		f, err := os.Create(*pflogFile)
		if err != nil {
			fmt.Fprintf(stderr, "hostnet run: -l: %v\n", err)
			return 1
		}
		defer f.Close()
		if pflog, err = filter.NewPflog(f); err != nil {
			fmt.Fprintf(stderr, "hostnet run: -l %s: %v\n", *pflogFile, err)
			return 1
		}
	}
	if err := runDaemon(ctx, runOptions{dir: *dir, socket: *socket, pidFile: *pidFile, log: log, reload: reload, hypervisor: *hyper, pflog: pflog}); err != nil {
		fmt.Fprintf(stderr, "hostnet run: %v\n", err)
		return 1
	}
	return 0
}

// runOptions are the settings of runDaemon.
type runOptions struct {
	dir, socket, pidFile string
	log                  *slog.Logger
	// reload receives a value for every SIGHUP.
	reload <-chan struct{}
	// ready, when set, is called once the daemon serves the socket.
	ready func(d *daemon)
	// open, when set, replaces the tap and AF_PACKET backends (tests).
	open func(ifc *dataplane.Interface) (*livePort, error)
	// hypervisor: see daemon.hypervisor.
	hypervisor bool
	// pflog: see daemon.pflog.
	pflog *filter.Pflog
}

// runDaemon runs the daemon until ctx is done. It fails before forwarding
// anything if the configuration does not load, a port cannot be opened,
// the pid file or the socket cannot be made.
func runDaemon(ctx context.Context, o runOptions) error {
	log := o.log
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile); err != nil {
			return err
		}
		defer os.Remove(o.pidFile)
	}
	ln, err := listenControl(o.socket)
	if err != nil {
		return err
	}
	defer ln.Close() // removes the socket
	d := newDaemon(o.dir, log)
	d.open = o.open
	d.hypervisor = o.hypervisor
	d.pflog = o.pflog
	if err := d.start(); err != nil {
		return err
	}
	defer d.close()
	srv := &server{log: log, handlers: d.handlers(), streams: d.streams()}
	sctx, scancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() {
		srv.serve(sctx, ln)
		close(served)
	}()
	defer func() {
		scancel()
		<-served
	}()
	log.Info("hostnet running", "socket", o.socket, "pid", os.Getpid(), "dir", o.dir)
	if o.ready != nil {
		o.ready(d)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-o.reload:
			if _, err := d.reload(); err != nil {
				log.Error("reload failed: running configuration unchanged", "err", err)
			}
		}
	}
}

// writePidFile writes the process id to path. It refuses a pid file whose
// process is still alive.
func writePidFile(path string) error {
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 && pid != os.Getpid() {
			if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
				return fmt.Errorf("pid file %s: process %d is running", path, pid)
			}
		}
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

func cmdReload(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("reload", "[-socket PATH] [-j]",
		`Reload makes the running daemon load its configuration directory again,
as SIGHUP does, and prints what changed. A configuration that fails to load
changes nothing: the errors are printed and the exit status is 1.`, stderr)
	cf := addClientFlags(fs)
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostnet reload: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	return remote("reload", cf, nil, stdout, stderr)
}

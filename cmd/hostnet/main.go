// Command hostnet is a userspace virtual switch and router for hosts that
// run virtual machines, configured from the files of an OpenBSD host
// (hostname.if, vm.conf, pf.conf, sysctl.conf, mygate).
//
// Usage:
//
//	hostnet COMMAND [flags] [args]
//
// Run `hostnet help` for the list of commands and `hostnet COMMAND -h` for
// the flags of one.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// command is one subcommand of hostnet. run returns the exit status.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is filled in init so that a command's run may refer back to the
// table (help does).
var commands []command

func init() {
	commands = []command{
		{"replay", "feed pcap files through the dataplane, write what each interface sends", cmdReplay},
		{"check", "parse and validate a configuration directory, apply nothing", cmdCheck},
		{"run", "the daemon: network the VMs and interfaces of a configuration directory", cmdRun},
		{"reload", "make the running daemon reload its configuration (as SIGHUP)", cmdReload},
		{"status", "list the VMs with their taps, MACs and switches, as vmctl status", cmdStatus},
		{"ifconfig", "show interfaces, bridge members and learned addresses, as ifconfig(8)", cmdIfconfig},
		{"netstat", "show the routing tables, as netstat -rn", cmdNetstat},
		{"arp", "show the ARP cache, as arp -an", cmdArp},
		{"ndp", "show the IPv6 neighbour cache, as ndp -an", cmdNdp},
		{"tcpdump", "capture the frames of one interface live, as tcpdump(8)", cmdTcpdump},
		{"pfctl", "show or check pf rules, as pfctl(8) does (-nvf FILE offline)", cmdPfctl},
		{"bench", "measure the frame path in memory, and hostnet against the Linux bridge through taps (root)", cmdBench},
		{"demo", "build the seed's topology in namespaces and show what passes and what is blocked (root)", cmdDemo},
		{"version", "print hostnet's version", cmdVersion},
		{"help", "list the commands, or explain one", cmdHelp},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a command and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "hostnet: unknown command %q\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "hostnet: a userspace virtual switch and router for VM hosts\n\n")
	fmt.Fprintf(w, "Usage:\n\n\thostnet COMMAND [flags] [args]\n\nCommands:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'hostnet COMMAND -h' for the flags of a command.\n")
}

func cmdHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run([]string{"-h"}, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "hostnet help: unknown command %q\n", args[0])
	return 2
}

// version is set at link time with -ldflags "-X main.version=...". Without
// it, the module version or VCS revision from the build info is used.
var version = ""

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if v == "" {
			var rev, dirty string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					if s.Value == "true" {
						dirty = "+dirty"
					}
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" {
				v = "devel-" + rev + dirty
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	return v
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", "print hostnet's version, the Go version and the platform", stderr)
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	fmt.Fprintf(stdout, "hostnet %s %s %s/%s\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// statusVM is one VM of vm.conf as `hostnet status` shows it.
type statusVM struct {
	ID     int    `json:"id"`
	Name   string `json:"name"`
	VCPUs  int    `json:"vcpus"`
	MaxMem int64  `json:"maxmem"` // bytes; 0 unset
	Owner  string `json:"owner"`
	// State is "stopped" for a VM vm.conf disables; under -hypervisor,
	// "running" or "stopped" by the carrier of its taps; else "unknown":
	// hostnet networks VMs but does not run them.
	State      string         `json:"state"`
	Interfaces []statusVMPort `json:"interfaces"`
}

// statusVMPort is one NIC of a VM.
type statusVMPort struct {
	Tap    string `json:"tap"`
	LLAddr string `json:"lladdr"` // the guest's MAC, for the hypervisor's command line
	Locked bool   `json:"locked"`
	Switch string `json:"switch,omitempty"`
	Bridge string `json:"bridge,omitempty"`
	// Port reports whether hostnet holds the tap open.
	Port bool `json:"port"`
}

func (d *daemon) handleStatus(ctx context.Context, args []string) (string, any, error) {
	if _, err := serverFlags("status", args, func(*flag.FlagSet) {}); err != nil {
		return "", nil, err
	}
	vms := statusOf(d.current())
	ports := d.portStates()
	for i := range vms {
		for j := range vms[i].Interfaces {
			p := &vms[i].Interfaces[j]
			p.Port = p.Port && !ports[p.Tap].dead
		}
		if d.hypervisor && vms[i].State == "unknown" {
			vms[i].State = hypervisorState(vms[i], linkCarrier)
		}
	}
	var b strings.Builder
	formatStatus(&b, vms)
	return b.String(), vms, nil
}

// statusOf returns the VMs of g's configuration with their taps.
func statusOf(g *generation) []statusVM {
	vms := []statusVM{}
	for i, vm := range g.spec.VMs {
		s := statusVM{ID: i + 1, Name: vm.Name, VCPUs: 1, MaxMem: vm.Memory, Owner: vm.Owner, State: "unknown",
			Interfaces: []statusVMPort{}}
		if s.Owner == "" {
			s.Owner = "root"
		}
		if vm.Disabled {
			s.State = "stopped"
		}
		for _, vi := range vm.Interfaces {
			p := statusVMPort{Tap: vi.IfName, LLAddr: vi.MAC.String(), Locked: vi.Locked, Switch: vi.Switch}
			if ci := g.spec.Interface(vi.IfName); ci != nil {
				p.Locked = ci.Locked
			}
			if ifc, ok := g.dp.Interface(vi.IfName); ok {
				p.Bridge = ifc.MemberOf()
				p.Port = ifc.Port() != nil
			}
			s.Interfaces = append(s.Interfaces, p)
		}
		vms = append(vms, s)
	}
	return vms
}

// hypervisorState tells from the taps of a VM whether a hypervisor runs
// it, when hostnet leaves the taps to one (-hypervisor): a tap has carrier
// while a process holds its descriptor. "running" if every tap has
// carrier, "stopped" if none has, else "unknown".
func hypervisorState(vm statusVM, carrier func(name string) (bool, bool)) string {
	up, down := 0, 0
	for _, p := range vm.Interfaces {
		on, ok := carrier(p.Tap)
		switch {
		case !ok:
			return "unknown"
		case on:
			up++
		default:
			down++
		}
	}
	switch {
	case up > 0 && down == 0:
		return "running"
	case down > 0 && up == 0:
		return "stopped"
	}
	return "unknown"
}

// linkCarrier reports whether the network interface name has carrier, and
// whether that could be told (Linux's /sys/class/net).
func linkCarrier(name string) (carrier, ok bool) {
	b, err := os.ReadFile("/sys/class/net/" + name + "/carrier")
	if err != nil {
		return false, false
	}
	return strings.TrimSpace(string(b)) == "1", true
}

// formatStatus prints vms as vmctl status does, with the columns vmctl
// lacks (TAP, LLADDR, SWITCH, BRIDGE) after NAME; a VM's further NICs get
// a line each under it.
func formatStatus(w io.Writer, vms []statusVM) {
	nameW := len("NAME")
	for _, vm := range vms {
		nameW = max(nameW, len(vm.Name))
	}
	fmt.Fprintf(w, "%5s %5s %5s %7s %7s %7s %12s %8s %-*s %-7s %-17s %-10s %s\n",
		"ID", "PID", "VCPUS", "MAXMEM", "CURMEM", "TTY", "OWNER", "STATE", nameW, "NAME", "TAP", "LLADDR", "SWITCH", "BRIDGE")
	for _, vm := range vms {
		mem := "-"
		if vm.MaxMem > 0 {
			mem = fmtScaled(vm.MaxMem)
		}
		head := fmt.Sprintf("%5d %5s %5d %7s %7s %7s %12s %8s %-*s", vm.ID, "-", vm.VCPUs, mem, "-", "-", vm.Owner, vm.State, nameW, vm.Name)
		if len(vm.Interfaces) == 0 {
			fmt.Fprintf(w, "%s %-7s %-17s %-10s %s\n", head, "-", "-", "-", "-")
			continue
		}
		for i, p := range vm.Interfaces {
			if i > 0 {
				head = strings.Repeat(" ", len(head))
			}
			sw, br, mac := orDash(p.Switch), orDash(p.Bridge), p.LLAddr
			if p.Locked {
				mac += "*"
			}
			fmt.Fprintf(w, "%s %-7s %-17s %-10s %s\n", head, p.Tap, mac, sw, br)
		}
	}
	if anyLocked(vms) {
		fmt.Fprintf(w, "(* locked lladdr: frames from the VM must have this source MAC)\n")
	}
}

func anyLocked(vms []statusVM) bool {
	for _, vm := range vms {
		for _, p := range vm.Interfaces {
			if p.Locked {
				return true
			}
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtScaled formats a byte count as OpenBSD's fmt_scaled(3) does: the
// largest unit that keeps the number below 1024, with one decimal below
// 10 ("1.0G", "512M").
func fmtScaled(n int64) string {
	const units = "BKMGTPE"
	f := float64(n)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%dB", n)
	}
	if f < 10 {
		return fmt.Sprintf("%.1f%c", f, units[u])
	}
	return fmt.Sprintf("%.0f%c", f, units[u])
}

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", "[-socket PATH] [-j]",
		`Status lists the VMs of vm.conf as vmctl status does, with what vmctl does
not show: each NIC's tap, the guest's MAC address (LLADDR, for the
hypervisor's command line, e.g. QEMU's -device virtio-net,mac=LLADDR), the
vm.conf switch and the bridge the tap is a member of.

hostnet networks VMs but does not run them: PID, CURMEM and TTY are "-".
STATE is "stopped" for a VM vm.conf disables; under 'hostnet run
-hypervisor' it is "running" while a hypervisor holds every tap of the VM
(the taps have carrier) and "stopped" while none does; otherwise
"unknown".`, stderr)
	cf := addClientFlags(fs)
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostnet status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	return remote("status", cf, args, stdout, stderr)
}

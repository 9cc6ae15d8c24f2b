// Package config reads the configuration files of an OpenBSD host that
// hostnet runs from: hostname.if(5), vm.conf(5), sysctl.conf(5) and
// mygate(5), in a directory laid out like /etc. It returns a Spec, plain
// deterministic data: the same directory gives the same Spec on any
// machine. Nothing here acts on the configuration.
//
// # DIRECTORY
//
// Load(dir) reads every hostname.IF file of dir (IF is the interface
// name), and sysctl.conf, mygate and vm.conf when they exist. Paths named
// inside the files resolve inside dir: "/etc/X" and "X" both mean dir/X;
// other absolute paths and paths leaving dir are errors.
//
// Every error is reported as FILE:LINE: MESSAGE or FILE:LINE:COL: MESSAGE,
// saying what was found and what was expected. All errors of a file are
// reported (up to ten, then a count), and the errors of all files
// together.
//
// # INTERFACES
//
// The kind of an interface comes from its name, as on OpenBSD: tapN (a
// VM's NIC), vetherN (an interface of hostnet's IP stack), vlanN and
// svlanN (802.1Q and 802.1ad on a parent), bridgeN; any other name is a
// host NIC (em1, eth0). veb(4) and vport(4) are refused. Names are at most
// 15 characters.
//
// # HOSTNAME.IF
//
// Each line of hostname.IF is an ifconfig(8) argument list; several
// commands may share a line ("inet 10.0.0.1/24 up"). Blanks separate
// words; "..." and '...' quote, a backslash escapes " and \ inside double
// quotes; a # at the start of a word begins a comment. A line starting
// with ! (a shell command for netstart) is refused. An unknown keyword is
// an error, and so is a keyword that does not apply to the interface's
// kind (the error names both). Commands apply in order: "add em1" then
// "del em1" leaves no member. Commands of every kind:
//
//	up | down
//	description TEXT | descr TEXT | -description
//	group NAME | -group NAME     (at most 15 characters, not ending in a digit)
//	rdomain N                    (0-255)
//	link0 | link1 | link2 | -link0 | -link1 | -link2
//
// Host NICs, taps, vether, vlan and svlan:
//
//	inet [alias] ADDR[/LEN] [[netmask] MASK [[broadcast] BCAST | NONE]] [broadcast BCAST]
//	inet6 [alias] ADDR[/LEN] [PREFIXLEN | prefixlen N]
//	dest ADDR                    (point-to-point destination of the last address)
//	lladdr MAC | lladdr random
//	mtu N                        (68-65535)
//
// MASK is dotted (255.255.255.0) or hex (0xffffff00) and contiguous; with
// neither a mask nor /LEN the classful mask applies (A /8, B /16, C /24).
// The broadcast address defaults to the all-ones host address (none for
// /31 and /32). inet without alias replaces the first address; inet alias
// adds one. inet6 adds; the prefix length defaults to 64. dhcp, autoconf,
// rtsol, inet autoconf and inet6 autoconf are refused as not supported
// yet.
//
// vlan and svlan (vlan(4)):
//
//	parent IF | vlandev IF | -parent | -vlandev
//	vnetid N | vlan N | -vnetid  (1-4094, as OpenBSD's vlan(4) takes)
//	txprio 0-7 | txprio packet   (default packet)
//	rxprio 0-7 | rxprio packet | rxprio outer   (default outer)
//
// Priorities are stored as 0-7, PrioPacket or PrioOuter.
//
// bridge (bridge(4)); IF must be a member where the option names one:
//
//	add IF | del IF              (del forgets IF's static entries and rules)
//	timeout SECONDS              (default 240; 0: entries never age)
//	maxaddr N                    (default 100; at most MaxMaxAddr)
//	static IF MAC | deladdr MAC | flush | flushall
//	protected IF ID[,ID...] | -protected IF   (ids 1-31)
//	learn IF | -learn IF | discover IF | -discover IF | blocknonip IF | -blocknonip IF
//	addspan IF | delspan IF      (a span port is never a member)
//	rule ACTION ...              (takes the rest of the line)
//	rulefile FILE                (rules one per line, without the word rule)
//	flushrule IF
//
// A member is added with learn and discover on, as bridge(4) does. A
// rule is
//
//	block | pass  [in | out | in/out]  on IF  [src MAC] [dst MAC] [tag NAME]
//	    [arp | rarp [request | reply] [sha MAC] [spa ADDR] [tha MAC] [tpa ADDR]]
//
// with no direction meaning both. The spanning tree options (stp, -stp,
// maxage, fwddelay, hellotime, priority, proto, ifpriority, ifcost,
// -ifcost, autoedge, edge, autoptp, ptp and their negations, holdcnt,
// spanpriority) are refused: hostnet runs no spanning tree.
//
// # VM.CONF
//
// vm.conf follows vm.conf(5) and vmd's parser. # begins a comment, a
// backslash at the end of a line continues it, strings are quoted with "
// or '. Keywords are reserved unless quoted.
//
//	NAME = VALUE                 macro; $NAME expands in unquoted text
//	include "FILE"
//	switch NAME {
//		interface bridgeN        (required; vebN refused)
//		locked lladdr            (every VM interface on the switch)
//		group NAME
//		rdomain N
//		up | down
//		enable | disable
//	}
//	vm NAME {
//		memory SIZE              (bytes, or with K, M, G, T; at least 1M)
//		disk PATH [format raw | qcow2]   (at most 4)
//		boot PATH | boot device disk | cdrom | net
//		cdrom PATH
//		owner USER[:GROUP] | :GROUP | UID
//		enable | disable
//		interfaces N             (1-4)
//		interface [tap | tapN] [{ OPTION[, OPTION ...] }]
//	}
//	OPTION:
//		switch NAME
//		[locked] lladdr [MAC]
//		group NAME
//		rdomain N
//		up | down
//
// Block options are separated by newlines or commas. An undefined macro is
// an error, an unused one a warning. A VM has at most 4 interfaces;
// "interfaces N" asks for N, the interface clauses describing the first
// ones. local interface, local prefix, instances and the other vmd
// options that configure the hypervisor itself are refused. memory, disk,
// boot, cdrom and owner are kept for status output only.
//
// Load gives each VM interface a tap: the tapN written, or for none or
// the bare tap the lowest-numbered tapN that no hostname file, bridge or
// other VM interface names, in vm.conf order (vmd's order). A VM
// interface without lladdr gets GuestMAC(vm, index): fe:e1:ba:d0 and two
// bytes of a hash of the VM name and index, moved to the next free value
// on a collision. The tap of an interface on a switch becomes a member of
// the switch's bridge (learn and discover on), the bridge being created,
// up, when it has no hostname file. A switch that no vm.conf switch
// defines, or a disabled one, is a warning and the tap joins no bridge.
// Disabled VMs get their taps too, so that enabling one moves no other
// VM's tap.
//
// # SYSCTL.CONF AND MYGATE
//
// sysctl.conf lines are NAME=VALUE with # comments; hostnet acts on
// net.inet.ip.forwarding and net.inet6.ip6.forwarding (0 or 1), and any
// other name is ignored with a warning, so that a real host's file loads.
// mygate holds at most one IPv4 and one
// IPv6 gateway address, one per line, with # comments.
//
// # WARNINGS
//
// Load returns the warnings `hostnet check` prints (Spec.Warnings and
// vm.conf's): a vlan and its parent in one bridge (a flooded frame leaves
// the parent both untagged and tagged), a vlan with no parent or vnetid,
// a VM on an undefined switch, on a switch whose bridge has no hostname
// file, or on no switch, and an unused macro.
//
// # FORMAT
//
// FormatHostnameIf, FormatVMConf, FormatSysctl, FormatMygate and Format
// write the files back; parsing what they write gives the same data up
// to file and line positions (the fuzz tests check it).
package config

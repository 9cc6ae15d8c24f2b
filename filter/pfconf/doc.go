// Package pfconf reads pf.conf(5), OpenBSD's packet filter configuration,
// into plain data, and prints it back the way `pfctl -o none -nv` does.
//
// # Parsing
//
// Parse, ParseWith and Load turn text into a Spec: macros expanded,
// lists expanded into one rule per combination in pfctl's order, every
// parse-time default applied. The same text and ParseOptions give the
// same Spec on any machine: interface addresses come from
// ParseOptions.Interfaces, never from the running system, names of ports
// and protocols from tables bundled with the package (OpenBSD's
// /etc/services and /etc/protocols), and host names are never looked up.
// Every error of a load is reported as FILE:LINE: message (up to ten,
// joined with errors.Join, then a count); a load with any error returns no
// Spec.
//
// # The language
//
// A file is a list of statements, one per line; a backslash at the end
// of a line continues it, `#` starts a comment. Statements:
//
//	NAME = "value" ...          macro; $NAME expands to its text anywhere
//	                            outside quotes (the text is lexed again, so
//	                            a value "{ a, b }" is a list). Strings after
//	                            = are joined with spaces; a macro may be
//	                            defined from others. Redefinition is allowed.
//	include "file"              parse another file here, with the same macros
//	table <name> [persist] [const] [counters] [file "path"] [{ addr ... }]
//	set skip on IFLIST | block-policy drop|return | state-policy
//	    if-bound|floating | optimization X | ruleset-optimization X |
//	    timeout NAME N | timeout { ... } | limit NAME N | limit { ... } |
//	    loginterface IF|none | hostid N | reassemble yes|no [no-df] |
//	    debug LEVEL | syncookies MODE | fingerprints "file"
//	pass|block|match RULE       filter rules (below)
//	anchor ["name"] RULE [{ statements }]
//	load anchor "name" from "file"
//	antispoof [log] [quick] for IFLIST [inet|inet6] [label "text"]
//
// A rule is, in this order:
//
//	pass | match | block [drop | return | return-rst[(ttl N)] |
//	                      return-icmp[(code[, code6])] | return-icmp6[(code)]]
//	[in | out] [log [(all, matches, user, to pflogN)]] [quick]
//	[on [!] IF | on { IF ... }] [inet | inet6]
//	[proto P | proto { P ... }]
//	[all | [from SRC [port PORTS]] [to DST [port PORTS]]]
//	[options ...]
//
// Addresses: any, a host, CIDR (host bits are cleared: 10.1.2.3/8 is
// 10.0.0.0/8, and 10/8 is accepted), a range `a - b`, an interface or
// group name (its addresses now; with :network, :broadcast, :peer, :0 and
// /N), `(IF[:mod])[/N]` (its addresses whenever the rule is evaluated),
// `<table>`, self, no-route, urpf-failed; `!` negates one address. In a
// list `{ !a, b }` each element becomes its own rule: "not a" or "b".
// Ports: N, a service name, `= != < <= > >=` N, `a:b` (inclusive),
// `a >< b` (exclusive), `a <> b` (outside). When a rule names no address
// family, pfctl's is inferred from its addresses and translation pools,
// and combinations whose families disagree are dropped.
//
// Options: user, group, flags F/M | flags any, icmp-type T [code C],
// icmp6-type, tos, prio, max-pkt-rate, set (prio, tos), no state | keep
// state | modulate state | synproxy state with (max, no-sync,
// source-track [rule|global], max-src-states, max-src-conn,
// max-src-conn-rate, max-src-nodes, overload <t> [flush [global]],
// if-bound, floating, sloppy, pflow, TIMEOUT N), probability, fragment,
// scrub (no-df, random-id, min-ttl, max-mss, reassemble tcp), allow-opts,
// label (with $if $srcaddr $dstaddr $srcport $dstport $proto $nr), tag,
// [!] tagged, received-on, once, nat-to, rdr-to, binat-to (expanded into
// a nat-to rule and the reverse rdr-to rule), af-to inet|inet6 from POOL
// [to POOL], route-to, reply-to, dup-to. Pools take `port N[:M|:*]` and
// bitmask, random, source-hash [key], round-robin, least-states,
// sticky-address, static-port; a list or an interface with several
// addresses becomes a const table __automatic_N.
//
// Defaults applied at parse time, as pfctl does: pass rules keep state
// and, for TCP, check flags S/SA; a bare block takes the block-policy in
// force at that point of its file; set state-policy if-bound binds the
// states of later rules; max N sets the adaptive timeouts to 60% and 120%
// of N; max-src-conn-rate sets src.track.
//
// Refused with a message: queueing (queue, set queue), divert-to,
// rtable, route labels, os fingerprints, the pre-4.7 nat/rdr/binat/scrub
// rules.
//
// # Anchors
//
// `anchor "name"` calls a ruleset; `anchor "name" { ... }` also defines
// it inline (an unnamed inline anchor gets the name _N); `anchor "vm/*"`
// calls every child of vm. Names are relative to the anchor being parsed.
// `load anchor NAME from FILE` parses FILE into that anchor with its own
// macros and its own block-policy, as pfctl does. Load resolves files
// inside the configuration directory (/etc/X is DIR/X), and the glob form
// `load anchor "vm/*" from "/etc/pf.vm/*.conf"` loads each file into
// vm/<basename without .conf>. As an extension of hostnet, the anchor
// vm/NAME of a VM named NAME in ParseOptions.VMs has the macros vm_name
// and vm_if predefined; a macro the file defines itself wins.
//
// # Printing
//
// Spec.Format prints what pfctl -o none -nv prints: macro definitions,
// tables and options as they were parsed, then the rules, each anchor's
// rules nested in braces below the first rule that calls it (two spaces
// per level). FormatRule prints one rule (pfctl's print_rule) and
// Spec.FormatRules one anchor, as `pfctl -a ANCHOR -sr` shows it. The
// printed text parses back to the same rules. Spec.Optimize applies the
// table merge of pfctl's basic optimizer.
package pfconf

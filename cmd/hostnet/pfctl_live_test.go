package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/filter"
)

func TestParsePfctlArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want pfctlRequest
		err  string // substring of the error; "" for none
	}{
		{name: "rules", args: []string{"-sr"}, want: pfctlRequest{show: "rules"}},
		{name: "vv rules", args: []string{"-vvsr"}, want: pfctlRequest{verbose: 2, show: "rules"}},
		{name: "split value", args: []string{"-v", "-s", "rules"}, want: pfctlRequest{verbose: 1, show: "rules"}},
		{name: "anchor glob", args: []string{"-a", "vm/*", "-sr"}, want: pfctlRequest{anchor: "vm/*", show: "rules"}},
		{name: "anchor slashes", args: []string{"-a/vm/web01/", "-sr"}, want: pfctlRequest{anchor: "vm/web01", show: "rules"}},
		{name: "states", args: []string{"-s", "s"}, want: pfctlRequest{show: "states"}},
		{name: "Sources", args: []string{"-sS"}, want: pfctlRequest{show: "Sources"}},
		{name: "info json", args: []string{"-j", "-si"}, want: pfctlRequest{json: true, show: "info"}},
		{name: "all", args: []string{"-sa"}, want: pfctlRequest{show: "all"}},
		{name: "timeouts", args: []string{"-st"}, want: pfctlRequest{show: "timeouts"}},
		{name: "flush states", args: []string{"-F", "states"}, want: pfctlRequest{flush: "states"}},
		{name: "flush abbreviated", args: []string{"-Fs"}, want: pfctlRequest{flush: "states"}},
		{name: "kill pair", args: []string{"-k", "10.0.0.1", "-k", "10.0.0.2"}, want: pfctlRequest{kill: []string{"10.0.0.1", "10.0.0.2"}}},
		{name: "load quiet", args: []string{"-qf", "/etc/pf.conf"}, want: pfctlRequest{quiet: true, file: "/etc/pf.conf"}},
		{name: "optimizer ignored", args: []string{"-o", "basic", "-nf", "pf.conf"}, want: pfctlRequest{noAction: true, file: "pf.conf"}},
		{name: "enable", args: []string{"-e"}, want: pfctlRequest{enable: true}},
		{name: "disable", args: []string{"-d"}, want: pfctlRequest{disable: true}},
		{name: "dashes", args: []string{"-sr", "--"}, want: pfctlRequest{show: "rules"}},
		{name: "unknown show", args: []string{"-s", "x"}, err: `-s x: unknown modifier "x"`},
		{name: "empty show", args: []string{"-s", ""}, err: "-s : unknown modifier"},
		{name: "flush Sources", args: []string{"-F", "S"}, want: pfctlRequest{flush: "Sources"}},
		{name: "flush Reset", args: []string{"-FR"}, want: pfctlRequest{flush: "Reset"}},
		{name: "missing value", args: []string{"-s"}, err: "option -s needs an argument"},
		{name: "unknown option", args: []string{"-x"}, err: "unknown option -x"},
		{name: "argument", args: []string{"rules"}, err: `unexpected argument "rules"`},
		{name: "after dashes", args: []string{"--", "-sr"}, err: `unexpected argument "-sr"`},
		{name: "three kills", args: []string{"-k", "a", "-k", "b", "-k", "c"}, err: "at most two"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePfctlArgs(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parsePfctlArgs(%q) = %+v, %v; want error %q", tc.args, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePfctlArgs(%q): %v", tc.args, err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("parsePfctlArgs(%q) = %+v, want %+v", tc.args, *got, tc.want)
			}
		})
	}
}

// pfFiles is a bridged configuration with pf: web01 on tap0 and db01 on
// tap1, UDP from the LAN let in on tap0, and each VM's anchor deciding
// what goes out to it.
var pfFiles = map[string]string{
	"vm.conf": twoVMs,
	"pf.conf": `block all
pass in on tap0 proto udp from 10.0.0.0/24
pass in on tap1 proto udp from 10.0.0.0/24
anchor "vm/*"
load anchor "vm/*" from "/etc/pf.vm/*.conf"
`,
	"pf.vm/web01.conf": "pass out on tap0 proto tcp to port 80\n",
	"pf.vm/db01.conf":  "pass out on tap1 proto udp to port 53\n",
}

var (
	ipWeb = net.IP{10, 0, 0, 5}
	ipDB  = net.IP{10, 0, 0, 6}
)

// udpFrame builds a UDP datagram in an Ethernet frame.
func udpFrame(t *testing.T, srcMAC, dstMAC net.HardwareAddr, src, dst net.IP, sport, dport int) []byte {
	t.Helper()
	return build(t,
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst},
		&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)},
		gopacket.Payload("query"))
}

// dnsExchange sends a query from web01 (tap0) to db01 (tap1) port 53 and
// db01's answer back, and waits for both to cross the bridge: two
// states, in on tap0 and out on tap1.
func dnsExchange(t *testing.T, mp *memPorts) {
	t.Helper()
	tap0, tap1 := mp.port("tap0"), mp.port("tap1")
	n0, n1 := len(tap0.Sent()), len(tap1.Sent())
	if err := tap0.Inject(udpFrame(t, hwA, hwB, ipWeb, ipDB, 40000, 53)); err != nil {
		t.Fatal(err)
	}
	if !tap1.WaitSent(n1+1, 5*time.Second) {
		t.Fatalf("query from tap0 did not reach tap1")
	}
	if err := tap1.Inject(udpFrame(t, hwB, hwA, ipDB, ipWeb, 53, 40000)); err != nil {
		t.Fatal(err)
	}
	if !tap0.WaitSent(n0+1, 5*time.Second) {
		t.Fatalf("answer from tap1 did not reach tap0")
	}
}

// pfctlOut runs hostnet pfctl ARGS against the daemon at sock and
// returns its exit status, stdout and stderr.
func pfctlOut(t *testing.T, sock string, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(t, append([]string{"pfctl", "-socket", sock}, args...)...)
}

// pfctlJSON runs hostnet pfctl -j ARGS and decodes its output into v.
func pfctlJSON(t *testing.T, sock string, v any, args ...string) {
	t.Helper()
	code, out, errs := pfctlOut(t, sock, append([]string{"-j"}, args...)...)
	if code != 0 {
		t.Fatalf("pfctl -j %q: exit %d, stderr %q", args, code, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("pfctl -j %q: %v in\n%s", args, err, out)
	}
}

func TestPfctlLive(t *testing.T) {
	_, mp, sock, dir := startSocketDaemon(t, pfFiles)
	dnsExchange(t, mp)

	const states = "all udp 10.0.0.6:53 <- 10.0.0.5:40000       SINGLE:MULTIPLE\n" +
		"all udp 10.0.0.5:40000 -> 10.0.0.6:53       MULTIPLE:SINGLE\n"
	show := []struct {
		name string
		args []string
		want string   // the whole output, when set
		has  []string // substrings of the output
		re   string   // a line of the output matches it
	}{
		{name: "rules", args: []string{"-sr"}, want: `block drop all
pass in on tap0 inet proto udp from 10.0.0.0/24 to any
pass in on tap1 inet proto udp from 10.0.0.0/24 to any
anchor "vm/*" all
`},
		{name: "rules spelt out", args: []string{"-s", "rules"}, has: []string{"block drop all\n"}},
		{name: "rules with counters", args: []string{"-vsr"}, has: []string{
			"pass in on tap0 inet proto udp from 10.0.0.0/24 to any\n  [ Evaluations: 2         Packets: 2           Bytes: 66          States: 1     ]\n  [ Inserted: uid 0 pid 0 State Creations: 1     ]\n",
			"pass in on tap1 inet proto udp from 10.0.0.0/24 to any\n  [ Evaluations: 2         Packets: 0           Bytes: 0           States: 0     ]\n",
		}},
		{name: "rules numbered", args: []string{"-vvsr"}, has: []string{"@0 block drop all\n", "@1 pass in on tap0 ", "@3 anchor \"vm/*\" all\n"}, re: `^@\d+ anchor "vm/\*" all$`},
		{name: "vm anchors", args: []string{"-a", "vm/*", "-sr"}, want: "pass out on tap1 proto udp from any to any port = 53\n" +
			"pass out on tap0 proto tcp from any to any port = 80 flags S/SA\n"},
		{name: "vm anchors with counters", args: []string{"-a", "vm/*", "-vsr"}, has: []string{
			"pass out on tap1 proto udp from any to any port = 53\n  [ Evaluations: 2         Packets: 2           Bytes: 66          States: 1     ]\n"}},
		{name: "one anchor", args: []string{"-a", "vm/web01", "-sr"}, want: "pass out on tap0 proto tcp from any to any port = 80 flags S/SA\n"},
		{name: "anchors", args: []string{"-sA"}, want: "  vm\n"},
		{name: "anchors recursive", args: []string{"-vsA"}, want: "  vm\n  vm/db01\n  vm/web01\n"},
		{name: "anchors of vm", args: []string{"-a", "vm", "-sA"}, want: "  vm/db01\n  vm/web01\n"},
		{name: "anchors of a leaf", args: []string{"-a", "vm/web01", "-sA"}, want: ""},
		{name: "states", args: []string{"-ss"}, want: states},
		{name: "states verbose", args: []string{"-vss"}, has: []string{
			"all udp 10.0.0.6:53 <- 10.0.0.5:40000       SINGLE:MULTIPLE\n   age 00:00:0",
			", 1:1 pkts, 33:33 bytes, rule 1\n",
			", 1:1 pkts, 33:33 bytes, anchor 3, rule 0\n"}},
		{name: "states very verbose", args: []string{"-vvss"}, re: `^   id: [0-9a-f]{16} creatorid: 00000000$`},
		{name: "info", args: []string{"-si"}, has: []string{"Status: Enabled for 0 days 00:00:0", "Debug: err\n\n",
			"  current entries                        2\n", "  inserts                                2 ", "Counters\n  match  "}},
		{name: "info verbose", args: []string{"-vsi"}, has: []string{"Limit Counters\n  max states per rule "}},
		{name: "timeouts", args: []string{"-st"}, has: []string{"tcp.first                   120s\n", "udp.multiple                 60s\n", "adaptive.start            60000 states\n"}},
		{name: "all", args: []string{"-sa"}, has: []string{"FILTER RULES:\nblock drop all\n", "\nSTATES:\n" + states, "\nINFO:\nStatus: Enabled", "\nTIMEOUTS:\ntcp.first "}},
	}
	for _, tc := range show {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := pfctlOut(t, sock, tc.args...)
			if code != 0 {
				t.Fatalf("pfctl %q: exit %d, stderr %q", tc.args, code, errs)
			}
			if tc.want != "" && out != tc.want {
				t.Errorf("pfctl %q printed\n%s\nwant\n%s", tc.args, out, tc.want)
			}
			for _, h := range tc.has {
				if !strings.Contains(out, h) {
					t.Errorf("pfctl %q printed\n%s\nwant it to contain %q", tc.args, out, h)
				}
			}
			if tc.re != "" && !regexp.MustCompile(`(?m)`+tc.re).MatchString(out) {
				t.Errorf("pfctl %q printed\n%s\nwant a line matching %q", tc.args, out, tc.re)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var rules []pfctlRule
		pfctlJSON(t, sock, &rules, "-sr")
		if len(rules) != 4 || rules[1].Rule != "pass in on tap0 inet proto udp from 10.0.0.0/24 to any" ||
			rules[1].Nr != 1 || rules[1].Counters.States != 1 || rules[1].Counters.Packets != [2]uint64{1, 1} {
			t.Errorf("pfctl -j -sr = %+v, want 4 rules, @1 pass in on tap0 with 1 state and 1:1 packets", rules)
		}
		pfctlJSON(t, sock, &rules, "-a", "vm/*", "-sr")
		if len(rules) != 2 || rules[0].Anchor != "vm/db01" || rules[1].Anchor != "vm/web01" || rules[0].Counters.Creations != 1 {
			t.Errorf("pfctl -j -a vm/* -sr = %+v, want vm/db01's rule with a state, then vm/web01's", rules)
		}
		var anchors []string
		pfctlJSON(t, sock, &anchors, "-vsA")
		if want := []string{"vm", "vm/db01", "vm/web01"}; !reflect.DeepEqual(anchors, want) {
			t.Errorf("pfctl -j -vsA = %q, want %q", anchors, want)
		}
		var lines []filter.StateLine
		pfctlJSON(t, sock, &lines, "-ss")
		var got strings.Builder
		for _, l := range lines {
			got.WriteString(l.Line + "\n")
		}
		if got.String() != states || lines[0].ID == 0 || !strings.Contains(lines[0].Details, "1:1 pkts") {
			t.Errorf("pfctl -j -ss = %+v, want the lines\n%s", lines, states)
		}
		var st filter.Status
		pfctlJSON(t, sock, &st, "-si")
		if !st.Running || st.States != 2 || st.Inserts != 2 || st.Since == 0 {
			t.Errorf("pfctl -j -si = %+v, want running with 2 states, 2 inserts, since set", st)
		}
		var tms []pfctlTimeout
		pfctlJSON(t, sock, &tms, "-st")
		want := map[string]pfctlTimeout{
			"tcp.first":      {Name: "tcp.first", Value: 120, Unit: "s"},
			"adaptive.start": {Name: "adaptive.start", Value: 60000, Unit: "states"},
		}
		found := 0
		for _, tm := range tms {
			if w, ok := want[tm.Name]; ok {
				found++
				if tm != w {
					t.Errorf("pfctl -j -st: %+v, want %+v", tm, w)
				}
			}
		}
		if found != len(want) {
			t.Errorf("pfctl -j -st = %+v, want %d of %v", tms, len(want), want)
		}
		var all map[string]json.RawMessage
		pfctlJSON(t, sock, &all, "-sa")
		for _, k := range []string{"rules", "states", "info", "timeouts"} {
			if len(all[k]) == 0 {
				t.Errorf("pfctl -j -sa has no %q: %v", k, all)
			}
		}
	})

	t.Run("kill", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			hosts []string
			want  string
		}{
			{"not a creator", []string{"10.0.0.6"}, "killed 0 states from 1 sources and 0 destinations\n"},
			{"other destination", []string{"10.0.0.5", "10.0.0.7"}, "killed 0 states from 1 sources and 1 destinations\n"},
			{"other family", []string{"10.0.0.5", "2001:db8::1"}, "killed 0 states from 1 sources and 0 destinations\n"},
			{"other network", []string{"10.1.0.0/16"}, "killed 0 states from 1 sources and 0 destinations\n"},
			{"pair", []string{"10.0.0.5", "10.0.0.6"}, "killed 2 states from 1 sources and 1 destinations\n"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var args []string
				for _, h := range tc.hosts {
					args = append(args, "-k", h)
				}
				code, out, errs := pfctlOut(t, sock, args...)
				if code != 0 || out != tc.want {
					t.Errorf("pfctl %q: exit %d, stdout %q, stderr %q; want %q", args, code, out, errs, tc.want)
				}
			})
		}
		if _, out, _ := pfctlOut(t, sock, "-ss"); out != "" {
			t.Errorf("states after pfctl -k: %q, want none", out)
		}
		// The killed states' packets went to their rules.
		if _, out, _ := pfctlOut(t, sock, "-vsr"); !strings.Contains(out, "from 10.0.0.0/24 to any\n  [ Evaluations: 2         Packets: 2           Bytes: 66          States: 0     ]") {
			t.Errorf("rules after pfctl -k:\n%s\nwant the killed state's 2 packets on its rule", out)
		}
		dnsExchange(t, mp)
		if code, out, errs := pfctlOut(t, sock, "-k", "10.0.0.0/24"); code != 0 || out != "killed 2 states from 1 sources and 0 destinations\n" {
			t.Errorf("pfctl -k 10.0.0.0/24: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		dnsExchange(t, mp)
		var res map[string]int
		pfctlJSON(t, sock, &res, "-k", "10.0.0.5")
		if res["killed"] != 2 || res["sources"] != 1 || res["destinations"] != 0 {
			t.Errorf("pfctl -j -k 10.0.0.5 = %v, want 2 killed from 1 source", res)
		}
		if code, _, errs := pfctlOut(t, sock, "-k", "web01"); code != 1 || !strings.Contains(errs, "-k web01: want an address or a network") {
			t.Errorf("pfctl -k web01: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("flush", func(t *testing.T) {
		dnsExchange(t, mp)
		if code, out, errs := pfctlOut(t, sock, "-F", "states"); code != 0 || out != "2 states cleared\n" {
			t.Errorf("pfctl -F states: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		if code, out, errs := pfctlOut(t, sock, "-Fs"); code != 0 || out != "0 states cleared\n" {
			t.Errorf("pfctl -Fs: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		if code, out, errs := pfctlOut(t, sock, "-q", "-F", "states"); code != 0 || out != "" {
			t.Errorf("pfctl -q -F states: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		var st filter.Status
		pfctlJSON(t, sock, &st, "-si")
		if st.States != 0 || st.Removals < 6 {
			t.Errorf("after flushing: pfctl -j -si = %+v, want no states and every removal counted", st)
		}
		// Shown, then flushed: -j answers both, by action.
		dnsExchange(t, mp)
		var both struct {
			Show  []filter.StateLine `json:"show"`
			Flush map[string]int     `json:"flush"`
		}
		pfctlJSON(t, sock, &both, "-ss", "-F", "states")
		if len(both.Show) != 2 || both.Flush["states"] != 2 {
			t.Errorf("pfctl -j -ss -F states = %+v, want the 2 states shown and 2 flushed", both)
		}
	})

	t.Run("load", func(t *testing.T) {
		dnsExchange(t, mp)
		conf := filepath.Join(dir, "pf.conf")
		body := pfFiles["pf.conf"] + "pass in on tap0 proto tcp from 10.0.0.0/24\n"
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := pfctlOut(t, sock, "-f", conf)
		if code != 0 || !strings.HasPrefix(out, "reloaded "+dir+":") {
			t.Fatalf("pfctl -f %s: exit %d, stdout %q, stderr %q", conf, code, out, errs)
		}
		if _, out, _ := pfctlOut(t, sock, "-sr"); !strings.HasSuffix(out, "pass in on tap0 inet proto tcp from 10.0.0.0/24 to any flags S/SA\n") {
			t.Errorf("rules after pfctl -f:\n%s\nwant the new rule last", out)
		}
		if _, out, _ := pfctlOut(t, sock, "-ss"); out != states {
			t.Errorf("states after pfctl -f:\n%s\nwant them kept:\n%s", out, states)
		}
		// /etc/pf.conf is DIR/pf.conf, as in pf.conf's own paths.
		var res map[string]any
		pfctlJSON(t, sock, &res, "-f", "/etc/pf.conf")
		if s, _ := res["summary"].(string); !strings.HasPrefix(s, "reloaded "+dir) || res["generation"] == nil {
			t.Errorf("pfctl -j -f /etc/pf.conf = %v, want a reload summary and its generation", res)
		}
		if code, out, errs := pfctlOut(t, sock, "-q", "-f", conf); code != 0 || out != "" {
			t.Errorf("pfctl -q -f: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		// A parse error changes nothing.
		if err := os.WriteFile(conf, []byte(body+"pass in on tap0 proto bogus\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, errs := pfctlOut(t, sock, "-f", conf); code != 1 || !strings.Contains(errs, "the running configuration is unchanged") {
			t.Errorf("pfctl -f with an error: exit %d, stderr %q", code, errs)
		}
		if _, out, _ := pfctlOut(t, sock, "-sr"); !strings.HasSuffix(out, "from 10.0.0.0/24 to any flags S/SA\n") {
			t.Errorf("rules after a failed pfctl -f:\n%s\nwant the previous ones", out)
		}
		// -n loads nothing: only the show runs.
		if code, out, errs := pfctlOut(t, sock, "-n", "-f", conf, "-sr"); code != 0 || !strings.HasPrefix(out, "block drop all\n") {
			t.Errorf("pfctl -n -f -sr: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})

	t.Run("errors", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "pf.conf")
		os.WriteFile(other, []byte("pass\n"), 0o644)
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"other file", []string{"-f", other}, "hostnet reads pf.conf from its configuration directory: edit " + filepath.Join(dir, "pf.conf")},
			{"anchor load", []string{"-a", "vm/web01", "-f", "/etc/pf.conf"}, "load anchor lines"},
			{"no such anchor", []string{"-a", "vm/nosuch", "-sr"}, `anchor "vm/nosuch" does not exist`},
			{"flush rules", []string{"-F", "rules"}, "hostnet's rules are " + filepath.Join(dir, "pf.conf")},
			{"flush Tables", []string{"-F", "Tables"}, "-F Tables: hostnet pfctl flushes states only"},
			{"show Tables", []string{"-s", "T"}, "-s Tables: hostnet pfctl shows rules, Anchors, states, info, timeouts and all"},
			{"no such anchor to list", []string{"-a", "web01", "-sA"}, `anchor "web01" does not exist`},
			{"bad network", []string{"-k", "10.0.0.0/33"}, "-k 10.0.0.0/33: not a network"},
			{"enable", []string{"-e"}, "pf is always enabled in hostnet"},
			{"disable", []string{"-d"}, "pf is always enabled in hostnet"},
			{"nothing", []string{"-v"}, "nothing to do"},
			{"unknown", []string{"-z"}, "unknown option -z"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// pfctlLive, as cmdPfctl calls it: the daemon's checks.
				var out, errb bytes.Buffer
				code := pfctlLive(sock, tc.args, &out, &errb)
				if code != 1 || !strings.Contains(errb.String(), tc.want) {
					t.Errorf("pfctl %q: exit %d, stderr %q, want 1 and %q", tc.args, code, errb.String(), tc.want)
				}
			})
		}
		// A load refused changes nothing, not even what comes before it.
		if _, out, _ := pfctlOut(t, sock, "-ss"); out != states {
			t.Fatalf("states before: %q, want %q", out, states)
		}
		var out, errb bytes.Buffer
		if code := pfctlLive(sock, []string{"-F", "states", "-f", other}, &out, &errb); code != 1 {
			t.Errorf("pfctl -F states -f %s: exit %d, stdout %q, want 1", other, code, out.String())
		}
		if _, out, _ := pfctlOut(t, sock, "-ss"); out != states {
			t.Errorf("states after a refused -F states -f: %q, want them kept", out)
		}
	})
}

func TestPfctlLiveNoPF(t *testing.T) {
	_, _, sock, dir := startSocketDaemon(t, map[string]string{"vm.conf": twoVMs})
	for _, args := range [][]string{{"-sr"}, {"-ss"}, {"-si"}, {"-F", "states"}, {"-k", "10.0.0.1"}} {
		code, _, errs := pfctlOut(t, sock, args...)
		if want := "no pf.conf in " + dir + ": pf passes everything"; code != 1 || !strings.Contains(errs, want) {
			t.Errorf("pfctl %q without pf.conf: exit %d, stderr %q, want %q", args, code, errs, want)
		}
	}
	// -f of a pf.conf that is not there yet says so.
	if code, _, errs := pfctlOut(t, sock, "-f", filepath.Join(dir, "pf.conf")); code != 1 || !strings.Contains(errs, "without pf.conf pf passes everything") {
		t.Errorf("pfctl -f of a missing pf.conf: exit %d, stderr %q", code, errs)
	}
	// Once written, -f loads it: pf runs.
	if err := os.WriteFile(filepath.Join(dir, "pf.conf"), []byte("pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := pfctlOut(t, sock, "-f", filepath.Join(dir, "pf.conf")); code != 0 || !strings.HasPrefix(out, "reloaded ") {
		t.Fatalf("pfctl -f after writing pf.conf: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, errs := pfctlOut(t, sock, "-sr"); code != 0 || out != "pass all flags S/SA\n" {
		t.Errorf("pfctl -sr after loading pf.conf: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestPfctlSeed runs the seed's pfctl commands against a daemon running
// the seed's configuration (examples/seed).
func TestPfctlSeed(t *testing.T) {
	const seed = "../../examples/seed"
	files := map[string]string{}
	err := filepath.WalkDir(seed, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(seed, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, sock, _ := startSocketDaemon(t, files)

	// $ pfctl -vvsr | egrep 'match out .* nat-to|\banchor vm/'
	code, out, errs := pfctlOut(t, sock, "-vvsr")
	if code != 0 {
		t.Fatalf("pfctl -vvsr: exit %d, stderr %q", code, errs)
	}
	var matched []string
	re := regexp.MustCompile(`match out .* nat-to|\banchor vm/`)
	for line := range strings.Lines(out) {
		if re.MatchString(line) {
			matched = append(matched, strings.TrimSuffix(line, "\n"))
		}
	}
	if len(matched) != 1 || !strings.HasPrefix(matched[0], "@0 match out on em0 inet from 10.50.0.0/24 to any nat-to (em0)") {
		t.Errorf("pfctl -vvsr | egrep: %q, want the NAT rule @0\n%s", matched, out)
	}
	for _, want := range []string{"@1 anchor \"vm/*\" all\n  [ Evaluations: ", "@2 block drop all\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("pfctl -vvsr:\n%s\nwant %q", out, want)
		}
	}

	// # pfctl -a 'vm/*' -sr
	code, out, errs = pfctlOut(t, sock, "-a", "vm/*", "-sr")
	want := "pass in on tap4 inet proto tcp from 10.50.0.20 to (tap4) port = 3306 flags S/SA\n" +
		"pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA\n" +
		"pass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA\n" +
		"pass in on tap3 inet proto tcp from 10.10.0.0/24 to (tap3) port = 22 flags S/SA\n"
	if code != 0 || out != want {
		t.Errorf("pfctl -a 'vm/*' -sr: exit %d, stderr %q, printed\n%s\nwant\n%s", code, errs, out, want)
	}
}

// TestPfctlLiveNAT kills the states of a connection pf translates (the
// seed's routed segment: nat-to em0) by its inside address, as pfctl -k
// does: the creator's address, not the one on the wire.
func TestPfctlLiveNAT(t *testing.T) {
	const routed = "../../examples/e2e/routed"
	files := map[string]string{}
	entries, err := os.ReadDir(routed)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(routed, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	d, mp, sock, _ := startSocketDaemon(t, files)
	vether, ok := d.current().dp.Interface("vether0")
	if !ok {
		t.Fatal("no vether0")
	}
	var tap string
	for _, name := range []string{"tap0", "tap1"} {
		if mp.port(name) != nil {
			tap = name
		}
	}
	if tap == "" {
		t.Fatal("no tap for db01")
	}
	inside, far := net.IP{10, 50, 0, 20}, net.IP{198, 51, 100, 7}
	if err := mp.port(tap).Inject(udpFrame(t, hwA, net.HardwareAddr(vether.MAC[:]), inside, far, 40000, 53)); err != nil {
		t.Fatal(err)
	}
	var out string
	waitFor(t, "two states", func() bool {
		_, out, _ = pfctlOut(t, sock, "-ss")
		return strings.Count(out, "\n") == 2
	})
	nat := regexp.MustCompile(`(?m)^all udp 192\.0\.2\.1:\d+ \(10\.50\.0\.20:40000\) -> 198\.51\.100\.7:53       SINGLE:NO_TRAFFIC$`)
	if !nat.MatchString(out) || !strings.Contains(out, "all udp 198.51.100.7:53 <- 10.50.0.20:40000       NO_TRAFFIC:SINGLE\n") {
		t.Errorf("pfctl -ss:\n%s\nwant the state in on vether0 and the translated one out on em0", out)
	}
	for _, tc := range []struct {
		name  string
		hosts []string
		want  string
	}{
		{"wire address", []string{"192.0.2.1"}, "killed 0 states from 1 sources and 0 destinations\n"},
		{"inside address", []string{"10.50.0.20", "198.51.100.7"}, "killed 2 states from 1 sources and 1 destinations\n"},
	} {
		var args []string
		for _, h := range tc.hosts {
			args = append(args, "-k", h)
		}
		if code, out, errs := pfctlOut(t, sock, args...); code != 0 || out != tc.want {
			t.Errorf("%s: pfctl %q: exit %d, stdout %q, stderr %q; want %q", tc.name, args, code, out, errs, tc.want)
		}
	}
}

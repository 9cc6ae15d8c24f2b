package test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/test/pkt"
)

var update = flag.Bool("update", false, "rewrite the golden files (inputs built by the scenarios, expected outputs)")

// shared is ../shared from the repository root, seen from this package.
const shared = "../../shared"

// t0 is the capture time of the first built frame of every scenario.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// frame is a built frame and when it arrives, relative to t0.
type frame struct {
	at time.Duration
	b  []byte
}

// input feeds one interface: frames built by the scenario (written to
// in.IF.pcap) or a capture from ../shared/pcaps, used as it is.
type input struct {
	ifname string
	frames []frame
	shared string // file name in ../shared/pcaps
}

// result is what a replay produced: frames sent per interface, and stats.
type result struct {
	out   map[string][][]byte
	stats map[string]dataplane.Stats
}

// scenario is one golden replay: a configuration, inputs, and checks that
// state what must hold, whatever the goldens say.
type scenario struct {
	name   string
	conf   map[string]string // file in etc/ -> contents
	inputs []input
	check  func(t *testing.T, r result)
}

func (s scenario) dir() string { return filepath.Join("testdata", s.name) }

func (in input) path(s scenario) string {
	if in.shared != "" {
		return filepath.Join(shared, "pcaps", in.shared)
	}
	return filepath.Join(s.dir(), "in."+in.ifname+".pcap")
}

// TestGolden replays every scenario and compares each interface's output
// with want.IF.pcap byte for byte, and the counters with want.stats.
func TestGolden(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if *update {
				writeScenario(t, s)
			}
			r, outDir := replay(t, s)
			if *update {
				writeGoldens(t, s, outDir, r)
			}
			compareGoldens(t, s, outDir, r)
			if s.check != nil {
				s.check(t, r)
			}
		})
	}
}

func writeScenario(t *testing.T, s scenario) {
	t.Helper()
	etc := filepath.Join(s.dir(), "etc")
	if err := os.RemoveAll(s.dir()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range s.conf {
		p := filepath.Join(etc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range s.inputs {
		if in.shared != "" {
			continue
		}
		writePcap(t, in.path(s), in.frames)
	}
}

func writePcap(t *testing.T, path string, frames []frame) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(f.at), CaptureLength: len(f.b), Length: len(f.b)}
		if err := w.WritePacket(ci, f.b); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replay(t *testing.T, s scenario) (result, string) {
	t.Helper()
	spec, _, err := config.Load(filepath.Join(s.dir(), "etc"))
	if err != nil {
		t.Fatalf("config.Load(%s): %v", s.dir(), err)
	}
	var ins []dataplane.ReplayInput
	for _, in := range s.inputs {
		ins = append(ins, dataplane.ReplayInput{Interface: in.ifname, Path: in.path(s)})
	}
	outDir := t.TempDir()
	res, err := dataplane.Replay(spec, ins, outDir, dataplane.ReplayOptions{Seed: 1})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	r := result{out: map[string][][]byte{}, stats: map[string]dataplane.Stats{}}
	for _, st := range res.Stats {
		r.stats[st.Name] = st
	}
	for _, path := range res.Written {
		name := strings.TrimSuffix(filepath.Base(path), ".pcap")
		r.out[name] = readPcap(t, path)
	}
	return r, outDir
}

func readPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	frames, err := pkt.ReadCapture(path)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func statsText(r result) string {
	var names []string
	for n := range r.stats {
		names = append(names, n)
	}
	sort.Strings(names)
	var st []dataplane.Stats
	for _, n := range names {
		st = append(st, r.stats[n])
	}
	var b strings.Builder
	dataplane.WriteStats(&b, st)
	return b.String()
}

func writeGoldens(t *testing.T, s scenario, outDir string, r result) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(s.dir(), "want.*"))
	for _, f := range old {
		os.Remove(f)
	}
	for name := range r.out {
		b, err := os.ReadFile(filepath.Join(outDir, name+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.dir(), "want."+name+".pcap"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.dir(), "want.stats"), []byte(statsText(r)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func compareGoldens(t *testing.T, s scenario, outDir string, r result) {
	t.Helper()
	wants, _ := filepath.Glob(filepath.Join(s.dir(), "want.*.pcap"))
	seen := map[string]bool{}
	for _, wf := range wants {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(wf), "want."), ".pcap")
		seen[name] = true
		want := readPcap(t, wf)
		got, ok := r.out[name]
		if !ok {
			t.Errorf("%s: sent nothing, want %d frames:\n%s", name, len(want), listing(want))
			continue
		}
		if d := diffFrames(want, got); d != "" {
			t.Errorf("%s: output differs from %s:\n%s", name, wf, d)
		}
		gb, _ := os.ReadFile(filepath.Join(outDir, name+".pcap"))
		wb, _ := os.ReadFile(wf)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s: pcap file differs from %s (timestamps or header)", name, wf)
		}
	}
	for name, got := range r.out {
		if !seen[name] {
			t.Errorf("%s: sent %d frames, want none:\n%s", name, len(got), listing(got))
		}
	}
	want, err := os.ReadFile(filepath.Join(s.dir(), "want.stats"))
	if err != nil {
		t.Fatalf("no golden counters: %v (run with -update)", err)
	}
	if got := statsText(r); got != string(want) {
		t.Errorf("counters differ:\n got:\n%s\nwant:\n%s", got, want)
	}
}

func listing(frames [][]byte) string {
	var b strings.Builder
	for i, f := range frames {
		fmt.Fprintf(&b, "  %3d  %s\n", i+1, pkt.Summary(f))
	}
	return b.String()
}

// diffFrames compares frame lists and returns a readable difference: one
// line per frame, and a hex dump of the first frame that differs.
func diffFrames(want, got [][]byte) string {
	var b strings.Builder
	n := max(len(want), len(got))
	dumped := false
	for i := range n {
		var w, g []byte
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if bytes.Equal(w, g) {
			continue
		}
		switch {
		case w == nil:
			fmt.Fprintf(&b, "  %3d  extra: %s\n", i+1, pkt.Summary(g))
		case g == nil:
			fmt.Fprintf(&b, "  %3d  missing: %s\n", i+1, pkt.Summary(w))
		default:
			fmt.Fprintf(&b, "  %3d  want: %s\n       got:  %s\n", i+1, pkt.Summary(w), pkt.Summary(g))
			if !dumped {
				fmt.Fprintf(&b, "want:\n%sgot:\n%s", hexdump(w), hexdump(g))
				dumped = true
			}
		}
	}
	return b.String()
}

func hexdump(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 16 {
		fmt.Fprintf(&s, "  %04x: % x\n", i, b[i:min(i+16, len(b))])
	}
	return s.String()
}

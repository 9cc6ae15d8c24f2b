package header

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestInlining checks that the accessors the fast path calls per packet
// stay small enough for the compiler to inline, as net/netip's test does.
func TestInlining(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	got := map[string]bool{}
	re := regexp.MustCompile(`: can inline (\S+)`)
	for _, line := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			got[m[1]] = true
		}
	}
	want := []string{
		"Combine", "Update16", "Update32",
		"Dot1Q.TPID", "Dot1Q.TCI", "Dot1Q.PCP", "Dot1Q.VID", "Dot1Q.SetTCI", "Dot1Q.SetVID", "MakeTCI",
		"IPv4.IsValid", "IPv4.HeaderLen", "IPv4.TotalLen", "IPv4.FragOff", "IPv4.IsFragment", "IPv4.TTL",
		"IPv4.Protocol", "IPv4.Checksum", "IPv4.Src", "IPv4.Dst", "IPv4.SetTTL", "IPv4.SetChecksum",
		"IPv4.SetSrc", "IPv4.SetDst", "IPv4.DecTTL", "IPv4.IsChecksumValid",
		"IPv6.IsValid", "IPv6.PayloadLen", "IPv6.NextHeader", "IPv6.HopLimit", "IPv6.Src", "IPv6.Dst",
		"IPv6.SetHopLimit", "IPv6.SetSrc", "IPv6.SetDst",
		"TCP.SrcPort", "TCP.DstPort", "TCP.Seq", "TCP.Ack", "TCP.Flags", "TCP.DataOffset", "TCP.Checksum",
		"TCP.SetSrcPort", "TCP.SetDstPort", "TCP.SetChecksum",
		"UDP.SrcPort", "UDP.DstPort", "UDP.Length", "UDP.Checksum", "UDP.SetSrcPort", "UDP.SetDstPort", "UDP.SetChecksum",
	}
	for _, fn := range want {
		if !got[fn] {
			t.Errorf("%s is not inlinable", fn)
		}
	}
}

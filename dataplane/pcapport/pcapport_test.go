package pcapport

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// corpus is the shared capture folder, relative to this package.
const corpus = "../../../shared/pcaps"

func batch(n int) []*packet.Packet {
	pkts := make([]*packet.Packet, n)
	for i := range pkts {
		pkts[i] = packet.New()
	}
	return pkts
}

// readAll reads r to its end through ReadBatch and returns the frames, their
// stamps and the error that ended the reading (io.EOF for a clean end).
func readAll(r packet.Port) (frames [][]byte, stamps []int64, err error) {
	pkts := batch(7) // odd on purpose: batches do not divide the files
	for {
		n, err := r.ReadBatch(pkts)
		for _, p := range pkts[:n] {
			frames = append(frames, append([]byte(nil), p.Bytes()...))
			stamps = append(stamps, p.Stamp)
		}
		if err != nil {
			return frames, stamps, err
		}
		if n == 0 {
			return frames, stamps, errors.New("ReadBatch returned 0 frames and no error")
		}
	}
}

// TestCorpus reads every file of the shared capture folder: each reads to
// the end or fails with an error naming the file, and none panics. Counts
// are those of the folder's README (tcpdump --count, tshark for the
// multi-interface file).
func TestCorpus(t *testing.T) {
	tests := []struct {
		file    string
		frames  int    // frames read before the end or the error
		openErr string // substring of Open's error; "" if Open succeeds
		readErr string // substring of the error ending the read; "" for io.EOF
	}{
		{file: "chrissanders-arp_gratuitous.pcapng", frames: 1},
		{file: "chrissanders-arp_resolution.pcapng", frames: 2},
		{file: "chrissanders-dhcp_inlease_renewal.pcapng", frames: 2},
		{file: "chrissanders-dhcp_nolease_initialization.pcapng", frames: 4},
		{file: "chrissanders-dns_query_response.pcapng", frames: 2},
		{file: "chrissanders-http_ip4and6.pcapng", frames: 20},
		{file: "chrissanders-icmp_echo.pcapng", frames: 8},
		{file: "chrissanders-icmp_traceroute.pcapng", frames: 54},
		{file: "chrissanders-icmpv6_neighbor_solicitation.pcapng", frames: 7},
		{file: "chrissanders-ip_frag_source.pcapng", frames: 6},
		{file: "chrissanders-ipv6_fragments.pcapng", frames: 22},
		{file: "chrissanders-ppa1e-destunreachable.pcap", frames: 6},
		{file: "chrissanders-synscan.pcapng", frames: 2011},
		{file: "chrissanders-tcp_handshake.pcapng", frames: 3},
		{file: "chrissanders-tcp_refuseconnection.pcapng", frames: 2},
		{file: "chrissanders-tcp_teardown.pcapng", frames: 4},
		// Interfaces 0 and 2 are Ethernet, 1 is NULL: the four Ethernet
		// frames come first, then the NULL one stops the reading.
		{file: "gopacket-pcapgo-be-test100.pcapng", frames: 4, readErr: "frame 5: interface 1: unsupported link type NULL (0)"},
		{file: "gopacket-test_loopback.pcap", openErr: "unsupported link type NULL (0)"},
		{file: "gopacket-test_vlan.pcap", frames: 14},
		{file: "libpcap-pcap-invalid-version-1.pcap", openErr: "pcap format version 1.4 is not supported"},
		{file: "libpcap-vrrp.pcap", frames: 15},
		{file: "tcpdump-802.1D_spanning_tree.pcap", frames: 14},
		{file: "tcpdump-802.1ad_QinQ.pcap", frames: 2},
		{file: "tcpdump-LACP.pcap", frames: 20},
		{file: "tcpdump-LINKTYPE_IPV4.pcap", openErr: "unsupported link type IPV4 (228)"},
		{file: "tcpdump-LLDP_and_CDP.pcap", frames: 12},
		{file: "tcpdump-empty.pcapng", frames: 0},
		{file: "tcpdump-gso-ipv4.pcap", frames: 1},
		{file: "tcpdump-ipv4_invalid_hdr_length.pcap", frames: 1},
		{file: "tcpdump-ipv4_tcp_http_xml_tso.pcap", frames: 1},
		{file: "tcpdump-tcp-handshake-nano.pcap", openErr: "unsupported link type LINUX_SLL (113)"},
		// The link-type word is 0x30000001: FCS bits above an Ethernet type.
		{file: "tcpdump-tcp_header_heapoverflow.pcap", frames: 1},
	}
	known := map[string]bool{"README.md": true, "SHA256SUMS": true}
	for _, tc := range tests {
		known[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(corpus, tc.file)
			r, err := Open(path)
			if tc.openErr != "" {
				if err == nil {
					r.Close()
					t.Fatalf("Open(%q) = nil error, want %q", path, tc.openErr)
				}
				if !strings.Contains(err.Error(), tc.openErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("Open(%q) = %v, want an error naming the file and %q", path, err, tc.openErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q) = %v", path, err)
			}
			defer r.Close()
			frames, stamps, err := readAll(r)
			if len(frames) != tc.frames {
				t.Errorf("%s: read %d frames, want %d", tc.file, len(frames), tc.frames)
			}
			switch {
			case tc.readErr == "" && err != io.EOF:
				t.Errorf("%s: read ended with %v, want EOF", tc.file, err)
			case tc.readErr != "" && (err == io.EOF || !strings.Contains(err.Error(), tc.readErr) || !strings.Contains(err.Error(), path)):
				t.Errorf("%s: read ended with %v, want an error naming the file and %q", tc.file, err, tc.readErr)
			}
			for i, f := range frames {
				if len(f) == 0 {
					t.Errorf("%s: frame %d is empty", tc.file, i+1)
				}
				if stamps[i] < 0 {
					t.Errorf("%s: frame %d Stamp = %d, want >= 0", tc.file, i+1, stamps[i])
				}
			}
			if err == io.EOF {
				if n, err := r.ReadBatch(batch(1)); n != 0 || err != io.EOF {
					t.Errorf("%s: ReadBatch after the end = %d, %v, want 0, EOF", tc.file, n, err)
				}
			}
		})
	}
	// Files added to the folder later must at least not panic.
	entries, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatalf("ReadDir(%q) = %v", corpus, err)
	}
	for _, e := range entries {
		if known[e.Name()] {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			path := filepath.Join(corpus, e.Name())
			r, err := Open(path)
			if err != nil {
				if !strings.Contains(err.Error(), path) {
					t.Errorf("Open(%q) = %v, want an error naming the file", path, err)
				}
				return
			}
			defer r.Close()
			if _, _, err := readAll(r); err != io.EOF && !strings.Contains(err.Error(), path) {
				t.Errorf("%s: read ended with %v, want EOF or an error naming the file", path, err)
			}
		})
	}
}

// TestCorpusDetails checks frames and times against what tcpdump prints
// for a few files.
func TestCorpusDetails(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		frame int   // 0-based
		len   int   // frame length
		stamp int64 // capture time in ns
	}{
		// tcpdump -tt: 1165780762.880651, 42 bytes (a runt).
		{"pcapng runt", "chrissanders-arp_resolution.pcapng", 0, 42, 1165780762880651000},
		{"pcap GSO super-frame", "tcpdump-gso-ipv4.pcap", 0, 7306, 1759508812155133000},
		{"pcap TSO frame", "tcpdump-ipv4_tcp_http_xml_tso.pcap", 0, 2030, 1348084214587897000},
		{"caplen below length", "tcpdump-tcp_header_heapoverflow.pcap", 0, 46, 808464432999999000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(filepath.Join(corpus, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			frames, stamps, _ := readAll(r)
			if len(frames) <= tc.frame {
				t.Fatalf("%s: %d frames, want frame %d", tc.file, len(frames), tc.frame)
			}
			if got := len(frames[tc.frame]); got != tc.len {
				t.Errorf("%s frame %d: length %d, want %d", tc.file, tc.frame, got, tc.len)
			}
			if got := stamps[tc.frame]; got != tc.stamp {
				t.Errorf("%s frame %d: Stamp %d, want %d", tc.file, tc.frame, got, tc.stamp)
			}
		})
	}
}

// TestTruncated cuts capture files at every length: each prefix reads
// cleanly up to the cut or fails with an error naming the file.
func TestTruncated(t *testing.T) {
	for _, file := range []string{"tcpdump-802.1ad_QinQ.pcap", "chrissanders-tcp_handshake.pcapng", "tcpdump-empty.pcapng"} {
		data, err := os.ReadFile(filepath.Join(corpus, file))
		if err != nil {
			t.Fatal(err)
		}
		full := countFrames(t, data, file)
		for cut := range len(data) {
			name := file + "@" + strconv.Itoa(cut)
			r, err := NewReader(bytes.NewReader(data[:cut]), name)
			if err != nil {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("NewReader(%s) = %v, want an error naming the file", name, err)
				}
				continue
			}
			frames, _, err := readAll(r)
			if len(frames) > full {
				t.Errorf("%s: %d frames from a prefix, %d in the file", name, len(frames), full)
			}
			if err != io.EOF && !strings.Contains(err.Error(), name) {
				t.Errorf("%s: read ended with %v, want EOF or an error naming the file", name, err)
			}
		}
	}
}

func countFrames(t *testing.T, data []byte, name string) int {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	frames, _, err := readAll(r)
	if err != io.EOF {
		t.Fatal(err)
	}
	return len(frames)
}

// pcapFile builds a classic pcap with the given magic, link type and
// records (data, capture time in ns).
func pcapFile(magic uint32, linkType uint32, nano bool, records ...[]byte) []byte {
	var b bytes.Buffer
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], linkType)
	b.Write(h[:])
	for i, rec := range records {
		var rh [16]byte
		binary.LittleEndian.PutUint32(rh[0:], uint32(1000+i))
		frac := uint32(i + 1)
		if nano {
			frac = 999999999
		}
		binary.LittleEndian.PutUint32(rh[4:], frac)
		binary.LittleEndian.PutUint32(rh[8:], uint32(len(rec)))
		binary.LittleEndian.PutUint32(rh[12:], uint32(len(rec)))
		b.Write(rh[:])
		b.Write(rec)
	}
	return b.Bytes()
}

func TestHeaders(t *testing.T) {
	frame := bytes.Repeat([]byte{0xab}, 60)
	tests := []struct {
		name      string
		data      []byte
		wantErr   string // substring; "" for success
		wantStamp int64  // of the first frame
	}{
		{"micro", pcapFile(magicMicro, 1, false, frame), "", 1000_000001000},
		{"nano", pcapFile(magicNano, 1, true, frame), "", 1000_999999999},
		{"FCS bits in link type", pcapFile(magicMicro, 0x30000001, false, frame), "", 1000_000001000},
		{"raw IPv6", pcapFile(magicMicro, 229, false, frame), "unsupported link type IPV6 (229)", 0},
		{"unknown link type", pcapFile(magicMicro, 4242, false, frame), "unsupported link type unknown (4242)", 0},
		{"empty", nil, "file too short", 0},
		{"short header", pcapFile(magicMicro, 1, false)[:20], "truncated pcap file header", 0},
		{"not a capture", []byte("hello, world, this is text"), "not a pcap or pcapng file (magic 0x6c6c6568)", 0},
		{"gzip", gzipped(pcapFile(magicNano, 1, true, frame)), "", 1000_999999999},
		{"bad gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, "bad gzip stream", 0},
		{"gzipped text", gzipped([]byte("hello, world, this is text")), "not a pcap or pcapng file", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.data), "test.pcap")
			if err == nil {
				p := packet.New()
				err = r.Next(p)
				if err == nil && tc.wantErr == "" && (p.Stamp != tc.wantStamp || !bytes.Equal(p.Bytes(), frame)) {
					t.Errorf("Next() = %x at %d, want %x at %d", p.Bytes(), p.Stamp, frame, tc.wantStamp)
				}
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("read = %v, want success", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "test.pcap")):
				t.Errorf("read = %v, want an error naming test.pcap and %q", err, tc.wantErr)
			}
		})
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestLinkTypeError(t *testing.T) {
	_, err := NewReader(bytes.NewReader(pcapFile(magicMicro, 113, false)), "sll.pcap")
	var lte *LinkTypeError
	if !errors.As(err, &lte) || lte.LinkType != 113 || lte.File != "sll.pcap" {
		t.Fatalf("NewReader(SLL) = %v, want a LinkTypeError for 113", err)
	}
}

func TestOversizedFrame(t *testing.T) {
	big := make([]byte, packet.MaxFrame+1)
	data := pcapFile(magicMicro, 1, false, make([]byte, 60), big)
	r, err := NewReader(bytes.NewReader(data), "big.pcap")
	if err != nil {
		t.Fatal(err)
	}
	frames, _, err := readAll(r)
	if len(frames) != 1 || err == nil || !strings.Contains(err.Error(), "big.pcap: frame 2:") {
		t.Fatalf("read = %d frames, %v, want 1 frame then an error for frame 2", len(frames), err)
	}
	// The error stays.
	if err2 := r.Next(packet.New()); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Next after the error = %v, want %v", err2, err)
	}
}

// TestPcapngNano reads a pcapng file written with nanosecond timestamps.
func TestPcapngNano(t *testing.T) {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{
		LinkType:            layers.LinkTypeEthernet,
		TimestampResolution: 9,
		SnapLength:          0,
	}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Unix(1700000000, 123456789)
	frame := bytes.Repeat([]byte{1}, 64)
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: want, CaptureLength: 64, Length: 64}, frame); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	r, err := NewReader(&b, "nano.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	frames, stamps, err := readAll(r)
	if err != io.EOF || len(frames) != 1 || stamps[0] != want.UnixNano() || !bytes.Equal(frames[0], frame) {
		t.Fatalf("read = %d frames, stamps %v, %v; want 1 frame at %d", len(frames), stamps, err, want.UnixNano())
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.pcap")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{42, 60, 1514, 9018, packet.MaxFrame}
	pkts := batch(len(sizes))
	for i, n := range sizes {
		f := make([]byte, n)
		for j := range f {
			f[j] = byte(i + j)
		}
		pkts[i].SetFrame(f)
		pkts[i].Stamp = int64(1700000000+i)*1e9 + int64(i)*1000 // whole microseconds
	}
	pkts[0].Stamp = 0 // the epoch, not the current time
	if n, err := w.WriteBatch(pkts); n != len(pkts) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frames, stamps, err := readAll(r)
	if err != io.EOF || len(frames) != len(pkts) {
		t.Fatalf("read back %d frames, %v, want %d", len(frames), err, len(pkts))
	}
	for i, p := range pkts {
		if !bytes.Equal(frames[i], p.Bytes()) {
			t.Errorf("frame %d: read back %d bytes differing from the %d written", i, len(frames[i]), p.Len())
		}
		if stamps[i] != p.Stamp {
			t.Errorf("frame %d: Stamp %d, want %d", i, stamps[i], p.Stamp)
		}
	}

	// Same frames and stamps, same bytes.
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		w, _ := NewWriter(buf, "buf")
		w.WriteBatch(pkts)
		w.Close()
	}
	onDisk, _ := os.ReadFile(path)
	if !bytes.Equal(a.Bytes(), b.Bytes()) || !bytes.Equal(a.Bytes(), onDisk) {
		t.Error("the same frames written twice give different bytes")
	}
	if _, err := w.WriteBatch(pkts); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteBatch after Close = %v, want ErrClosed", err)
	}
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(corpus, "tcpdump-802.1ad_QinQ.pcap")
	silent := filepath.Join(dir, "silent.pcap")
	talker := filepath.Join(dir, "talker.pcap")

	r1, err := NewReplay(in, silent)
	if err != nil {
		t.Fatal(err)
	}
	frames, _, err := readAll(r1)
	if err != io.EOF || len(frames) != 2 {
		t.Fatalf("Replay read %d frames, %v, want 2, EOF", len(frames), err)
	}
	if n, err := r1.WriteBatch(nil); n != 0 || err != nil {
		t.Errorf("WriteBatch(nil) = %d, %v", n, err)
	}
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(silent); !os.IsNotExist(err) {
		t.Errorf("Stat(%s) = %v, want not exist: the port sent nothing", silent, err)
	}

	r2, err := NewReplay("", talker)
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Next(packet.New()); err != io.EOF {
		t.Errorf("Next with no input = %v, want EOF", err)
	}
	pkts := batch(1)
	pkts[0].SetFrame(frames[0])
	if n, err := r2.WriteBatch(pkts); n != 1 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	if r2.Sent() != 1 {
		t.Errorf("Sent() = %d, want 1", r2.Sent())
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	rr, err := Open(talker)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := readAll(rr)
	rr.Close()
	if len(got) != 1 || !bytes.Equal(got[0], frames[0]) {
		t.Errorf("output file holds %d frames, want the one written", len(got))
	}

	if _, err := NewReplay(filepath.Join(dir, "missing.pcap"), ""); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("NewReplay(missing) = %v, want an error naming the file", err)
	}
	bad, err := NewReplay("", filepath.Join(dir, "no", "such", "dir.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.WriteBatch(pkts); err == nil || !strings.Contains(err.Error(), "dir.pcap") {
		t.Errorf("WriteBatch to an uncreatable file = %v, want an error naming it", err)
	}
}

var sinkErr error

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are unreliable under the race detector")
	}
	frame := bytes.Repeat([]byte{0xab}, 1500)
	recs := make([][]byte, 2100)
	for i := range recs {
		recs[i] = frame
	}
	r, err := NewReader(bytes.NewReader(pcapFile(magicMicro, 1, false, recs...)), "mem.pcap")
	if err != nil {
		t.Fatal(err)
	}
	p := packet.New()
	r.Next(p) // the reader sizes its buffer once
	w, _ := NewWriter(io.Discard, "discard")
	pkts := []*packet.Packet{p}
	tests := []struct {
		name string
		fn   func()
	}{
		{"Reader.Next", func() { sinkErr = r.Next(p) }},
		{"Writer.WriteBatch", func() { _, sinkErr = w.WriteBatch(pkts) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("allocs = %v, want 0", n)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	frame := bytes.Repeat([]byte{0xab}, 60)
	f.Add(pcapFile(magicMicro, 1, false, frame, frame)) // two Ethernet records
	f.Add(pcapFile(magicNano, 1, true, frame))          // nanosecond magic
	f.Add(pcapFile(magicMicro, 0, false, frame))        // refused link type
	f.Add(pcapFile(magicMicro, 1, false, frame)[:30])   // record header cut short
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0})   // pcapng magic, nothing after
	if data, err := os.ReadFile(filepath.Join(corpus, "chrissanders-tcp_handshake.pcapng")); err == nil {
		f.Add(data) // a real pcapng file
	}
	if data, err := os.ReadFile(filepath.Join(corpus, "gopacket-pcapgo-be-test100.pcapng")); err == nil {
		f.Add(data) // big-endian pcapng with mixed link types
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz.pcap")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.pcap") {
				t.Fatalf("NewReader error %q does not name the file", err)
			}
			return
		}
		p := packet.New()
		for range 1000 {
			err := r.Next(p)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !strings.Contains(err.Error(), "fuzz.pcap") {
					t.Fatalf("Next error %q does not name the file", err)
				}
				return
			}
			if p.Len() > packet.MaxFrame {
				t.Fatalf("frame of %d bytes", p.Len())
			}
		}
	})
}

// TestStream is tcpdump -w to a pipe: frames flushed while the writer is
// open can be read at once, and the reader's and writer's other port
// methods say what they are.
func TestStream(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, "stream")
	if err != nil {
		t.Fatal(err)
	}
	pkts := batch(2)
	pkts[0].SetFrame(bytes.Repeat([]byte{1}, 60))
	pkts[1].SetFrame(bytes.Repeat([]byte{2}, 70))
	w.WriteBatch(pkts)
	if buf.Len() != 0 {
		t.Errorf("%d bytes out before Flush, want 0 (buffered)", buf.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Frames() != 2 || w.Name() != "stream" {
		t.Errorf("Frames, Name = %d, %q, want 2, stream", w.Frames(), w.Name())
	}
	if n, err := w.ReadBatch(pkts); n != 0 || err != io.EOF {
		t.Errorf("Writer.ReadBatch = %d, %v, want 0, EOF", n, err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), "stream")
	if err != nil {
		t.Fatal(err)
	}
	frames, _, err := readAll(r)
	if len(frames) != 2 || err != io.EOF || r.Frames() != 2 || r.Name() != "stream" {
		t.Errorf("read back %d frames (Frames %d), %v, want 2", len(frames), r.Frames(), err)
	}
	if _, err := r.WriteBatch(pkts); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Reader.WriteBatch = %v, want ErrReadOnly", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := r.Next(pkts[0]); err != io.EOF {
		t.Errorf("Next after Close = %v, want EOF", err)
	}
}

// TestReplayInput reads a replay port's input through Input and Next.
func TestReplayInput(t *testing.T) {
	r, err := NewReplay(filepath.Join(corpus, "chrissanders-tcp_handshake.pcapng"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Input() == nil {
		t.Fatal("Input() = nil")
	}
	p := packet.New()
	for i := range 3 {
		if err := r.Next(p); err != nil {
			t.Fatalf("Next %d = %v", i, err)
		}
	}
	if err := r.Next(p); err != io.EOF {
		t.Errorf("Next at the end = %v, want EOF", err)
	}
	// No output path: writes are discarded and count nothing.
	if n, err := r.WriteBatch([]*packet.Packet{p}); n != 1 || err != nil || r.Sent() != 0 {
		t.Errorf("WriteBatch without output = %d, %v, Sent %d", n, err, r.Sent())
	}
	r.Close()
	if _, err := r.WriteBatch([]*packet.Packet{p}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteBatch after Close = %v, want ErrClosed", err)
	}
}

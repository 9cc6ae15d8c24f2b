package memport

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/porttest"
)

func batch(n int) []*packet.Packet {
	pkts := make([]*packet.Packet, n)
	for i := range pkts {
		pkts[i] = packet.New()
	}
	return pkts
}

func frame(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }

func TestInjectRead(t *testing.T) {
	p := New("mem0", 4)
	for i := range 3 {
		if err := p.InjectStamp(frame(60+i, byte(i)), int64(100+i)); err != nil {
			t.Fatalf("InjectStamp(%d) = %v", i, err)
		}
	}
	pkts := batch(2)
	n, err := p.ReadBatch(pkts)
	if n != 2 || err != nil {
		t.Fatalf("ReadBatch = %d, %v, want 2, nil", n, err)
	}
	for i := range n {
		if got, want := pkts[i].Bytes(), frame(60+i, byte(i)); !bytes.Equal(got, want) {
			t.Errorf("frame %d = %x, want %x", i, got, want)
		}
		if pkts[i].Stamp != int64(100+i) {
			t.Errorf("frame %d Stamp = %d, want %d", i, pkts[i].Stamp, 100+i)
		}
		if h := pkts[i].Headroom(); h != packet.Headroom {
			t.Errorf("frame %d Headroom() = %d, want %d", i, h, packet.Headroom)
		}
	}
	p.EndInput()
	if n, err := p.ReadBatch(pkts); n != 1 || err != nil {
		t.Fatalf("ReadBatch after EndInput = %d, %v, want the last frame", n, err)
	}
	if n, err := p.ReadBatch(pkts); n != 0 || err != io.EOF {
		t.Fatalf("ReadBatch drained = %d, %v, want 0, EOF", n, err)
	}
	if err := p.Inject(frame(60, 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Inject after EndInput = %v, want ErrClosed", err)
	}
}

func TestFull(t *testing.T) {
	p := New("mem0", 2)
	for i := range 2 {
		if err := p.Inject(frame(60, 0)); err != nil {
			t.Fatalf("Inject %d = %v", i, err)
		}
	}
	if err := p.Inject(frame(60, 0)); !errors.Is(err, ErrFull) {
		t.Fatalf("Inject into full ring = %v, want ErrFull", err)
	}
	if err := p.Inject(make([]byte, packet.MaxFrame+1)); err == nil {
		t.Fatal("Inject of an oversized frame succeeded")
	}
}

func TestCloseUnblocks(t *testing.T) {
	p := New("mem0", 2)
	if err := porttest.BlockedRead(t, p, func() { p.Close() }); err != io.EOF {
		t.Fatalf("blocked ReadBatch after Close = %v, want EOF", err)
	}
	if _, err := p.WriteBatch(batch(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteBatch after Close = %v, want ErrClosed", err)
	}
}

func TestReadWakesOnInject(t *testing.T) {
	p := New("mem0", 2)
	done := make(chan int)
	go func() {
		n, _ := p.ReadBatch(batch(4))
		done <- n
	}()
	time.Sleep(10 * time.Millisecond)
	p.Inject(frame(64, 1))
	select {
	case n := <-done:
		if n != 1 {
			t.Fatalf("ReadBatch = %d, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Inject did not wake ReadBatch")
	}
}

func TestSentTake(t *testing.T) {
	p := New("mem0", 1)
	pkts := batch(2)
	pkts[0].SetFrame(frame(60, 1))
	pkts[0].Stamp = 7
	pkts[1].SetFrame(frame(70, 2))
	if n, err := p.WriteBatch(pkts); n != 2 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	// WriteBatch borrows: changing the packet afterwards must not change
	// what was sent.
	pkts[0].Bytes()[0] = 0xff
	if !p.WaitSent(2, time.Second) {
		t.Fatal("WaitSent(2) = false")
	}
	if st := p.SentStamps(); len(st) != 2 || st[0] != 7 {
		t.Errorf("SentStamps() = %v, want [7 0]", st)
	}
	got := p.Take()
	if len(got) != 2 || !bytes.Equal(got[0], frame(60, 1)) || !bytes.Equal(got[1], frame(70, 2)) {
		t.Fatalf("Take() = %x, want the two frames as written", got)
	}
	if got := p.Sent(); len(got) != 0 {
		t.Errorf("Sent() after Take = %d frames, want 0", len(got))
	}
	if p.WaitSent(1, 10*time.Millisecond) {
		t.Error("WaitSent(1) with nothing sent = true")
	}
	p.SetDiscard(true)
	p.WriteBatch(pkts)
	if got := p.Sent(); len(got) != 0 {
		t.Errorf("Sent() in Discard mode = %d frames, want 0", len(got))
	}
	if _, out, bytesOut, _ := p.Stats(); out != 4 || bytesOut != 260 {
		t.Errorf("Stats() out, bytes = %d, %d, want 4, 260", out, bytesOut)
	}
}

func TestPair(t *testing.T) {
	a, b := Pair("a", "b", 2)
	pkts := batch(3)
	for i, pk := range pkts {
		pk.SetFrame(frame(60, byte(i)))
		pk.Stamp = int64(i)
	}
	if n, err := a.WriteBatch(pkts); n != 3 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	if q := b.Queued(); q != 2 {
		t.Errorf("peer Queued() = %d, want 2", q)
	}
	if b.Name() != "b" || b.String() != "memport b" {
		t.Errorf("Name, String = %q, %q", b.Name(), b.String())
	}
	if _, _, _, drops := b.Stats(); drops != 1 {
		t.Errorf("peer drops = %d, want 1 (ring of 2, 3 written)", drops)
	}
	in := batch(4)
	n, err := b.ReadBatch(in)
	if n != 2 || err != nil {
		t.Fatalf("peer ReadBatch = %d, %v, want 2", n, err)
	}
	for i := range n {
		if !bytes.Equal(in[i].Bytes(), frame(60, byte(i))) || in[i].Stamp != int64(i) {
			t.Errorf("peer frame %d = %x stamp %d", i, in[i].Bytes(), in[i].Stamp)
		}
	}
	if got := a.Sent(); len(got) != 0 {
		t.Errorf("Pair port kept %d frames for Sent, want 0", len(got))
	}
}

func TestLoop(t *testing.T) {
	p := New("mem0", 2)
	p.Inject(frame(60, 9))
	p.LoopStamp(frame(100, 3), 5)
	pkts := batch(4)
	n, err := p.ReadBatch(pkts)
	if n != 4 || err != nil {
		t.Fatalf("ReadBatch = %d, %v, want 4", n, err)
	}
	if !bytes.Equal(pkts[0].Bytes(), frame(60, 9)) {
		t.Errorf("first frame = %x, want the queued one", pkts[0].Bytes())
	}
	for i := 1; i < 4; i++ {
		if !bytes.Equal(pkts[i].Bytes(), frame(100, 3)) || pkts[i].Stamp != 5 {
			t.Errorf("looped frame %d = %x stamp %d", i, pkts[i].Bytes(), pkts[i].Stamp)
		}
	}
	p.Close()
	if _, err := p.ReadBatch(pkts); err != io.EOF {
		t.Errorf("ReadBatch after Close in Loop mode = %v, want EOF", err)
	}
}

var sinkN int

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool and the race detector make allocation counts unreliable")
	}
	f := frame(1500, 7)
	loop := New("loop", 4)
	loop.Loop(f)
	disc := New("disc", 4)
	disc.SetDiscard(true)
	a, b := Pair("a", "b", 64)
	ring := New("ring", 64)
	pkts := batch(32)
	loop.ReadBatch(pkts) // fill the packets once
	a.WriteBatch(pkts)   // grow the peer's slots
	b.ReadBatch(pkts)

	tests := []struct {
		name string
		fn   func()
	}{
		{"Loop/ReadBatch", func() { sinkN, _ = loop.ReadBatch(pkts) }},
		{"Discard/WriteBatch", func() { sinkN, _ = disc.WriteBatch(pkts) }},
		{"Pair/WriteRead", func() { a.WriteBatch(pkts); sinkN, _ = b.ReadBatch(pkts) }},
		{"Inject/ReadBatch", func() { ring.Inject(f); sinkN, _ = ring.ReadBatch(pkts) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("allocs = %v, want 0", n)
			}
		})
	}
}

func BenchmarkLoopRead(b *testing.B) {
	for _, size := range []int{64, 512, 1500, 9001} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			p := New("loop", 1)
			p.Loop(frame(size, 1))
			pkts := batch(32)
			b.ReportAllocs()
			b.SetBytes(int64(size) * int64(len(pkts)))
			for b.Loop() {
				p.ReadBatch(pkts)
			}
		})
	}
}

// TestSynctest shows a port inside a synctest bubble, as the aging and
// expiry tests use it: a blocked ReadBatch is durably blocked, and
// WaitSent times out on the bubble's fake clock.
func TestSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New("mem0", 4)
		got := make(chan int)
		go func() {
			n, _ := p.ReadBatch(batch(4))
			got <- n
		}()
		synctest.Wait() // the reader is blocked in ReadBatch
		p.Inject(frame(60, 1))
		if n := <-got; n != 1 {
			t.Errorf("ReadBatch = %d, want 1", n)
		}
		start := time.Now()
		if p.WaitSent(1, time.Minute) {
			t.Error("WaitSent(1) with nothing sent = true")
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("WaitSent waited %v of fake time, want 1m", d)
		}
		p.Close()
	})
}

package bench

import (
	"testing"
	"time"
)

// allScenarios are every scenario of the benchmarks, by name.
var allScenarios = append([]Case{
	{"bridge-forward/9001", func() (*Scenario, error) { return BridgeForward(9001) }},
	{"bridge-flood8/64", BridgeFlood8},
	{"vlan-forward/pop", VLANPop},
	{"vlan-forward/push", VLANPush},
}, InMemory...)

// TestMeasure: every scenario forwards what it is fed (Measure checks the
// output counters) and reports figures that agree with each other.
func TestMeasure(t *testing.T) {
	for _, c := range allScenarios {
		t.Run(c.Name, func(t *testing.T) {
			s, err := c.New()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Name != c.Name {
				t.Errorf("Name = %q, want %q", s.Name, c.Name)
			}
			r, err := s.Measure(20 * time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != c.Name || r.Frames == 0 || r.Seconds < 0.02 || r.NsPerFrame <= 0 || r.Mpps <= 0 || r.Gbps <= 0 {
				t.Fatalf("Measure(20ms) = %+v, want frames, at least 20ms and non-zero rates", r)
			}
			if got := r.NsPerFrame * r.Mpps; got < 999 || got > 1001 {
				t.Errorf("Measure(20ms) = %+v: ns per frame times Mpps = %v, want 1000", r, got)
			}
		})
	}
}

// TestCheck: a scenario whose frames are dropped says so.
func TestCheck(t *testing.T) {
	s, err := BridgeForward(64)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := s.Sent()
	s.Input()
	if err := s.Check(before, 1); err != nil {
		t.Errorf("Check after one frame forwarded: %v", err)
	}
	if err := s.Check(before, 2); err == nil {
		t.Errorf("Check(before, 2) after one frame = nil, want an error")
	}
	s.in.Up = false // frames on a down interface are dropped
	before = s.Sent()
	s.Input()
	if err := s.Check(before, 1); err == nil {
		t.Errorf("Check after a frame dropped on a down interface = nil, want an error")
	}
}

func TestRoutedNATFlows(t *testing.T) {
	if _, err := RoutedNAT(0); err == nil {
		t.Errorf("RoutedNAT(0) = nil error, want one")
	}
	s, err := RoutedNAT(100)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Name != "routed-nat/100" {
		t.Errorf("RoutedNAT(100).Name = %q, want routed-nat/100", s.Name)
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under -race")
	}
	for _, c := range allScenarios {
		t.Run(c.Name, func(t *testing.T) {
			s, err := c.New()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if n := testing.AllocsPerRun(1000, s.Input); n != 0 {
				t.Errorf("Input allocs = %v, want 0", n)
			}
		})
	}
}

package bench

import (
	"fmt"
	"testing"
)

// runScenario builds a scenario and measures its Input per frame, then
// checks that every frame of the loop left where it should.
func runScenario(b *testing.B, build func() (*Scenario, error)) {
	b.Helper()
	runScenarioMode(b, build, false)
}

// runScenarioMode is runScenario with frames run one by one (Single)
// when single is set.
func runScenarioMode(b *testing.B, build func() (*Scenario, error), single bool) {
	b.Helper()
	s, err := build()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.Single = single
	b.ReportAllocs()
	b.SetBytes(int64(s.Size))
	before := s.Sent()
	for b.Loop() {
		s.Input()
	}
	if err := s.Check(before, uint64(b.N)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPipelineBridgeForward is known unicast from em1 to tap0 through
// the whole frame path: parse, bridge, output to a port.
func BenchmarkPipelineBridgeForward(b *testing.B) {
	for _, n := range Sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			runScenario(b, func() (*Scenario, error) { return BridgeForward(n) })
		})
	}
}

// BenchmarkPipelineBridgeFlood8 is a broadcast from one member flooded to
// the 7 others.
func BenchmarkPipelineBridgeFlood8(b *testing.B) {
	runScenario(b, BridgeFlood8)
}

// BenchmarkPipelineVLANForward is a frame tagged 10 on em1 that loses its
// tag on vlan10, crosses bridge0 to tap0, and the reply that gains it back.
func BenchmarkPipelineVLANForward(b *testing.B) {
	b.Run("pop", func(b *testing.B) { runScenario(b, VLANPop) })
	b.Run("push", func(b *testing.B) { runScenario(b, VLANPush) })
}

package bench

import (
	"fmt"
	"testing"
)

// BenchmarkPipelineRoutedNAT is an established UDP flow crossing the
// router with NAT (RoutedNAT), over 1k and 100k flows. Frames go in as a
// reader hands them over, BatchSize at a time (Worker.InputBatch:
// counters committed once a batch); the -single cases one by one
// (Worker.Input).
func BenchmarkPipelineRoutedNAT(b *testing.B) {
	for _, flows := range []int{1000, 100000} {
		for _, single := range []bool{false, true} {
			name := fmt.Sprintf("%dk", flows/1000)
			if single {
				name += "-single"
			}
			b.Run(name, func(b *testing.B) {
				runScenarioMode(b, func() (*Scenario, error) { return RoutedNAT(flows) }, single)
			})
		}
	}
}

package bench

import (
	"fmt"
	"testing"
)

// BenchmarkPipelineRoutedNAT is an established UDP flow crossing the
// router with NAT (RoutedNAT), over 1k and 100k flows.
func BenchmarkPipelineRoutedNAT(b *testing.B) {
	for _, flows := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("%dk", flows/1000), func(b *testing.B) {
			runScenario(b, func() (*Scenario, error) { return RoutedNAT(flows) })
		})
	}
}

// Package bench holds hostnet's whole-pipeline benchmarks: frames injected
// into the dataplane over in-memory ports and run through the frame path
// (parse, bridge, vlan, output), measured per frame. Micro-benchmarks of
// one layer sit beside its code.
//
//	go test -run '^$' -bench . -benchmem ./bench
package bench

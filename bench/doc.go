// Package bench holds hostnet's whole-pipeline benchmarks: frames injected
// into the dataplane over in-memory ports and run through the frame path
// (parse, bridge, vlan, route, pf, output), measured per frame. Frames go
// in as a port's reader hands them over, dataplane.BatchSize at a time
// from the worker's packet cache. Micro-benchmarks of one layer sit beside
// its code.
//
//	go test -run '^$' -bench . -benchmem ./bench
package bench

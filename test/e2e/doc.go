// Package e2e runs hostnet against real network stacks: the kernel of a
// network namespace plays each VM and each outside host, attached through
// hostnet's taps and through veth pairs named em0 and em1 that stand in for
// the host's NICs, so the seed's files run verbatim.
//
// hostnet itself runs in a namespace of its own (the "host"), which holds
// em0 and em1 and where it creates its taps; the harness then moves each
// tap into the namespace of its VM. No link or namespace it makes is named
// outside the namespaces it creates, and every name carries the test
// binary's PID, so a test never touches the machine's own interfaces (a
// real em0 stays untouched) nor another run's leftovers.
//
// The tests need root and the tools of Tools; without them they skip and
// say why, and with CI=true they fail instead.
//
// The scenarios and their configuration directories are described in
// examples/e2e/README.md. The package builds on Linux only: namespaces,
// veth pairs and packet sockets are Linux's.
package e2e

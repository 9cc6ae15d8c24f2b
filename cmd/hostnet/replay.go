package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/filter"
)

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", "-f DIR -r IF=FILE [-r IF=FILE ...] -w OUTDIR [-seed N]",
		`Replay builds the interfaces of the configuration in DIR, feeds each
capture FILE (pcap or pcapng, Ethernet) into interface IF as if the frames
had arrived there, in timestamp order across all inputs with the clock taken
from the timestamps, and writes OUTDIR/IF.pcap for every tap or host NIC
that sent at least one frame. It then prints, per interface, the frames in,
out, and dropped by reason. The same inputs give byte-identical outputs.

Example:

	hostnet replay -f examples/bridge -r em1=examples/bridge/em1.pcap \
	    -r tap0=examples/bridge/tap0.pcap -w out/`, stderr)
	dir := fs.String("f", "/etc/hostnet", "configuration `DIR`ectory, laid out like /etc")
	var ins listFlag
	fs.Var(&ins, "r", "feed capture `IF=FILE` into interface IF (repeatable)")
	out := fs.String("w", "", "write OUTDIR/IF.pcap for every interface that sends (required)")
	seed := fs.Int64("seed", 1, "seed for every random choice (NAT ports, probability)")
	quiet := fs.Bool("q", false, "do not print the counter table")
	pflogFile := fs.String("l", "", "write the packets of pf rules with `log` to `FILE` (pcap, pflog link type)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostnet replay: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *out == "" {
		fmt.Fprintf(stderr, "hostnet replay: -w OUTDIR is required\n")
		return 2
	}
	if len(ins) == 0 {
		fmt.Fprintf(stderr, "hostnet replay: give at least one -r IF=FILE\n")
		return 2
	}
	var inputs []dataplane.ReplayInput
	for _, in := range ins {
		ifname, path, ok := strings.Cut(in, "=")
		if !ok || ifname == "" || path == "" {
			fmt.Fprintf(stderr, "hostnet replay: -r %q: want IF=FILE\n", in)
			return 2
		}
		inputs = append(inputs, dataplane.ReplayInput{Interface: ifname, Path: path})
	}
	spec, warns, err := config.Load(*dir)
	for _, w := range warns {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hostnet replay: %v\n", err)
		return 1
	}
	ropts := dataplane.ReplayOptions{Seed: *seed, Progress: stderr, ProgressEvery: 100000}
	if *pflogFile != "" {
		f, err := os.Create(*pflogFile)
		if err != nil {
			fmt.Fprintf(stderr, "hostnet replay: -l: %v\n", err)
			return 1
		}
		defer f.Close()
		if ropts.Pflog, err = filter.NewPflog(f); err != nil {
			fmt.Fprintf(stderr, "hostnet replay: -l %s: %v\n", *pflogFile, err)
			return 1
		}
	}
	res, err := dataplane.Replay(spec, inputs, *out, ropts)
	if err != nil {
		fmt.Fprintf(stderr, "hostnet replay: %v\n", err)
		return 1
	}
	if !*quiet {
		wrote := strings.Join(res.Written, ", ")
		if wrote == "" {
			wrote = "nothing (no interface sent a frame)"
		}
		fmt.Fprintf(stdout, "%d frames replayed; wrote %s\n\n", res.Frames, wrote)
		dataplane.WriteStats(stdout, res.Stats)
	}
	return 0
}

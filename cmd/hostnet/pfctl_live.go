package main

import (
	"context"
	"errors"
	"io"
	"slices"
)

// pfctlLive sends `hostnet pfctl ARGS` (-sr, -vvsr, -ss, -si, -st,
// -a 'vm/*' -sr, -f FILE, -F states, -k HOST) to the daemon listening on
// socket and prints its answer: the text, or with -j among args the JSON.
// It returns the exit status: 1 when the daemon cannot be reached or
// refuses, with the reason on stderr. cmdPfctl calls it for every form
// that needs the running daemon.
func pfctlLive(socket string, args []string, stdout, stderr io.Writer) int {
	json := slices.Contains(args, "-j")
	return remote("pfctl", clientFlags{socket: &socket, json: &json}, args, stdout, stderr)
}

// errPFNotRunning is the daemon's answer to pfctl until pf runs in the
// dataplane.
var errPFNotRunning = errors.New("pf is not running in this build yet")

// pfctlServe is the daemon's side of pfctlLive: it gets the arguments as
// the CLI was given them and returns the text to print and the value for
// -j.
//
// TODO(pfctl): answer from the running filter (rules with counters,
// states, info, anchors; load a file, flush states, kill states of a
// host) once the dataplane runs pf.
func pfctlServe(d *daemon, ctx context.Context, args []string) (string, any, error) {
	return "", nil, errPFNotRunning
}

func (d *daemon) handlePfctl(ctx context.Context, args []string) (string, any, error) {
	return pfctlServe(d, ctx, args)
}

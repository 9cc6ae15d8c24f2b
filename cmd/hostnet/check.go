package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hostnet/hostnet/dataplane/config"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", "[-f DIR] [-q]",
		`Check parses and validates every file of the configuration directory DIR
(hostname.IF, vm.conf, sysctl.conf, mygate, pf.conf and the anchor files it
loads), as vmd -n and pfctl -nf do, and applies nothing. It prints every
error as FILE:LINE: message and every warning about a configuration that
loads but may not do what it seems to say, then a summary. It exits 1 if
there is any error.`, stderr)
	dir := fs.String("f", "/etc/hostnet", "configuration `DIR`ectory, laid out like /etc")
	quiet := fs.Bool("q", false, "print only errors and warnings")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostnet check: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	spec, warns, err := config.Load(*dir)
	for _, w := range warns {
		fmt.Fprintf(stdout, "%s/%s\n", *dir, w)
	}
	nerr := printErrors(stderr, *dir, err)
	pfRules, pfWarns, pfErr := checkPF(*dir, spec)
	for _, w := range pfWarns {
		fmt.Fprintf(stdout, "%s/%s\n", *dir, w)
	}
	nerr += printErrors(stderr, *dir, pfErr)
	if nerr > 0 {
		fmt.Fprintf(stderr, "hostnet check: %s: %d error(s), nothing applied\n", *dir, nerr)
		return 1
	}
	if !*quiet {
		nvm, nbr := len(spec.VMs), 0
		for _, ifc := range spec.Interfaces {
			if ifc.Kind == config.Bridge {
				nbr++
			}
		}
		fmt.Fprintf(stdout, "%s: ok: %d interfaces (%d bridges), %d VMs, %s; %d warning(s)\n",
			*dir, len(spec.Interfaces), nbr, nvm, pfRules, len(warns)+len(pfWarns))
	}
	return 0
}

// printErrors prints each error joined in err on its own line, prefixed
// with the directory, and returns how many there were.
func printErrors(w io.Writer, dir string, err error) int {
	if err == nil {
		return 0
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	n := 0
	for _, e := range list {
		var ce *config.Error
		msg := e.Error()
		if errors.As(e, &ce) && !strings.HasPrefix(msg, dir) {
			msg = dir + "/" + msg
		}
		for line := range strings.SplitSeq(msg, "\n") {
			fmt.Fprintln(w, line)
			n++
		}
	}
	return n
}

package config

import (
	"errors"
	"fmt"
)

// maxErrors is how many errors one parse reports before it gives up
// counting them one by one.
const maxErrors = 10

// Error is one problem in a configuration file, at FILE:LINE or
// FILE:LINE:COL. Msg says what was found and what was expected.
type Error struct {
	File string
	Line int // 0: the file as a whole
	Col  int // 0: the line as a whole
	Msg  string
}

// Error returns "FILE:LINE:COL: MSG", leaving out a zero LINE or COL.
func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Warning is a configuration that loads but may not do what it seems to
// say. `hostnet check` prints them; they never stop a load.
type Warning struct {
	File string
	Line int
	Msg  string
}

// String returns "FILE:LINE: warning: MSG".
func (w Warning) String() string {
	if w.Line == 0 {
		return fmt.Sprintf("%s: warning: %s", w.File, w.Msg)
	}
	return fmt.Sprintf("%s:%d: warning: %s", w.File, w.Line, w.Msg)
}

// errList collects the errors of one parse, up to maxErrors.
type errList struct {
	errs []error
	more int
	file string // for the final "N more errors"
}

func (l *errList) add(file string, line, col int, format string, args ...any) {
	if l.file == "" {
		l.file = file
	}
	if len(l.errs) >= maxErrors {
		l.more++
		return
	}
	l.errs = append(l.errs, &Error{File: file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (l *errList) len() int { return len(l.errs) + l.more }

// err returns the errors joined, or nil.
func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.errs
	if l.more > 0 {
		errs = append(errs[:len(errs):len(errs)], &Error{File: l.file, Msg: fmt.Sprintf("%d more errors not shown", l.more)})
	}
	return errors.Join(errs...)
}

// Errors returns every *Error inside err (as Load, Validate and the
// parsers join them), in order, for callers that count or print them one
// by one.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *Error:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, y := range x.Unwrap() {
				walk(y)
			}
		default:
			if u := errors.Unwrap(e); u != nil {
				walk(u)
			}
		}
	}
	walk(err)
	return out
}

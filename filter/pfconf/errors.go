package pfconf

import (
	"errors"
	"fmt"
)

// maxErrors is how many errors one parse reports before it only counts
// the rest.
const maxErrors = 10

// Error is one problem in a pf.conf file, at FILE:LINE.
type Error struct {
	File string
	Line int // 0: the file as a whole
	Msg  string
}

// Error returns "FILE:LINE: MSG", leaving out a zero LINE.
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// errList collects the errors of one load, up to maxErrors.
type errList struct {
	errs []error
	more int
	file string
}

func (l *errList) add(file string, line int, format string, args ...any) {
	if l.file == "" {
		l.file = file
	}
	if len(l.errs) >= maxErrors {
		l.more++
		return
	}
	l.errs = append(l.errs, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

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

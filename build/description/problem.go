package description

import (
	"fmt"
	"log/slog"
	"strings"
)

// Problem is one finding about a description at a position.
type Problem struct {
	Pos Pos    `json:"pos"`
	Msg string `json:"message"`
}

// String gives "file:line: message".
func (p Problem) String() string { return p.Pos.String() + ": " + p.Msg }

// InvalidError is returned when a description breaks KIWI's schema or
// runtime rules. It lists every problem found (up to a limit), one
// "file:line: message" line each.
type InvalidError struct {
	File     string
	Problems []Problem
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("%s: %d problems in the description:", e.File, len(e.Problems)))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// maxProblems bounds the error list so a broken file gives a readable
// error.
const maxProblems = 50

// problems collects errors and passes warnings to a sink.
type problems struct {
	errs []Problem
	warn func(Problem)
}

func (p *problems) errorf(pos Pos, format string, args ...any) {
	if len(p.errs) < maxProblems {
		p.errs = append(p.errs, Problem{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
}

func (p *problems) warnf(pos Pos, format string, args ...any) {
	if p.warn != nil {
		p.warn(Problem{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
}

// err returns nil or an *InvalidError with the collected errors.
func (p *problems) err(file string) error {
	if len(p.errs) == 0 {
		return nil
	}
	return &InvalidError{File: file, Problems: append([]Problem(nil), p.errs...)}
}

// WarnLog returns a warning sink for LoadOptions that logs each warning
// at level warn with its position.
func WarnLog(log *slog.Logger) func(Problem) {
	if log == nil {
		return nil
	}
	return func(p Problem) { log.Warn(p.Msg, "at", p.Pos.String()) }
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// logHandler writes KIWI-style lines: "[ INFO    ]: 12:00:01 | message key=value".
type logHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
	color bool
	attrs []slog.Attr
}

func newLogHandler(w io.Writer, level slog.Level, color bool) *logHandler {
	return &logHandler{mu: &sync.Mutex{}, w: w, level: level, color: color}
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	name, colour := "INFO", "32"
	switch {
	case r.Level >= slog.LevelError:
		name, colour = "ERROR", "31"
	case r.Level >= slog.LevelWarn:
		name, colour = "WARNING", "33"
	case r.Level < slog.LevelInfo:
		name, colour = "DEBUG", "36"
	}
	if h.color {
		fmt.Fprintf(&b, "[ \x1b[%sm%-8s\x1b[0m]: ", colour, name)
	} else {
		fmt.Fprintf(&b, "[ %-8s]: ", name)
	}
	fmt.Fprintf(&b, "%s | %s", r.Time.Format("15:04:05"), r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &n
}

// WithGroup flattens groups: kiwi logs no nested attributes.
func (h *logHandler) WithGroup(string) slog.Handler { return h }

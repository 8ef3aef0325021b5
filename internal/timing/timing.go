// Package timing measures the phases of a build for the user who waits
// for it: each phase's duration in the log when it ends, and one summary
// line at the end of the command ("built in 12.3 s: packages 0 s
// (cached), config 0.4 s, ..."), so that a slow or a cached step shows
// without --debug.
//
// A Record travels in the command's context: the libraries mark phases
// with Start and Cached, and do nothing when the context has none.
package timing

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Record collects the phases of one command.
type Record struct {
	log   *slog.Logger
	now   func() time.Time
	start time.Time

	mu     sync.Mutex
	phases []Phase
}

// Phase is one named phase: the time spent in it (phases of the same
// name add up, as the filesystems of a disk's partitions do) and
// whether it was taken from a cache.
type Phase struct {
	Name   string
	Took   time.Duration
	Cached bool
}

// New starts a record now; log receives each phase's duration.
func New(log *slog.Logger) *Record { return newAt(log, time.Now) }

func newAt(log *slog.Logger, now func() time.Time) *Record {
	return &Record{log: log, now: now, start: now()}
}

type key struct{}

// With returns ctx carrying r.
func With(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, key{}, r)
}

func from(ctx context.Context) *Record {
	r, _ := ctx.Value(key{}).(*Record)
	return r
}

// Start marks the beginning of phase name; the returned function marks
// its end and logs how long it took.
func Start(ctx context.Context, name string) func() { return start(ctx, name, false) }

// StartCached is Start for a phase whose work is taken from a cache: the
// time spent getting it (a copy, a check) counts, and the summary says
// cached.
func StartCached(ctx context.Context, name string) func() { return start(ctx, name, true) }

func start(ctx context.Context, name string, cached bool) func() {
	r := from(ctx)
	if r == nil {
		return func() {}
	}
	began := r.now()
	return func() {
		took := r.now().Sub(began)
		r.add(Phase{Name: name, Took: took, Cached: cached})
		if r.log != nil {
			args := []any{"phase", name, "seconds", seconds(took)}
			if cached {
				args = append(args, "cached", true)
			}
			r.log.Info("phase done", args...)
		}
	}
}

// Cached records that phase name was taken from a cache.
func Cached(ctx context.Context, name string) {
	if r := from(ctx); r != nil {
		r.add(Phase{Name: name, Cached: true})
	}
}

func (r *Record) add(p Phase) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.phases {
		if r.phases[i].Name == p.Name {
			r.phases[i].Took += p.Took
			r.phases[i].Cached = r.phases[i].Cached && p.Cached
			return
		}
	}
	r.phases = append(r.phases, p)
}

// Phases are the phases recorded so far, in the order they began.
func (r *Record) Phases() []Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Phase(nil), r.phases...)
}

// Summary is the line for the end of the command: the whole time and
// each phase's, "" when no phase was recorded.
func (r *Record) Summary() string {
	if r == nil {
		return ""
	}
	phases := r.Phases()
	if len(phases) == 0 {
		return ""
	}
	parts := make([]string, 0, len(phases))
	for _, p := range phases {
		s := p.Name + " " + seconds(p.Took) + " s"
		if p.Cached {
			s += " (cached)"
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("built in %s s: %s", seconds(r.now().Sub(r.start)), strings.Join(parts, ", "))
}

// seconds is d in seconds with one decimal, "0" for nothing.
func seconds(d time.Duration) string {
	if d < 50*time.Millisecond {
		return "0"
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}

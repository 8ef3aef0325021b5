package timing

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestSummary: phases in the order they began, repeated names added up,
// cached ones marked, each logged when it ends; nothing without a record.
func TestSummary(t *testing.T) {
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	var logged bytes.Buffer
	r := newAt(slog.New(slog.NewTextHandler(&logged, nil)), now)
	ctx := With(context.Background(), r)

	Cached(ctx, "packages")
	end := Start(ctx, "config")
	clock = clock.Add(400 * time.Millisecond)
	end()
	for _, d := range []time.Duration{2 * time.Second, 3600 * time.Millisecond} {
		end := Start(ctx, "filesystem")
		clock = clock.Add(d)
		end()
	}
	end = Start(ctx, "convert")
	clock = clock.Add(3100 * time.Millisecond)
	end()
	clock = clock.Add(5200 * time.Millisecond)

	want := "built in 14.3 s: packages 0 s (cached), config 0.4 s, filesystem 5.6 s, convert 3.1 s"
	if got := r.Summary(); got != want {
		t.Errorf("summary\n got %q\nwant %q", got, want)
	}
	if n := strings.Count(logged.String(), "phase done"); n != 4 {
		t.Errorf("%d phase lines logged, want 4:\n%s", n, logged.String())
	}
	if !strings.Contains(logged.String(), "phase=convert seconds=3.1") {
		t.Errorf("log:\n%s", logged.String())
	}

	// Without a record in the context, marking phases does nothing.
	Cached(context.Background(), "x")
	Start(context.Background(), "y")()
	if got := newAt(nil, now).Summary(); got != "" {
		t.Errorf("empty record summary %q", got)
	}
}

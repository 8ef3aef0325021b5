package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunReturnsOutputAndFailures(t *testing.T) {
	out, err := Runner{}.Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo hi"}})
	if err != nil || string(out) != "hi\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	_, err = Runner{}.Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo bad >&2; exit 3"}})
	var re *Error
	if !errors.As(err, &re) || re.Code != 3 || !strings.Contains(err.Error(), "bad") || !strings.Contains(err.Error(), "sh -c") {
		t.Fatalf("err = %v", err)
	}
}

func TestCancelKillsTheProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pidfile := t.TempDir() + "/pid"
	go func() {
		for {
			if b, err := os.ReadFile(pidfile); err == nil && len(b) > 0 {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// The shell starts a child that would outlive a plain kill of the shell.
	_, err := Runner{}.Run(ctx, Cmd{Name: "sh", Args: []string{"-c", "sleep 300 & echo $! > " + pidfile + "; wait"}})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want cancellation", err)
	}
	b, _ := os.ReadFile(pidfile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	// A killed child may linger as a zombie until init reaps it.
	if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(st), ") Z ") {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("child %d of the cancelled command still runs", pid)
	}
}

func TestStartAndStopABackgroundProcess(t *testing.T) {
	pidfile := t.TempDir() + "/pid"
	p, err := Runner{}.Start(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "sleep 300 & echo $! > " + pidfile + "; wait"}})
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for i := 0; i < 100 && child == 0; i++ {
		b, _ := os.ReadFile(pidfile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("the background shell did not start its child")
	}
	start := time.Now()
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("Stop took %v: SIGTERM did not end the group", time.Since(start))
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Stop returned before the process ended")
	}
	time.Sleep(100 * time.Millisecond)
	if st, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat"); err == nil && !strings.Contains(string(st), ") Z ") {
		syscall.Kill(child, syscall.SIGKILL)
		t.Fatalf("child %d of the stopped process still runs", child)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestProgressReportsLongCommands(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil))
	if _, err := (Runner{Log: log, Progress: 50 * time.Millisecond}).Run(context.Background(), Cmd{Name: "sleep", Args: []string{"0.3"}}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "still running"); n < 2 {
		t.Fatalf("%d progress lines for a 0.3 s command at 50 ms:\n%s", n, buf.String())
	}
	buf.Reset()
	if _, err := (Runner{Log: log, Progress: time.Second}).Run(context.Background(), Cmd{Name: "true"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "still running") {
		t.Fatalf("a quick command reported progress:\n%s", buf.String())
	}
}

// syncWriter serialises writes from the progress goroutine and the test.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestCommandLinesHideURLPasswords(t *testing.T) {
	var logged bytes.Buffer
	r := Runner{Log: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	_, err := r.Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo https://u:secret@host/x >&2; exit 3", "https://user:pw1@mirror/debian"}})
	if err == nil {
		t.Fatal("want the exit code as an error")
	}
	for _, s := range []string{logged.String(), err.Error()} {
		if strings.Contains(s, "secret") || strings.Contains(s, "pw1") {
			t.Errorf("a URL password was shown: %s", s)
		}
	}
	if !strings.Contains(err.Error(), "https://user:***@mirror/debian") {
		t.Errorf("the command line lost its URL: %v", err)
	}
}

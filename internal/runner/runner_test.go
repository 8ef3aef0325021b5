package runner

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
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

// Package runner runs the external programs an image builder must use
// (mkfs.*, grub-mkimage, dracut, qemu-img, ...) in one way: the exact
// command line is logged, stderr is kept for the error, and cancelling the
// context stops the whole process group, children included.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Runner runs commands. The zero value runs quietly.
type Runner struct {
	// Log receives every command line at debug level.
	Log *slog.Logger
	// Env is added to the inherited environment.
	Env []string
	// Progress, when set, has a command that runs longer than it say so
	// at info level, once per Progress: dracut, mkfs and qemu-img take
	// minutes on big trees and a silent builder looks hung.
	Progress time.Duration
}

// Cmd is one command to run.
type Cmd struct {
	Name string
	Args []string
	// Dir is the working directory.
	Dir string
	// Stdin is fed to the command.
	Stdin io.Reader
	// Stdout receives the output; nil keeps it for the result.
	Stdout io.Writer
	// Env is added to the runner's environment.
	Env []string
}

// Error is a command that failed: its line, exit code and the end of
// its error output.
type Error struct {
	Line   string
	Code   int
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Line, e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + Tail(s, 2000)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Tail is the last n bytes of a program's output s, marked as cut when
// it was: what an error shows of it.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// command prepares c in its own process group, so cancelling ctx stops
// its helpers too (dracut and mkfs start their own): the group gets
// SIGTERM, SIGKILL 5 s later. death is what the child gets when kiwi dies.
func (r Runner) command(ctx context.Context, c Cmd, death syscall.Signal) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	cmd.Env = append(append(cmd.Environ(), r.Env...), c.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: death}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs c and returns its standard output (unless c.Stdout is set).
// On cancellation the process group gets SIGTERM, then SIGKILL after 5 s.
func (r Runner) Run(ctx context.Context, c Cmd) ([]byte, error) {
	line := redactURLs(c.Name + " " + strings.Join(quote(c.Args), " "))
	if r.Log != nil {
		r.Log.Debug("run", "cmd", line)
	}
	// Killed with kiwi, even by SIGKILL, which runs no cleanup (unshare
	// --kill-child passes that on inside namespaces).
	cmd := r.command(ctx, c, syscall.SIGKILL)
	var out, errb bytes.Buffer
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	} else {
		cmd.Stdout = &out
	}
	cmd.Stderr = &limitedBuffer{max: 64 << 10, buf: &errb}
	start := time.Now()
	if r.Progress > 0 && r.Log != nil {
		done, stopped := make(chan struct{}), make(chan struct{})
		// Run returns only after the reporter stopped: no line after it.
		defer func() { close(done); <-stopped }()
		go func() {
			defer close(stopped)
			tick := time.NewTicker(r.Progress)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					r.Log.Info("still running", "cmd", c.Name, "elapsed", time.Since(start).Round(time.Second))
				}
			}
		}()
	}
	err := cmd.Run()
	if r.Log != nil {
		r.Log.Debug("done", "cmd", c.Name, "took", time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		if cmd.Process != nil {
			// Leave no helper of the command behind.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.Bytes(), &Error{Line: line, Code: code, Stderr: redactURLs(errb.String()), Err: err}
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps the last max bytes written to it.
type limitedBuffer struct {
	max int
	buf *bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.buf.Write(p)
	if over := l.buf.Len() - l.max; over > 0 {
		l.buf.Next(over)
	}
	return len(p), nil
}

func quote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$`\\|&;<>()*?") {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			out[i] = a
		}
	}
	return out
}

// urlPassword matches the password of a URL's user info
// (scheme://user:password@host).
var urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]*@`)

// redactURLs masks passwords in URLs (a repository given as
// https://user:secret@host/...), so command lines and tool output that
// name them can be logged and put in errors.
func redactURLs(s string) string {
	return urlPassword.ReplaceAllString(s, "${1}***@")
}

// ScriptFailure is the error of a user's script (config.sh, disk.sh, ...)
// that failed: its name, exit code and the last 40 lines of its output
// (the script's stdout is expected in its stderr), so the user sees why.
func ScriptFailure(name string, err error) error {
	if err == nil {
		return nil
	}
	var re *Error
	if !errors.As(err, &re) {
		return fmt.Errorf("%s: %w", name, err)
	}
	lines := strings.Split(strings.TrimRight(re.Stderr, "\n"), "\n")
	if len(lines) > 40 {
		lines = append([]string{"..."}, lines[len(lines)-40:]...)
	}
	return fmt.Errorf("%s failed with exit code %d; its output:\n%s", name, re.Code, strings.Join(lines, "\n"))
}

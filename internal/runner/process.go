package runner

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Process is a program started in the background (a service kiwi needs
// while it works, like podman's API service), in its own process group.
type Process struct {
	cmd  *exec.Cmd
	line string
	done chan struct{}
	err  error
}

// Start starts c in the background and returns at once. The process runs
// until Stop, or until ctx is cancelled (then its group gets SIGTERM, and
// SIGKILL 5 s later). Its output goes to c.Stdout (nowhere when nil);
// standard error goes there too.
func (r Runner) Start(ctx context.Context, c Cmd) (*Process, error) {
	line := c.Name + " " + strings.Join(quote(c.Args), " ")
	if r.Log != nil {
		r.Log.Debug("start", "cmd", line)
	}
	// SIGTERM when kiwi dies, even by SIGKILL: a service must not outlive
	// the run it serves.
	cmd := r.command(ctx, c, syscall.SIGTERM)
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stdout
	p := &Process{cmd: cmd, line: line, done: make(chan struct{})}
	started := make(chan error, 1)
	// The kernel sends Pdeathsig when the thread that forked the child
	// ends, not the process, and Go ends threads that a goroutine locked
	// and left locked. Forking from a thread locked until the child exits
	// keeps that thread, so the signal comes only with kiwi's end.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, &Error{Line: line, Code: -1, Err: err}
	}
	return p, nil
}

// Pid is the process ID (also its process group ID).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Err is how the process ended (valid after Exited is closed).
func (p *Process) Err() error {
	if p.err == nil {
		return nil
	}
	return &Error{Line: p.line, Code: p.cmd.ProcessState.ExitCode(), Err: p.err}
}

// Stop ends the process: SIGTERM to its group, SIGKILL after grace. It
// returns when the process is gone. Stopping an ended process does
// nothing.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := syscall.Kill(-p.Pid(), syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s: %w", p.line, err)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		<-p.done
	}
	return nil
}

package box

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/kiwi-go/kiwi/internal/journal"
)

// Capabilities the box container gets besides privileged mode (what
// KIWI's plugin adds; privileged has them, naming them keeps the box
// working where a policy drops privileged capabilities).
var Capabilities = []string{"AUDIT_WRITE", "AUDIT_CONTROL", "MKNOD", "SYS_ADMIN"}

// Labels of box containers: LabelBox marks them, LabelRun names the kiwi
// run (journal.RunID) that owns one and LabelHost where that id is
// meaningful (journal.Host), so cleanup can remove the containers of runs
// that were killed, and only those.
const (
	LabelBox  = "io.kiwi-go.boxbuild"
	LabelRun  = "io.kiwi-go.run"
	LabelHost = "io.kiwi-go.host"
)

// Stale is a box container of a kiwi run that is gone.
type Stale struct {
	Name string
	// Err is why it could not be removed (nil: removed, or dry run).
	Err error
}

// RemoveStale removes the box containers of the service whose kiwi run is
// gone (killed before it could remove them: they may still be building)
// and returns them; with dryRun it only lists them. Containers of live
// runs, of other machines or pid namespaces (whose pids mean nothing
// here), and ones without these labels are left alone.
func RemoveStale(svc *Service, dryRun bool) ([]Stale, error) {
	list, err := containers.List(svc.Conn, new(containers.ListOptions).WithAll(true).
		WithFilters(map[string][]string{"label": {LabelBox + "=true"}}))
	if err != nil {
		return nil, fmt.Errorf("list box containers on %s: %w", svc.URI, err)
	}
	host := journal.Host()
	var stale []Stale
	for _, c := range list {
		run, ok := c.Labels[LabelRun]
		if !ok || c.Labels[LabelHost] != host || journal.RunAlive(run) {
			continue
		}
		st := Stale{Name: c.ID[:12]}
		if len(c.Names) > 0 {
			st.Name = c.Names[0]
		}
		if !dryRun {
			force, timeout := true, uint(10)
			if _, err := containers.Remove(svc.Conn, c.ID, new(containers.RemoveOptions).WithForce(force).WithTimeout(timeout)); err != nil {
				st.Err = fmt.Errorf("remove box container %s of the dead run %s: %w", st.Name, run, err)
			}
		}
		stale = append(stale, st)
	}
	return stale, nil
}

// ContainerRun is one build in a box container.
type ContainerRun struct {
	Build Build
	// Image is the box image (from Service.ProvideImage).
	Image string
	// TempDir holds the per-run scratch dir (the box's storage).
	TempDir string
	// Output receives the build's output as it happens.
	Output io.Writer
	Log    *slog.Logger
}

// RunContainer runs the build in a new privileged container of the
// service and returns the build's exit code (read from the target dir:
// a missing exit code is an error). The container and the scratch dir are
// removed afterwards however the run ends, also when ctx is cancelled
// (SIGINT/SIGTERM). Each run has its own container name and storage, so
// any number of runs can go at once.
func RunContainer(ctx context.Context, svc *Service, r ContainerRun) (int, error) {
	if err := r.Build.PrepareTarget(); err != nil {
		return -1, err
	}
	scratch, err := MakeScratch(r.TempDir)
	if err != nil {
		return -1, err
	}
	defer func() {
		if err := os.RemoveAll(scratch); err != nil {
			r.Log.Warn("could not remove the box's scratch dir", "dir", scratch, "error", err)
		}
	}()
	name := "kiwi-boxbuild-" + randomID()
	s := specgen.NewSpecGenerator(r.Image, false)
	s.Name = name
	s.Command = r.Build.ShellCommand()
	s.Entrypoint = []string{}
	s.Env = map[string]string{"PATH": boxPath}
	yes := true
	s.Privileged = &yes
	s.CapAdd = Capabilities
	s.NetNS = specgen.Namespace{NSMode: specgen.Host}
	s.Labels = map[string]string{LabelBox: "true", LabelRun: journal.RunID(), LabelHost: journal.Host()}
	for _, m := range r.Build.Mounts(scratch) {
		opts := []string{"rbind"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		s.Mounts = append(s.Mounts, spec.Mount{Type: "bind", Source: m.Host, Destination: m.Box, Options: opts})
	}
	created, err := containers.CreateWithSpec(svc.Conn, s, nil)
	if err != nil {
		return -1, fmt.Errorf("create the box container from %s: %w", r.Image, err)
	}
	r.Log.Info("box container created", "name", name, "image", r.Image)
	defer func() {
		// ctx may be cancelled already: removal gets its own time.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(svc.Conn), 3*time.Minute)
		defer cancel()
		if ctx.Err() != nil {
			// Interrupted: SIGTERM lets the build in the box remove its
			// unfinished root and write its exit code; SIGKILL follows
			// after a minute.
			r.Log.Info("stopping the box container", "name", name)
			if err := containers.Stop(rctx, created.ID, new(containers.StopOptions).WithTimeout(60)); err != nil {
				r.Log.Warn("could not stop the box container", "name", name, "error", err)
			}
		}
		force, timeout := true, uint(10)
		if _, err := containers.Remove(rctx, created.ID, new(containers.RemoveOptions).WithForce(force).WithTimeout(timeout)); err != nil {
			r.Log.Warn("could not remove the box container", "name", name, "error", err)
		} else {
			r.Log.Debug("box container removed", "name", name)
		}
	}()

	// Cancelling ctx (SIGINT/SIGTERM) must end the calls below; the
	// bindings' calls follow the context they are given.
	runCtx, stop := context.WithCancel(svc.Conn)
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-runCtx.Done():
		}
	}()
	ready := make(chan bool, 1)
	attached := make(chan error, 1)
	go func() {
		attached <- containers.Attach(runCtx, created.ID, nil, r.Output, r.Output, ready, new(containers.AttachOptions).WithStream(true))
	}()
	select {
	case <-ready:
	case err := <-attached:
		return -1, fmt.Errorf("attach to the box container: %w", err)
	case <-runCtx.Done():
		return -1, ctx.Err()
	}
	if err := containers.Start(runCtx, created.ID, nil); err != nil {
		return -1, fmt.Errorf("start the box container: %w", err)
	}
	status, err := waitExited(runCtx, svc, created.ID, r.Log)
	if ctx.Err() != nil {
		return -1, fmt.Errorf("box build interrupted: %w", ctx.Err())
	}
	if err != nil {
		return -1, fmt.Errorf("wait for the box container: %w", err)
	}
	// The attach stream ends with the container; give it a moment to
	// deliver the last lines.
	select {
	case <-attached:
	case <-time.After(5 * time.Second):
	}
	code, err := outcome(r.Build, boxTarget)
	if code < 0 {
		// No exit code: say how the container ended.
		state := ""
		if data, ierr := containers.Inspect(svc.Conn, created.ID, nil); ierr == nil && data.State != nil {
			state = fmt.Sprintf(", oom-killed %v, error %q", data.State.OOMKilled, data.State.Error)
		}
		return -1, fmt.Errorf("%w (the box container exited with %d%s)", err, status, state)
	}
	return code, err
}

// waitExited waits until the container has really ended and returns
// its exit code. Podman 4.3's service has been seen to answer a wait
// with 0 while the container was still running (two builds at once on
// one storage); the container's state decides, not the first answer.
func waitExited(ctx context.Context, svc *Service, id string, log *slog.Logger) (int32, error) {
	inspectErrors := 0
	for {
		status, err := containers.Wait(ctx, id, nil)
		if err != nil {
			return status, err
		}
		// Only a container whose state says it ended has ended: a
		// "stopping" one, or an inspect that failed under load, is
		// asked again (a few times for inspect errors).
		data, err := containers.Inspect(svc.Conn, id, nil)
		switch {
		case err != nil:
			if inspectErrors++; inspectErrors > 5 {
				return status, nil
			}
		case data.State == nil:
			return status, nil
		case data.State.Dead || data.State.Status == "exited" || data.State.Status == "stopped":
			return data.State.ExitCode, nil
		case data.State.Status == "created" || data.State.Status == "configured":
			// Started, yet back in a never-started state: podman 4.3
			// has lost the run (seen after a box build that made an
			// xfs root with a loop mount). Nothing runs in it; the
			// build's exit code file decides.
			log.Warn("the podman service lost the box container's run (state "+data.State.Status+"); its exit code file decides", "id", id[:12])
			return status, nil
		}
		log.Debug("the podman service reported the box container ended while it has not; waiting again", "id", id[:12])
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

package box

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/images"

	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// Service is a connection to a podman API service: one given by the
// user (unix://, tcp:// or ssh:// as the podman bindings take them), or a
// private one kiwi started and stops again.
type Service struct {
	// Conn is the bindings' connection context: pass it to every call.
	Conn context.Context
	URI  string
	proc *runner.Process
	dir  string
}

// Connect connects to uri; with an empty uri (and no $CONTAINER_HOST) it
// starts `podman system service` on a socket in a private directory under
// tempDir. The service inherits kiwi's environment (CONTAINERS_CONF,
// CONTAINERS_STORAGE_CONF), so it sees the storage kiwi's podman sees.
func Connect(ctx context.Context, uri, tempDir string, run runner.Runner, log *slog.Logger) (*Service, error) {
	given := uri != ""
	if uri == "" {
		uri = os.Getenv("CONTAINER_HOST")
	}
	if uri != "" {
		conn, err := bindings.NewConnection(ctx, uri)
		if err != nil {
			if given {
				return nil, inputError(InputConnection, "podman service %s: %w", uri, err)
			}
			return nil, fmt.Errorf("podman service %s ($CONTAINER_HOST): %w", uri, err)
		}
		return &Service{Conn: conn, URI: uri}, nil
	}
	dir, err := socketDir(tempDir, "kiwi-podman-", "podman.sock")
	if err != nil {
		return nil, inputError(InputTempDir, "temp dir %s: podman service socket: %w", tempDir, err)
	}
	uri = "unix://" + filepath.Join(dir, "podman.sock")
	logf, err := os.Create(filepath.Join(dir, "service.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("podman service: %w", err)
	}
	defer logf.Close()
	// The service outlives no kiwi: it is stopped by Close, and by its
	// process group's SIGTERM when ctx is cancelled.
	proc, err := run.Start(context.WithoutCancel(ctx), runner.Cmd{Name: "podman", Args: []string{"system", "service", "--time=0", uri}, Stdout: logf})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start the podman service (is podman installed?): %w", err)
	}
	s := &Service{URI: uri, proc: proc, dir: dir}
	log.Debug("started the podman service", "uri", uri, "pid", proc.Pid())
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := bindings.NewConnection(ctx, uri)
		if err == nil {
			s.Conn = conn
			return s, nil
		}
		select {
		case <-proc.Exited():
			b, _ := os.ReadFile(filepath.Join(dir, "service.log"))
			s.Close()
			return nil, fmt.Errorf("the podman service ended at once: %v: %s", proc.Err(), b)
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("the podman service on %s did not answer within a minute: %w", uri, err)
		}
	}
}

// Close stops the service kiwi started (by its PID) and removes its
// socket directory; a service given by the user is left running.
func (s *Service) Close() {
	if s.proc != nil {
		_ = s.proc.Stop(10 * time.Second)
		s.proc = nil
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
}

// ProvideImage makes the container image of box b for arch available to
// the service and returns its reference: the configured reference is
// pulled (update check: a newer image is pulled, unless noUpdate); without
// one, or when the pull fails, the box's container archive from the cache
// is loaded, which provide gives (see Provide: built first when the cache
// lacks it or it is out of date).
func (s *Service) ProvideImage(ctx context.Context, b *Box, arch string, noUpdate bool, provide func(ctx context.Context) (*Entry, error), log *slog.Logger) (string, error) {
	a, err := b.ForArch(arch)
	if err != nil {
		return "", err
	}
	if a.Container != "" {
		policy := "newer"
		if noUpdate {
			policy = "missing"
		}
		_, err := images.Pull(s.Conn, a.Container, new(images.PullOptions).WithPolicy(policy).WithQuiet(true))
		if err == nil {
			return a.Container, nil
		}
		if b.Description == "" {
			return "", fmt.Errorf("pull box %s from %s: %w", b.Name, a.Container, err)
		}
		log.Warn("could not pull the box; using the one built from its description", "box", b.Name, "ref", a.Container, "error", err)
	}
	e, err := provide(ctx)
	if err != nil {
		return "", err
	}
	if !e.Has(ContainerFile) {
		return "", fmt.Errorf("box %s: the cached set %s has no container image; kiwi box build %s makes one", b.Name, e.Dir, b.Name)
	}
	sum, err := e.Sum(ContainerFile)
	if err != nil {
		return "", err
	}
	// The tag is the archive's checksum: a rebuilt box gets a new tag,
	// and an unchanged one is never loaded twice.
	ref := "localhost/kiwi-box-" + b.Name + ":" + sum[:16]
	if ok, err := images.Exists(s.Conn, ref, nil); err != nil {
		return "", fmt.Errorf("box %s: look up %s: %w", b.Name, ref, err)
	} else if ok {
		return ref, nil
	}
	log.Info("loading the box into podman", "box", b.Name, "image", ref)
	f, err := os.Open(e.Path(ContainerFile))
	if err != nil {
		return "", err
	}
	defer f.Close()
	rep, err := images.Load(s.Conn, f)
	if err != nil {
		return "", fmt.Errorf("box %s: load %s into podman: %w", b.Name, e.Path(ContainerFile), err)
	}
	if len(rep.Names) == 0 {
		return "", fmt.Errorf("box %s: podman loaded no image from %s", b.Name, e.Path(ContainerFile))
	}
	repo, tag := ref[:len(ref)-17], ref[len(ref)-16:]
	if err := images.Tag(s.Conn, rep.Names[0], tag, repo, nil); err != nil {
		return "", fmt.Errorf("box %s: tag %s: %w", b.Name, ref, err)
	}
	return ref, nil
}

// maxSocketPath is the longest path a unix socket can have (sun_path
// holds 108 bytes with the terminating NUL).
const maxSocketPath = 107

// socketDir makes a private directory (named by journal.TempPattern of
// prefix, so cleanup knows it) for a unix socket named sock: in tempDir,
// or in the system's temp dir when the socket's path there would be too
// long for a unix socket.
func socketDir(tempDir, prefix, sock string) (string, error) {
	dir, err := os.MkdirTemp(tempDir, journal.TempPattern(prefix))
	if err != nil {
		return "", err
	}
	if len(filepath.Join(dir, sock)) <= maxSocketPath {
		return dir, nil
	}
	os.Remove(dir)
	return os.MkdirTemp(os.TempDir(), journal.TempPattern(prefix))
}

package box

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kiwi-go/kiwi/internal/journal"
)

// Files a box build leaves in the target dir.
const (
	// LogFile is the build's output as the box saw it.
	LogFile = "boxbuild.log"
	// ExitFile holds the build's exit code, written by the box when the
	// build ended. Its absence means the build never finished.
	ExitFile = "boxbuild.exitcode"
)

// Where things are inside a box.
const (
	boxKiwiDir   = "/kiwi-box"
	boxKiwi      = boxKiwiDir + "/kiwi"
	boxDesc      = "/description"
	boxTarget    = "/bundle"
	boxCache     = "/var/cache/kiwi"
	boxStorage   = "/var/lib/containers/storage"
	boxPrepare   = boxCache + "/prepare"
	boxTemp      = "/var/tmp"
	scratchStore = "storage"
	scratchState = "prepare"
	scratchTemp  = "tmp"
)

// Build is one kiwi system build to run in a box.
type Build struct {
	// Kiwi is the kiwi binary shared into the box (the running one).
	Kiwi string
	// Description and Target are the host directories of the build.
	Description, Target string
	// SharedCache is the host's shared cache dir, the box's /var/cache/kiwi.
	SharedCache string
	// SharedPaths are further host directories, shared at the same path.
	SharedPaths []string
	// Global are kiwi's global options for the box (--debug, --type, ...).
	Global []string
	// Args are the system build options besides --description and
	// --target-dir.
	Args []string
}

// Mount is a host path seen in the box.
type Mount struct {
	Host, Box string
	ReadOnly  bool
}

// boxPath is the PATH of the build in a box: the box image (a prepared
// root) sets none, and kube play, unlike podman run, adds no default.
const boxPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Command is the kiwi command line run in the box container.
func (b Build) Command() []string { return b.commandInto(boxTarget) }

// commandInto is the kiwi command line with the box's target dir target.
func (b Build) commandInto(target string) []string {
	args := append([]string{boxKiwi}, b.Global...)
	args = append(args, "system", "build", "--description", boxDesc, "--target-dir", target)
	return append(args, b.Args...)
}

// shellScript runs argv (after "sh -c SCRIPT sh") with its output on
// standard output and in the log file, and the exit code in the exit file.
// The exit code is written by the build's side of the pipe, so tee's own
// status cannot hide a failed build. The shell is the container's PID 1:
// on SIGTERM (podman stop, a deleted pod) it passes the signal on to the
// build, so kiwi removes its unfinished root and writes its exit code,
// while the subshell and tee (ignoring it) stay to finish log and exit file.
const shellScript = `rm -f ` + boxTarget + "/" + ExitFile + `
trap 'trap "" TERM INT; kill -TERM 0; wait' TERM INT
{ trap true TERM INT; "$@" 2>&1; echo $? >` + boxTarget + "/" + ExitFile + `; } | { trap "" TERM INT; exec tee ` + boxTarget + "/" + LogFile + `; } &
wait`

// ShellCommand is the box container's command: the build wrapped so that
// its log and exit code land in the target dir.
func (b Build) ShellCommand() []string {
	return append([]string{"/bin/sh", "-c", shellScript, "sh"}, b.Command()...)
}

// Mounts are the host paths the box sees, with scratch (a per-run host
// directory) holding the box's own container storage, prepare state and
// temp data: the box's storage cannot be overlay on overlay, and the
// prepare state belongs to that storage, not to the host's.
func (b Build) Mounts(scratch string) []Mount {
	m := []Mount{
		{Host: b.Kiwi, Box: boxKiwi, ReadOnly: true},
		{Host: b.Description, Box: boxDesc},
		{Host: b.Target, Box: boxTarget},
		{Host: b.SharedCache, Box: boxCache},
		{Host: filepath.Join(scratch, scratchState), Box: boxPrepare},
		{Host: filepath.Join(scratch, scratchStore), Box: boxStorage},
		{Host: filepath.Join(scratch, scratchTemp), Box: boxTemp},
		{Host: "/dev", Box: "/dev"},
	}
	for _, p := range b.SharedPaths {
		m = append(m, Mount{Host: p, Box: p})
	}
	return m
}

// MakeScratch makes the per-run scratch directory under tempDir.
func MakeScratch(tempDir string) (string, error) {
	d, err := os.MkdirTemp(tempDir, journal.TempPattern("kiwi-box-"))
	if err != nil {
		return "", inputError(InputTempDir, "temp dir %s: box scratch dir: %w", tempDir, err)
	}
	for _, s := range []string{scratchStore, scratchState, scratchTemp} {
		if err := os.Mkdir(filepath.Join(d, s), 0o755); err != nil {
			os.RemoveAll(d)
			return "", fmt.Errorf("box scratch dir: %w", err)
		}
	}
	return d, nil
}

// Check validates the host side of b: the directories exist (the target
// dir is made when missing, as system build does), paths are absolute.
func (b *Build) Check() error {
	for _, p := range []struct {
		input string
		path  *string
	}{{InputDescription, &b.Description}, {InputTarget, &b.Target}, {InputSharedCache, &b.SharedCache}} {
		abs, err := filepath.Abs(*p.path)
		if err != nil {
			return inputError(p.input, "%s %s: %w", p.input, *p.path, err)
		}
		*p.path = abs
	}
	if fi, err := os.Stat(b.Description); err != nil || !fi.IsDir() {
		return inputError(InputDescription, "description %s is not a directory", b.Description)
	}
	for i, p := range b.SharedPaths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return inputError(InputSharedPath, "shared path %s: %w", p, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return inputError(InputSharedPath, "shared path %s is not a directory", p)
		}
		for _, reserved := range []string{"/", "/dev", "/proc", "/sys", boxKiwiDir, boxDesc, boxTarget, boxCache, "/var/lib/containers", boxTemp, "/usr", "/etc", "/bin", "/lib"} {
			if abs == reserved {
				return inputError(InputSharedPath, "shared path %s: the box needs its own %s; share another directory", p, abs)
			}
		}
		b.SharedPaths[i] = abs
	}
	return nil
}

// PrepareTarget makes the target dir (keeping everything in it) and
// removes only a previous run's exit code, so an old result can never be
// read as this run's.
func (b Build) PrepareTarget() error {
	if err := os.MkdirAll(b.Target, 0o755); err != nil {
		return inputError(InputTarget, "target dir %s: %w", b.Target, err)
	}
	if err := os.MkdirAll(b.SharedCache, 0o755); err != nil {
		return inputError(InputSharedCache, "shared cache dir %s: %w", b.SharedCache, err)
	}
	if err := os.Remove(filepath.Join(b.Target, ExitFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the previous exit code: %w", err)
	}
	return nil
}

// ExitCode reads the exit code the box wrote into target. A missing or
// unreadable file is an error: the build did not finish (KIWI's plugin
// took that as success).
func ExitCode(target string) (int, error) {
	p := filepath.Join(target, ExitFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, fmt.Errorf("the box wrote no exit code (%s): the build did not finish; see %s", p, filepath.Join(target, LogFile))
	}
	if err != nil {
		return -1, err
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1, fmt.Errorf("exit code file %s holds %q, not a number", p, strings.TrimSpace(string(b)))
	}
	return code, nil
}

// HostResultPaths rewrites the file names in the target's
// kiwi.result.json from the box's view (boxDir/...) to the host's, so
// pipelines reading it find the files.
func (b Build) HostResultPaths(boxDir string) error {
	p := filepath.Join(b.Target, "kiwi.result.json")
	raw, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var results map[string]map[string]any
	if err := json.Unmarshal(raw, &results); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	for _, r := range results {
		if f, ok := r["filename"].(string); ok {
			if rest, ok := strings.CutPrefix(f, boxDir+"/"); ok {
				r["filename"] = filepath.Join(b.Target, rest)
			}
		}
	}
	out, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Package journal lets a kiwi run killed with -9 be cleaned up after:
// each run records, while it runs, where it makes temporary entries and
// which paths it creates, and names its temporary entries after its pid.
// Cleanup finds the records of runs that are gone and removes what they
// left, never anything of a run that is still alive.
package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Entry is what a run records about itself.
type Entry struct {
	PID int `json:"pid"`
	// Start is the process start time (/proc/PID/stat): a later process
	// with the same pid is another run.
	Start   uint64 `json:"start"`
	Command string `json:"command"`
	// Dirs are where the run makes temporary entries (TempPattern).
	Dirs []string `json:"dirs"`
	// Creates are paths the run makes that did not exist when it began
	// (a new root): left behind, they are half made.
	Creates []string `json:"creates,omitempty"`
}

// Journal is the record of the running process.
type Journal struct {
	file string
}

// TempPrefixes are the names kiwi's temporary entries start with; each
// is followed by the pid of the run that made it (TempPattern).
var tempPrefixes = []string{".kiwi-create-", ".kiwi-tree-", ".kiwi-stack-", ".kiwi-result-", ".kiwi-initrd-", ".kiwi-pull-", "kiwi-stash-base-", "kiwi-layout-", "kiwi-box-", "kiwi-podman-"}

// TempPattern is the os.MkdirTemp pattern for a temporary entry named
// prefix (one of the prefixes cleanup knows) of this process.
func TempPattern(prefix string) string {
	return fmt.Sprintf("%s%d-*", prefix, os.Getpid())
}

// RunID names this process for as long as it lives: its pid and start
// time (a pid alone may be reused). Things kiwi leaves outside the file
// system, like box containers, carry it so cleanup can tell whose they are.
func RunID() string {
	pid := os.Getpid()
	start, _ := startTime(pid)
	return fmt.Sprintf("%d-%d", pid, start)
}

// Host names where RunIDs mean something: this boot of this machine and
// this pid namespace. A podman service can be shared by processes of
// other namespaces or machines, whose pids say nothing here; cleanup
// leaves their containers alone.
func Host() string {
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return strings.TrimSpace(string(boot)) + "/" + ns
}

// RunAlive tells whether the process a RunID names still runs. A
// malformed id counts as alive: cleanup never removes what it cannot
// attribute.
func RunAlive(id string) bool {
	p, s, ok := strings.Cut(id, "-")
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(s, 10, 64)
	if !ok || err1 != nil || err2 != nil || pid <= 0 {
		return true
	}
	return alive(pid, start)
}

// Begin records this run in stateDir until End.
func Begin(stateDir string, e Entry) (*Journal, error) {
	e.PID = os.Getpid()
	start, err := startTime(e.PID)
	if err != nil {
		return nil, err
	}
	e.Start = start
	for i, d := range e.Dirs {
		if abs, err := filepath.Abs(d); err == nil {
			e.Dirs[i] = abs
		}
	}
	for i, p := range e.Creates {
		if abs, err := filepath.Abs(p); err == nil {
			e.Creates[i] = abs
		}
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("run journal: %w", err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(stateDir, strconv.Itoa(e.PID)+".json")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return nil, fmt.Errorf("run journal: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return nil, fmt.Errorf("run journal: %w", err)
	}
	return &Journal{file: file}, nil
}

// End removes the record: the run finished (well or not) and cleaned up
// after itself.
func (j *Journal) End() {
	if j != nil {
		os.Remove(j.file)
	}
}

// Removed is one thing cleanup removed (or would remove).
type Removed struct {
	Path string
	Why  string
}

// Clean removes what runs that are gone left: the paths they created,
// temporary entries of dead pids in their dirs and in extraDirs, and
// their records. Nothing under a mount point is removed (a bind mount of
// /dev below a leftover root must never be recursed into); such paths
// are reported as kept. With dryRun nothing is removed.
func Clean(stateDir string, extraDirs []string, dryRun bool) ([]Removed, []Removed, error) {
	var removed, kept []Removed
	mounts, err := mountPoints()
	if err != nil {
		return nil, nil, err
	}
	remove := func(path, why string) {
		for _, m := range mounts {
			if m == path || strings.HasPrefix(m, path+"/") {
				kept = append(kept, Removed{path, "something is mounted at " + m + ": unmount it, then run cleanup again"})
				return
			}
		}
		if !dryRun {
			if err := os.RemoveAll(path); err != nil {
				kept = append(kept, Removed{path, err.Error()})
				return
			}
		}
		removed = append(removed, Removed{path, why})
	}
	dirs := append([]string{}, extraDirs...)
	records, _ := filepath.Glob(filepath.Join(stateDir, "*.json"))
	sort.Strings(records)
	for _, rec := range records {
		b, err := os.ReadFile(rec)
		if err != nil {
			continue
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			remove(rec, "unreadable run record")
			continue
		}
		if alive(e.PID, e.Start) {
			continue
		}
		for _, p := range e.Creates {
			if _, err := os.Lstat(p); err == nil {
				remove(p, fmt.Sprintf("half made by %q (pid %d, gone)", e.Command, e.PID))
			}
		}
		dirs = append(dirs, e.Dirs...)
		if !dryRun {
			os.Remove(rec)
		}
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, en := range entries {
			pid, ok := tempPID(en.Name())
			if !ok || pidRunning(pid) {
				continue
			}
			remove(filepath.Join(d, en.Name()), fmt.Sprintf("temporary entry of pid %d, gone", pid))
		}
	}
	return removed, kept, nil
}

// tempPID is the pid in a temporary entry's name.
func tempPID(name string) (int, bool) {
	for _, p := range tempPrefixes {
		rest, ok := strings.CutPrefix(name, p)
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, "-")
		if !ok {
			return 0, false
		}
		pid, err := strconv.Atoi(num)
		return pid, err == nil && pid > 0
	}
	return 0, false
}

func pidRunning(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

func alive(pid int, start uint64) bool {
	s, err := startTime(pid)
	return err == nil && s == start
}

// startTime is field 22 of /proc/PID/stat (after the command name, which
// may hold spaces, in parentheses).
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, errors.New("malformed /proc stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// mountPoints are this namespace's mount points.
func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			out = append(out, unescape(fields[4]))
		}
	}
	return out, sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

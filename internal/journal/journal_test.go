package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// deadPID is the pid of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

func TestCleanRemovesOnlyWhatDeadRunsLeft(t *testing.T) {
	state, target, temp := t.TempDir(), t.TempDir(), t.TempDir()
	dead := deadPID(t)
	mk := func(p string) string {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	halfRoot := mk(filepath.Join(target, "build", "image-root"))
	deadWork := mk(filepath.Join(target, ".kiwi-create-"+strconv.Itoa(dead)+"-123"))
	deadLayout := mk(filepath.Join(temp, "kiwi-layout-"+strconv.Itoa(dead)+"-9"))
	liveWork := mk(filepath.Join(target, ".kiwi-create-"+strconv.Itoa(os.Getpid())+"-5"))
	userFile := mk(filepath.Join(target, "kiwi-layout-notapid"))
	result := filepath.Join(target, "image.raw")
	if err := os.WriteFile(result, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(Entry{PID: dead, Start: 1, Command: "kiwi system build", Dirs: []string{target}, Creates: []string{halfRoot}})
	if err := os.WriteFile(filepath.Join(state, strconv.Itoa(dead)+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// This process's own record: alive, so its root stays.
	live, err := Begin(state, Entry{Command: "kiwi system create", Dirs: []string{target}, Creates: []string{result}})
	if err != nil {
		t.Fatal(err)
	}
	defer live.End()

	removed, kept, err := Clean(state, []string{temp}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 0 || len(removed) != 3 {
		t.Fatalf("removed %v, kept %v", removed, kept)
	}
	for _, gone := range []string{halfRoot, deadWork, deadLayout, filepath.Join(state, strconv.Itoa(dead)+".json")} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	for _, stays := range []string{liveWork, userFile, result, live.file} {
		if _, err := os.Lstat(stays); err != nil {
			t.Errorf("%s was removed: %v", stays, err)
		}
	}
}

func TestTempPatternCarriesThePID(t *testing.T) {
	dir, err := os.MkdirTemp(t.TempDir(), TempPattern(".kiwi-create-"))
	if err != nil {
		t.Fatal(err)
	}
	if pid, ok := tempPID(filepath.Base(dir)); !ok || pid != os.Getpid() {
		t.Fatalf("%s: pid %d %v", dir, pid, ok)
	}
}

func TestRunIDNamesALiveRunOnly(t *testing.T) {
	if id := RunID(); !RunAlive(id) {
		t.Errorf("this process's run %s counts as gone", id)
	}
	// A child that has exited: its pid and start time name a dead run.
	c := exec.Command("true")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	start, err := startTime(c.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if id := fmt.Sprintf("%d-%d", c.Process.Pid, start); RunAlive(id) {
		t.Errorf("the exited child's run %s counts as alive", id)
	}
	// Same pid, other start time: a reused pid is not the run.
	if id := fmt.Sprintf("%d-%d", os.Getpid(), 1); RunAlive(id) {
		t.Errorf("a run id with another start time counts as alive: %s", id)
	}
	for _, bad := range []string{"", "x", "12", "-1-2", "a-b"} {
		if !RunAlive(bad) {
			t.Errorf("malformed run id %q counts as gone (cleanup would remove what it cannot attribute)", bad)
		}
	}
}

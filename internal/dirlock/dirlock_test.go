package dirlock

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecondLockOfADirFailsFast(t *testing.T) {
	locks, dir := t.TempDir(), filepath.Join(t.TempDir(), "target")
	first, err := Acquire(locks, dir, "--target-dir")
	if err != nil {
		t.Fatal(err)
	}
	// Another process: flock is per open file, so this is what a second
	// kiwi sees.
	if os.Getenv("DIRLOCK_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run", "TestChildLocks", "-test.v")
		cmd.Env = append(os.Environ(), "DIRLOCK_CHILD=1", "DIRLOCK_LOCKS="+locks, "DIRLOCK_DIR="+dir+"/.")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "in use by another kiwi run (pid") {
			t.Fatalf("second lock: %v\n%s", err, out)
		}
	}
	first.Release()
	again, err := Acquire(locks, dir, "--target-dir")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}

func TestChildLocks(t *testing.T) {
	if os.Getenv("DIRLOCK_CHILD") == "" {
		t.Skip("run by TestSecondLockOfADirFailsFast")
	}
	_, err := Acquire(os.Getenv("DIRLOCK_LOCKS"), os.Getenv("DIRLOCK_DIR"), "--target-dir")
	if err == nil {
		t.Fatal("a second run locked a directory in use")
	}
	t.Log(err)
}

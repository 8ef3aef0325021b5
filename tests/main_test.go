// Package tests runs the real kiwi binary end to end: against podman, a
// registry on 127.0.0.1, and (for disks) QEMU. Every test works in private
// storage and temp dirs and stops what it starts.
package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// suite holds what TestMain prepared for all tests of one run.
type suite struct {
	kiwi    string // the binary under test
	repo    string // the repository root
	env     []string
	workDir string
	users   atomic.Int32 // users made by newUser so far
	// userdb serializes useradd, usermod and userdel: tests in the
	// pool run at once, and the shadow tools lock /etc/passwd.
	userdb sync.Mutex
	pool   testPool
}

var s suite // set once by TestMain, read-only afterwards

// pooled makes t one of the tests that run two at a time once the
// others are done. They spend most of their time in a TCG guest, which
// keeps one core busy (boot's guests have one vCPU), or in one-threaded
// tools, so on the 2 cores of CI two of them take little more than one
// alone. A pooled test must not look at
// anything machine-wide that another test changes (processes, mounts,
// containers by pattern): those stay serial, and go test runs parallel
// tests only after every serial one. Storage, the shared package caches
// and the fixtures are safe to share: kiwi locks what it writes.
//
// seconds is how long t took alone in CI: the pool starts the longest
// first, so that the run does not end with one long test beside an idle
// core (go test releases parallel tests in no fixed order). A stale
// figure costs time, never a result.
//
// go test counts a pooled test's time in the queue as its own: the
// test logs both ("pool: NAME ran R s after Q s queued"), and
// hack/test.sh lists those lines beside the slowest tests.
func pooled(t *testing.T, seconds int) {
	t.Parallel()
	queued := time.Now()
	s.pool.acquire(t.Name(), seconds)
	start := time.Now()
	t.Cleanup(func() {
		s.pool.release()
		t.Logf("pool: %s ran %.0f s after %.0f s queued", t.Name(), time.Since(start).Seconds(), start.Sub(queued).Seconds())
	})
}

// testPool lets poolSlots pooled tests run at once, longest first.
type testPool struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running int
	open    bool           // the first arrivals have had time to queue
	waiting map[string]int // test name: expected seconds
}

// poolSlots is one pooled test per core of CI's machines.
const poolSlots = 2

func (p *testPool) acquire(name string, seconds int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cond == nil {
		p.cond = sync.NewCond(&p.mu)
		p.waiting = map[string]int{}
		// go test releases all parallel tests at once: wait a moment
		// for all of them to queue before choosing the longest.
		time.AfterFunc(500*time.Millisecond, func() {
			p.mu.Lock()
			p.open = true
			p.cond.Broadcast()
			p.mu.Unlock()
		})
	}
	p.waiting[name] = seconds
	for !p.open || p.running >= poolSlots || !p.longest(name) {
		p.cond.Wait()
	}
	delete(p.waiting, name)
	p.running++
	// The next longest may now take the other slot.
	p.cond.Broadcast()
}

// longest reports whether name is the longest waiting test (by name
// among equals).
func (p *testPool) longest(name string) bool {
	for other, sec := range p.waiting {
		if sec > p.waiting[name] || (sec == p.waiting[name] && other < name) {
			return false
		}
	}
	return true
}

func (p *testPool) release() {
	p.mu.Lock()
	p.running--
	p.cond.Broadcast()
	p.mu.Unlock()
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	_, file, _, _ := runtime.Caller(0)
	s.repo = filepath.Dir(filepath.Dir(file))
	work, err := os.MkdirTemp("/var/tmp", "kiwi-e2e-")
	if err != nil {
		return 0, err
	}
	s.workDir = work
	defer cleanupStorage(work)
	// Results and initrds cached by an earlier run (their keys are
	// contents, not this run's images) would let create's work be
	// skipped: every run starts without them, and within the run the
	// tests share them as builds do.
	cacheBase := os.Getenv("KIWI_TEST_CACHE")
	if cacheBase == "" {
		cacheBase = "/var/cache/kiwi-tests"
	}
	if err := os.RemoveAll(filepath.Join(cacheBase, "shared-cache", "create")); err != nil {
		return 0, err
	}
	s.kiwi = filepath.Join(work, "kiwi")
	build := exec.Command("go", "build", "-tags", "exclude_graphdriver_btrfs containers_image_openpgp", "-o", s.kiwi, "./cmd/kiwi")
	build.Dir = s.repo
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build kiwi: %v\n%s", err, out)
	}
	// Private podman storage and a containers.conf with this machine's
	// quirks (runc, ulimits within the hard limits): test settings, not
	// product defaults.
	storageConf := filepath.Join(work, "storage.conf")
	if err := os.WriteFile(storageConf, []byte(fmt.Sprintf(
		"[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(work, "graph"), filepath.Join(work, "run"))), 0o644); err != nil {
		return 0, err
	}
	containersConf := filepath.Join(work, "containers.conf")
	if err := os.WriteFile(containersConf, []byte(
		"[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n[engine]\nruntime = \"runc\"\n"), 0o644); err != nil {
		return 0, err
	}
	s.env = append(os.Environ(),
		"CONTAINERS_STORAGE_CONF="+storageConf,
		"CONTAINERS_CONF="+containersConf,
	)
	return m.Run(), nil
}

// cleanupStorage removes the private storage: podman first, so nothing
// stays mounted, then the files.
func cleanupStorage(work string) {
	if len(s.env) > 0 {
		c := exec.Command("podman", "rmi", "--all", "--force")
		c.Env = s.env
		_ = c.Run()
		c = exec.Command("podman", "system", "reset", "--force")
		c.Env = s.env
		_ = c.Run()
	}
	os.RemoveAll(work)
}

// result is one finished command.
type result struct {
	stdout, stderr string
	err            error
}

// kiwi runs the binary under test with the suite environment.
func kiwi(t *testing.T, args ...string) result {
	t.Helper()
	return command(t, s.kiwi, args...)
}

func command(t *testing.T, name string, args ...string) result {
	t.Helper()
	c := exec.Command(name, args...)
	c.Env = s.env
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return result{out.String(), errb.String(), err}
}

// mustKiwi runs kiwi and fails the test when it fails.
func mustKiwi(t *testing.T, args ...string) result {
	t.Helper()
	r := kiwi(t, args...)
	if r.err != nil {
		t.Fatalf("kiwi %s: %v\n%s%s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r
}

// debianRoot returns the cached minbase Debian bookworm root (made by
// hack/debian-root.sh on first use, ~1 minute). Tests must not change it.
func debianRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(s.repo, "hack", "debian-root.sh")).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("debootstrap a Debian root: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

type listed struct {
	Name   string `json:"name"`
	Tag    string `json:"tag"`
	Layers int    `json:"layers"`
	Size   int64  `json:"size"`
}

func list(t *testing.T) []listed {
	t.Helper()
	r := mustKiwi(t, "system", "stash", "--list", "--json")
	var l []listed
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatalf("--list --json: %v\n%s", err, r.stdout)
	}
	return l
}

func find(l []listed, name, tag string) *listed {
	for i := range l {
		if l[i].Name == name && l[i].Tag == tag {
			return &l[i]
		}
	}
	return nil
}

func TestStashedDebianRootRunsInPodman(t *testing.T) {
	root := debianRoot(t)
	mustKiwi(t, "system", "stash", "--root", root, "--container-name", "debian-e2e", "--tag", "bookworm")
	r := command(t, "podman", "run", "--rm", "localhost/debian-e2e:bookworm", "/bin/sh", "-c", "cat /etc/os-release")
	if r.err != nil || !strings.Contains(r.stdout, "VERSION_CODENAME=bookworm") {
		t.Fatalf("podman run: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	imgs := command(t, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}")
	if !strings.Contains(imgs.stdout, "localhost/debian-e2e:bookworm") {
		t.Errorf("podman images does not list the stash:\n%s", imgs.stdout)
	}
	l := find(list(t), "debian-e2e", "bookworm")
	if l == nil || l.Layers != 1 || l.Size < 100<<20 {
		t.Fatalf("stash list entry = %+v", l)
	}
	table := mustKiwi(t, "system", "stash", "--list").stdout
	if !strings.Contains(table, "NAME") || !strings.Contains(table, "debian-e2e") {
		t.Errorf("--list table:\n%s", table)
	}
}

func TestStashPushesToRegistry(t *testing.T) {
	addr := startRegistry(t)
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fstest.SampleRoot(root); err != nil {
		t.Fatal(err)
	}
	ref := "docker://" + addr + "/library/sample:1"
	mustKiwi(t, "system", "stash", "--root", root, "--push", ref)
	r := command(t, "skopeo", "inspect", "--tls-verify=false", ref)
	if r.err != nil || !strings.Contains(r.stdout, "io.osinside.kiwi.maintainer") {
		t.Fatalf("skopeo inspect %s: %v\n%s%s", ref, r.err, r.stdout, r.stderr)
	}
}

func TestConcurrentStashesOfOneNameBothLand(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fstest.SampleRoot(root); err != nil {
		t.Fatal(err)
	}
	mustKiwi(t, "system", "stash", "--root", root, "--container-name", "race", "--tag", "base")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kiwi(t, "system", "stash", "--root", root, "--container-name", "race", "--tag", fmt.Sprint("t", i))
			if r.err != nil {
				errs[i] = fmt.Errorf("%v: %s", r.err, r.stderr)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	l := list(t)
	a, b := find(l, "race", "t0"), find(l, "race", "t1")
	if a == nil || b == nil {
		t.Fatalf("both stashes must be listed: %+v", l)
	}
	// Serialised: one went on the base (2 layers), the other on it (3).
	if got := []int{a.Layers, b.Layers}; !(got[0] == 2 && got[1] == 3 || got[0] == 3 && got[1] == 2) {
		t.Errorf("layers = %v, want one stash on top of the other (2 and 3)", got)
	}
}

func TestStashBadInputFailsClearly(t *testing.T) {
	empty := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"system", "stash"}, "needs --root"},
		{[]string{"system", "stash", "--root", filepath.Join(empty, "missing")}, "is not a directory"},
		{[]string{"system", "stash", "--root", empty}, "no image description"},
		{[]string{"system", "stash", "--root", empty, "--container-name", "Not_Valid"}, "--container-name"},
		{[]string{"system", "stash", "--list", "--root", empty}, "--list takes no"},
	}
	before := list(t)
	for _, c := range cases {
		r := kiwi(t, c.args...)
		if r.err == nil || !strings.Contains(r.stderr, c.want) {
			t.Errorf("kiwi %s: err=%v stderr=%q, want failure mentioning %q", strings.Join(c.args, " "), r.err, r.stderr, c.want)
		}
	}
	if after := list(t); len(after) != len(before) {
		t.Errorf("failed stashes changed the stash list: %d -> %d", len(before), len(after))
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("failed stashes wrote into the root")
	}
}

// startRegistry runs Debian's docker-registry on a free 127.0.0.1 port
// for the test and stops it afterwards.
func startRegistry(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Fatal("docker-registry is not installed (hack/setup.sh installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("docker-registry", "serve", cfg)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry on %s did not start", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

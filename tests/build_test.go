package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// sharedCache is the --shared-cache-dir of the build tests: kept between
// runs (next to the cached Debian roots) so packages are downloaded once
// per machine, not once per run.
func sharedCache(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KIWI_TEST_CACHE")
	if dir == "" {
		dir = "/var/cache/kiwi-tests"
	}
	dir = filepath.Join(dir, "shared-cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

const buildBase = "debian-build.x86_64-1.2.0"

// TestBuildFromRepositories is issue 6's end-to-end check: a Debian
// bookworm description (packages from deb.debian.org, users, an overlay
// file, a config.sh that enables a service and writes a marker) is
// prepared, then built as an oem disk that boots with all of it present;
// a second prepare reuses the cached phases; podman sees the container;
// a failing config.sh fails the build with its output and leaves no mount.
func TestBuildFromRepositories(t *testing.T) {
	pooled(t, 195)
	desc := filepath.Join(s.repo, "tests", "testdata", "debian-build")
	cache := sharedCache(t)
	work := t.TempDir()

	start := time.Now()
	first := mustKiwi(t, "--debug", "--shared-cache-dir", cache, "system", "prepare", "--description", desc, "--root", filepath.Join(work, "r1"))
	cold := time.Since(start)
	if !strings.Contains(first.stderr, "debootstrap") || !strings.Contains(first.stderr, "apt-get") {
		t.Fatalf("the first prepare did not bootstrap and install:\n%s", tail(first.stderr, 3000))
	}
	for _, f := range []string{"etc/kiwi-marker", "etc/kiwi-overlay.txt", "image/config.xml", ".profile"} {
		if _, err := os.Stat(filepath.Join(work, "r1", f)); err != nil {
			t.Errorf("prepared root lacks %s: %v", f, err)
		}
	}

	// build = prepare (every phase cached now) + create.
	target := filepath.Join(work, "out")
	built := mustKiwi(t, "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", target)
	if !strings.Contains(built.stderr, "reusing cached phases") {
		t.Errorf("build did not reuse the prepared phases:\n%s", tail(built.stderr, 2000))
	}
	// The summary line says what was cached and what each phase took.
	if !regexp.MustCompile(`built in [0-9.]+ s: bootstrap 0 s \(cached\), packages 0 s \(cached\), config 0 s \(cached\), restore [0-9.]+ s, .*initrd [0-9.]+ s, .*filesystem [0-9.]+ s, .*convert [0-9.]+ s`).MatchString(built.stderr) {
		t.Errorf("no summary of the build's phases:\n%s", tail(built.stderr, 1500))
	}
	pk, err := os.ReadFile(filepath.Join(target, buildBase+".packages"))
	if err != nil || !regexp.MustCompile(`(?m)^linux-image-amd64\|None\|[^|]+\|None\|amd64\|`).Match(pk) || !regexp.MustCompile(`(?m)^dracut\|`).Match(pk) {
		t.Errorf(".packages does not list the installed Debian packages: %v\n%.300s", err, pk)
	}
	if regexp.MustCompile(`(?m)^apt-listchanges\|`).Match(pk) {
		t.Error("a package of the delete section is still installed")
	}
	for _, f := range []string{buildBase + ".qcow2", buildBase + ".raw", "kiwi.result.json"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Errorf("result %s: %v", f, err)
		}
	}

	images := mustOutput(t, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}")
	if !strings.Contains(images, "localhost/debian-build:1.2.0") {
		t.Errorf("podman images does not show the prepared container:\n%s", images)
	}

	// A second prepare of the unchanged description runs no phase.
	start = time.Now()
	second := mustKiwi(t, "--debug", "--shared-cache-dir", cache, "system", "prepare", "--description", desc, "--root", filepath.Join(work, "r2"))
	warm := time.Since(start)
	if !strings.Contains(second.stderr, "phases=bootstrap, packages, config") || strings.Contains(second.stderr, "cmd=debootstrap") || strings.Contains(second.stderr, "apt-get") {
		t.Errorf("the second prepare ran phases again:\n%s", tail(second.stderr, 3000))
	}
	t.Logf("prepare: first %v, unchanged again %v (%.1fx)", cold.Round(time.Millisecond), warm.Round(time.Millisecond), cold.Seconds()/warm.Seconds())
	if cold < 5*warm {
		t.Errorf("the cached prepare took %v, the first %v: less than 5x faster", warm, cold)
	}

	v := boot(t, bootOptions{Disk: filepath.Join(target, buildBase+".qcow2"), Format: "qcow2"}, "KIWI-CHECK", 5*time.Minute)
	// The hooks (issue 18), each at its KIWI moment: post_bootstrap.sh
	// before the image packages, then on the host edit_boot_config.sh
	// (root filesystem, boot partition: the root's 3 after bios_grub and
	// the ESP), then pre_disk_sync.sh and disk.sh; all on the disk.
	// Last edit_boot_install.sh on the host, with .profile's variables,
	// on the complete disk: it wrote into the root partition's file
	// (where KIWI passes a loop device) and create wrote that back.
	// config.sh used KIWI's functions (/.kconfig, gone from the image)
	// and .profile variables.
	v.Expect(t, 0, "KIWI-CHECK marker=built-by-config-sh-debian-build overlay=from-overlay user=tux:/home/tux tz=Europe/Berlin "+
		"hooks=post_bootstrap:before-packages config:oem:grub2:1.2.0:INSTALL edit_boot_config:ext4:3 pre_disk_sync:debian-build disk edit_boot_install:debian-build:ext4 "+
		"target=multi-user.target kconfig=gone", time.Minute)
	v.Expect(t, 0, "login:", 2*time.Minute)

	t.Run("DockerTypeKeepsPhaseLayers", func(t *testing.T) {
		// The docker type of the same description: bootstrap and
		// packages come from the cached phases and stay the image's
		// lower layers (shared with the prepared image). --squash is
		// tested by the create package.
		conf := filepath.Join(t.TempDir(), "kiwi.yml")
		if err := os.WriteFile(conf, []byte("container:\n  - compress: none\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		layers := func(image string) []string {
			var l []string
			out := mustOutput(t, "podman", "image", "inspect", "--format", "{{json .RootFS.Layers}}", image)
			if err := json.Unmarshal([]byte(out), &l); err != nil {
				t.Fatalf("layers of %s: %v %s", image, err, out)
			}
			return l
		}
		out := filepath.Join(t.TempDir(), "docker")
		r := mustKiwi(t, "--type", "docker", "--config", conf, "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", out)
		if !strings.Contains(r.stderr, "phases=bootstrap, packages") {
			t.Errorf("the docker build did not reuse the bootstrap and packages phases:\n%s", tail(r.stderr, 2000))
		}
		if _, err := os.Stat(filepath.Join(out, buildBase+".docker.tar")); err != nil {
			t.Error(err)
		}
		prepared, image := layers("localhost/debian-build:1.2.0"), layers("localhost/kiwi-tests/debian-build:1")
		if len(image) != 3 || len(prepared) != 3 || !slices.Equal(image[:2], prepared[:2]) || image[2] == prepared[2] {
			t.Errorf("docker image layers %v: want the prepared image's bootstrap and packages layers %v and its own", image, prepared[:2])
		}
		if got := mustOutput(t, "podman", "run", "--rm", "localhost/kiwi-tests/debian-build:1", "cat", "/etc/kiwi-marker"); !strings.Contains(got, "built-by-config-sh") {
			t.Errorf("podman run of the docker image: %q", got)
		}
	})

	t.Run("FailingDiskSh", func(t *testing.T) {
		// A failing disk.sh stops create with its exit code and output;
		// the target dir gets no result.
		root := filepath.Join(work, "r2")
		if err := os.WriteFile(filepath.Join(root, "image", "disk.sh"), []byte("#!/bin/bash\necho boom-from-disk-sh\nexit 4\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		r := kiwi(t, "system", "create", "--root", root, "--target-dir", out)
		if r.err == nil || !strings.Contains(r.stderr, "disk.sh failed with exit code 4") || !strings.Contains(r.stderr, "boom-from-disk-sh") {
			t.Fatalf("a failing disk.sh: err=%v, want its output and exit code:\n%s", r.err, tail(r.stderr, 2000))
		}
		if entries, _ := os.ReadDir(out); len(entries) > 0 {
			t.Errorf("a failed create left %d entries in the target dir", len(entries))
		}
	})

	t.Run("FailingConfigSh", func(t *testing.T) {
		broken := filepath.Join(t.TempDir(), "desc")
		if out, err := exec.Command("cp", "-a", desc, broken).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if err := os.WriteFile(filepath.Join(broken, "config.sh"), []byte("#!/bin/bash\necho boom-from-config-sh\nexit 3\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		r := kiwi(t, "--shared-cache-dir", cache, "system", "build", "--description", broken, "--target-dir", out)
		if r.err == nil || !strings.Contains(r.stderr, "boom-from-config-sh") || !strings.Contains(r.stderr, "exit code 3") {
			t.Fatalf("a failing config.sh: err=%v, want its output and exit code:\n%s", r.err, tail(r.stderr, 2000))
		}
		mounts, _ := os.ReadFile("/proc/mounts")
		if strings.Contains(string(mounts), out) {
			t.Errorf("mounts left under %s:\n%s", out, mounts)
		}
		if _, err := os.Stat(filepath.Join(out, "build", "image-root")); err == nil {
			t.Error("the unfinished root was left behind")
		}
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			if e.Name() != "build" {
				t.Errorf("a failed build left %s in the target dir", e.Name())
			}
		}
	})
}

// TestBuildBadInputFailsClearly: bad descriptions and arguments fail
// before any work, name what is wrong, and create nothing.
func TestBuildBadInputFailsClearly(t *testing.T) {
	desc := filepath.Join(s.repo, "tests", "testdata", "debian-build")
	// A zypper description with the Debian (apt-deb) repository.
	zypper := filepath.Join(t.TempDir(), "zypper")
	if out, err := exec.Command("cp", "-a", desc, zypper).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	b, _ := os.ReadFile(filepath.Join(zypper, "config.xml"))
	if err := os.WriteFile(filepath.Join(zypper, "config.xml"), []byte(strings.Replace(string(b), "<packagemanager>apt<", "<packagemanager>zypper<", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--profile", "nope", "system", "build", "--description", desc}, "nope"},
		{[]string{"--type", "kis", "system", "build", "--description", desc}, "kis"},
		{[]string{"system", "build", "--description", zypper}, `repository type "apt-deb" cannot be used with packagemanager zypper: use type="rpm-md"`},
		{[]string{"system", "build", "--description", desc, "--set-repo", ",apt-deb"}, "source URL"},
		{[]string{"system", "build", "--description", desc, "--set-type-attr", "firmware=bogus"}, "bogus"},
		{[]string{"system", "build", "--description", filepath.Join(t.TempDir(), "none")}, "description"},
		{[]string{"system", "prepare", "--description", desc, "--root", existing}, "--allow-existing-root"},
	}
	for _, c := range cases {
		target := filepath.Join(t.TempDir(), "out")
		args := c.args
		if c.args[len(c.args)-2] != "--root" {
			args = append(args, "--target-dir", target)
		}
		r := kiwi(t, args...)
		if r.err == nil || !strings.Contains(r.stderr, c.want) {
			t.Errorf("kiwi %s: err=%v stderr=%q, want a failure mentioning %q", strings.Join(args, " "), r.err, tail(r.stderr, 500), c.want)
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("kiwi %s created the target dir", strings.Join(args, " "))
		}
	}
	if entries, _ := os.ReadDir(existing); len(entries) != 0 {
		t.Error("an existing root was changed")
	}
}

// TestPrepareInterruptedLeavesNothing: SIGINT while debootstrap runs stops
// it and its children, removes the unfinished root, leaves no mount, and
// exits non-zero.
func TestPrepareInterruptedLeavesNothing(t *testing.T) {
	desc := filepath.Join(s.repo, "tests", "testdata", "debian-build")
	root := filepath.Join(t.TempDir(), "root")
	c := exec.Command(s.kiwi, "--shared-cache-dir", sharedCache(t), "system", "prepare", "--no-container", "--description", desc, "--root", root)
	c.Env = s.env
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until debootstrap has written into the root, then interrupt.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(root, "var/lib/dpkg")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = c.Process.Kill()
			t.Fatalf("debootstrap did not start:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	if err := c.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("an interrupted prepare exited 0:\n%s", out.String())
		}
	case <-time.After(time.Minute):
		_ = c.Process.Kill()
		t.Fatalf("prepare did not stop within a minute of SIGINT:\n%s", out.String())
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	if strings.Contains(string(mounts), root) {
		t.Errorf("mounts left under %s", root)
	}
	if _, err := os.Stat(root); err == nil {
		t.Errorf("the unfinished root %s was left behind:\n%s", root, tail(out.String(), 2000))
	}
	ps, _ := exec.Command("pgrep", "-f", root).Output()
	if len(strings.TrimSpace(string(ps))) > 0 {
		t.Errorf("processes working on the root are still running: %s", ps)
	}
}

package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRegistryContainersBecomeABootableDisk is the main job: a minbase
// Debian container and a small extra image, both pulled from a registry,
// stacked and turned into a VM disk by a description that adds kernel,
// dracut, grub and init (installed with the stack's own apt), a type, a
// user and an overlay file.
func TestRegistryContainersBecomeABootableDisk(t *testing.T) {
	addr := startRegistry(t)
	registry := addr + "/library"
	base := strings.TrimSpace(mustOutput(t, filepath.Join(s.repo, "hack", "debian-root.sh"), "bookworm-minbase"))
	mustKiwi(t, "system", "stash", "--root", base, "--container-name", "debian", "--tag", "bookworm",
		"--push", "docker://"+registry+"/debian:bookworm")

	extra := filepath.Join(t.TempDir(), "extra")
	for p, content := range map[string]string{"etc/kiwi-extra": "from the extra image\n", "etc/hostname": "stacked\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(extra, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(extra, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustKiwi(t, "system", "stash", "--root", extra, "--container-name", "extra", "--tag", "1",
		"--push", "docker://"+registry+"/extra:1")

	target := filepath.Join(t.TempDir(), "t")
	r := mustKiwi(t, "--debug", "system", "stackbuild", "--stash", "debian:bookworm", "--stash", "extra:1",
		"--from-registry", registry, "--description", filepath.Join(s.repo, "tests", "testdata", "container-to-vm"),
		"--target-dir", target)
	if !strings.Contains(r.stderr, "overwritten_files=1") || !strings.Contains(r.stderr, "path=etc/hostname") {
		t.Errorf("the stack report must name etc/hostname as overwritten:\n%s", tail(r.stderr, 3000))
	}
	disk := filepath.Join(target, "container-to-vm.x86_64-2.0.0.qcow2")
	v := boot(t, bootOptions{Disk: disk, Format: "qcow2", EFI: true}, "stacked login:", 4*time.Minute)
	v.Send(t, "root\n")
	pos := v.Expect(t, 0, "Password:", time.Minute)
	v.Send(t, "stacked\n")
	pos = v.Expect(t, pos, "# ", time.Minute)
	out, _ := v.Run(t, pos, "cat /etc/kiwi-extra /etc/kiwi-overlay")
	if !strings.Contains(out, "from the extra image") || !strings.Contains(out, "made by the container-to-vm description") {
		t.Fatalf("stacked files missing in the VM:\n%s", out)
	}
	v.Send(t, "poweroff\n")

	// The stacked root carries its description now: stashed, it rebuilds
	// the same type without --description.
	mustKiwi(t, "system", "stash", "--root", filepath.Join(target, "build", "image-root"), "--container-name", "vm", "--tag", "1")
	again := filepath.Join(t.TempDir(), "again")
	mustKiwi(t, "system", "stackbuild", "--stash", "vm:1", "--target-dir", again)
	if _, err := os.Stat(filepath.Join(again, "container-to-vm.x86_64-2.0.0.qcow2")); err != nil {
		t.Fatalf("rebuild from the stash's own description: %v", err)
	}

	// A description whose packages the stack already holds builds
	// offline: its only repository here does not exist, and apt is
	// never asked.
	offline := filepath.Join(t.TempDir(), "offline")
	mustKiwi(t, "system", "stackbuild", "--stash", "vm:1", "--target-dir", offline,
		"--description", filepath.Join(s.repo, "tests", "testdata", "container-to-vm"),
		"--", "--set-repo", "http://127.0.0.1:1/nothing,apt-deb,none,,,,,main,bookworm")
	if _, err := os.Stat(filepath.Join(offline, "container-to-vm.x86_64-2.0.0.qcow2")); err != nil {
		t.Fatalf("offline build on a complete stack: %v", err)
	}
}

func TestStackbuildBadInputFailsClearly(t *testing.T) {
	existing := t.TempDir()
	if err := os.MkdirAll(filepath.Join(existing, "build", "image-root", "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--stash", "no-such-stash:1", "--target-dir", t.TempDir()}, "no image localhost/no-such-stash:1"},
		{[]string{"--stash", "debian:bookworm", "--from-registry", "127.0.0.1:1/library", "--target-dir", t.TempDir()}, "pull 127.0.0.1:1/library/debian:bookworm"},
		{[]string{"--stash", "x:1", "--target-dir", existing}, "already exists"},
		{[]string{"--stash", "x:1", "--target-dir", t.TempDir(), "--", "--bogus"}, "unknown create argument"},
		{[]string{"--stash", "x:1"}, "needs --target-dir"},
		{[]string{"--stash", "x:1", "--target-dir", t.TempDir(), "--description", filepath.Join(s.repo, "tests", "testdata", "container-to-vm"), "--", "--bogus"}, "arguments after --"},
	}
	for _, c := range cases {
		r := kiwi(t, append([]string{"system", "stackbuild"}, c.args...)...)
		if r.err == nil || !strings.Contains(r.stderr, c.want) {
			t.Errorf("stackbuild %s: err=%v stderr=%q, want failure mentioning %q", strings.Join(c.args, " "), r.err, tail(r.stderr, 500), c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(existing, "build", "image-root", "keep")); err != nil {
		t.Error("an existing root was touched")
	}
}

func mustOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	r := command(t, name, args...)
	if r.err != nil {
		t.Fatalf("%s: %v %s", name, r.err, r.stderr)
	}
	return r.stdout
}

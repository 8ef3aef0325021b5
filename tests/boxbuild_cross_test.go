package tests

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBoxbuildArchOptions checks the box architecture options before any
// box exists: each refusal is immediate, names the fix and starts nothing.
func TestBoxbuildArchOptions(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the cases are written for an x86_64 host")
	}
	env := append(append([]string{}, s.env...), "KIWI_BOXED_CACHE_DIR="+filepath.Join(t.TempDir(), "boxes"))
	desc := filepath.Join(s.repo, "tests", "testdata", "box-vm")
	// A box config whose box has no aarch64 variant.
	cfg := filepath.Join(t.TempDir(), "boxes.yml")
	if err := os.WriteFile(cfg, []byte("box:\n  - name: debian\n    description: debian\n    arch:\n      - name: x86_64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The binary under test has no kiwi-aarch64 next to it: a copy in a
	// directory of its own is run.
	lone := filepath.Join(t.TempDir(), "kiwi")
	b, err := os.ReadFile(s.kiwi)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kiwi string
		env  []string
		args []string
		want string
	}{
		{s.kiwi, env, []string{"system", "boxbuild", "--box", "debian", "--aarch64", "--container"},
			"--aarch64: a container box runs this host's arch (x86_64) only"},
		{s.kiwi, env, []string{"system", "boxbuild", "--box", "debian", "--aarch64", "--container", "--kube-yaml", filepath.Join(t.TempDir(), "k.yaml")},
			"leave out --container and --kube-yaml"},
		{s.kiwi, env, []string{"system", "boxbuild", "--box", "debian", "--x86_64", "--aarch64"},
			"--x86_64 and --aarch64: choose one box architecture"},
		{s.kiwi, append(append([]string{}, env...), "KIWI_BOXED_PLUGIN_CFG="+cfg), []string{"system", "boxbuild", "--box", "debian", "--aarch64"},
			`box "debian" has no aarch64 variant (it has: x86_64)`},
		{lone, env, []string{"system", "boxbuild", "--box", "debian", "--aarch64"},
			"CGO_ENABLED=0 GOARCH=arm64 go build -tags \"exclude_graphdriver_btrfs containers_image_openpgp\" -o " + filepath.Join(filepath.Dir(lone), "kiwi-aarch64") + " ./cmd/kiwi"},
		{s.kiwi, env, []string{"system", "boxbuild", "--box", "debian", "--aarch64", "--box-kiwi", s.kiwi},
			"built for EM_X86_64, not for the box's aarch64"},
		{s.kiwi, env, []string{"box", "build", "debian", "--x86_64", "--aarch64"},
			"choose one box architecture"},
		// The boxed plugin's pip install of another KIWI.
		{s.kiwi, env, []string{"system", "boxbuild", "--box", "debian", "--kiwi-version", "9.24.61"},
			"--kiwi-version 9.24.61: the box runs this kiwi"},
		// The description is checked as the box's arch: an oem disk
		// (x86_64 grub only) is refused for an aarch64 box.
		{s.kiwi, env, []string{"system", "boxbuild", "--box", "debian", "--aarch64", "--", "--description", filepath.Join(s.repo, "tests", "testdata", "debian-build")},
			`<type image="oem">: kiwi installs grub for x86_64 (BIOS and EFI) only so far, which does not boot on aarch64`},
	}
	for _, c := range cases {
		target := filepath.Join(t.TempDir(), "t")
		var args []string
		switch {
		case c.args[0] == "box":
			args = c.args
		case slices.Contains(c.args, "--"):
			args = append(append([]string{}, c.args...), "--target-dir", target)
		default:
			args = append(append([]string{}, c.args...), "--", "--description", desc, "--target-dir", target)
		}
		start := time.Now()
		cmd := exec.Command(c.kiwi, args...)
		cmd.Env = c.env
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("kiwi %s: err=%v, want a failure naming %q:\n%s", strings.Join(c.args, " "), err, c.want, tail(string(out), 600))
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("kiwi %s took %v to fail: it did work before checking", strings.Join(c.args, " "), d)
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("kiwi %s made the target dir", strings.Join(c.args, " "))
		}
	}
}

// TestBoxbuildCrossArch builds the aarch64 Debian box on this x86_64 host
// (debootstrap --arch arm64 and everything in the root through
// qemu-user-static's binfmt_misc handler), then runs a VM boxbuild in it
// (qemu-system-aarch64, virt machine, TCG, 9p shares) with a kiwi
// cross-compiled for arm64; the ext4 image it makes must hold the
// description's overlay file and aarch64 programs.
//
// Too slow for the default run: on a 2-core x86_64 test machine (TCG, a
// warm package cache) the box build took 6.5 minutes and the boxbuild 10.5,
// 17 in all (the whole CI run must stay within 45). Run it with
//
//	KIWI_TEST_CROSS=1 ./hack/setup.sh   # qemu-system-arm, qemu-user-static, binfmt
//	KIWI_TEST_CROSS=1 go test -tags "$KIWI_TAGS" -run TestBoxbuildCrossArch ./tests/ -v -timeout 90m
func TestBoxbuildCrossArch(t *testing.T) {
	if os.Getenv("KIWI_TEST_CROSS") != "1" {
		t.Skip("set KIWI_TEST_CROSS=1 to build the aarch64 box and build in it (about 17 minutes)")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("builds a foreign (aarch64) box: written for an x86_64 host")
	}
	cache := sharedCache(t)
	env := append(append([]string{}, s.env...), "KIWI_BOXED_CACHE_DIR="+filepath.Join(s.workDir, "boxes"))

	// The box runs kiwi-aarch64 from next to the kiwi under test.
	cross := filepath.Join(filepath.Dir(s.kiwi), "kiwi-aarch64")
	gb := exec.Command("go", "build", "-tags", "exclude_graphdriver_btrfs containers_image_openpgp", "-o", cross, "./cmd/kiwi")
	gb.Dir = s.repo
	gb.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH=arm64")
	if out, err := gb.CombinedOutput(); err != nil {
		t.Fatalf("cross-compile kiwi for arm64: %v\n%s", err, out)
	}

	start := time.Now()
	r := kiwiEnv(t, env, "--shared-cache-dir", cache, "box", "build", "debian", "--aarch64")
	if r.err != nil {
		t.Fatalf("kiwi box build debian --aarch64: %v\n%s", r.err, tail(r.stderr, 4000))
	}
	t.Logf("aarch64 box built in %v", time.Since(start).Round(time.Second))
	dir := strings.TrimSpace(r.stdout)
	kernel, err := os.ReadFile(filepath.Join(dir, "kernel"))
	if err != nil {
		t.Fatal(err)
	}
	// An arm64 kernel Image has the magic "ARM\x64" at byte 56 of its
	// header (QEMU's -kernel boots it directly on the virt machine).
	if len(kernel) < 60 || string(kernel[56:60]) != "ARM\x64" {
		t.Errorf("the box kernel is not an arm64 Image (header %x)", kernel[:min(len(kernel), 64)])
	}
	if _, err := os.Stat(filepath.Join(dir, "container.oci.tar")); err == nil {
		t.Error("the foreign-arch box has a container archive (its image config would name the host's arch)")
	}

	target := filepath.Join(t.TempDir(), "t")
	temp := t.TempDir()
	start = time.Now()
	r = kiwiEnv(t, env, "--shared-cache-dir", cache, "--temp-dir", temp, "system", "boxbuild", "--box", "debian", "--aarch64",
		"--box-memory", "3G", "--box-smp-cpus", "2",
		"--", "--description", filepath.Join(s.repo, "tests", "testdata", "box-vm"), "--target-dir", target)
	if r.err != nil {
		t.Fatalf("aarch64 VM boxbuild: %v\n%s\n%s", r.err, tail(r.stdout, 4000), tail(r.stderr, 3000))
	}
	t.Logf("aarch64 VM boxbuild took %v", time.Since(start).Round(time.Second))
	if !strings.Contains(r.stderr, "QEMU emulates it (TCG)") {
		t.Errorf("boxbuild did not say that the foreign box runs under TCG:\n%s", tail(r.stderr, 2000))
	}
	if !strings.Contains(r.stdout, "/bundle is the host's share share1 (9p)") {
		t.Errorf("the VM did not mount the target dir over 9p:\n%s", tail(r.stdout, 2000))
	}
	img := filepath.Join(target, "box-vm.aarch64-1.0.0.ext4")
	if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
		t.Fatalf("e2fsck %s: %v\n%s", img, err, out)
	}
	out, err := exec.Command("debugfs", "-R", "cat /etc/kiwi-box-marker", img).Output()
	if err != nil || !strings.Contains(string(out), "built in a VM box") {
		t.Errorf("the image lacks the description's overlay file: %v %q", err, out)
	}
	// The image is an aarch64 one: its programs are arm64 ELF files.
	dpkg := filepath.Join(t.TempDir(), "dpkg")
	if out, err := exec.Command("debugfs", "-R", "dump /usr/bin/dpkg "+dpkg, img).CombinedOutput(); err != nil {
		t.Fatalf("debugfs dump: %v %s", err, out)
	}
	if f, err := elf.Open(dpkg); err != nil {
		t.Errorf("/usr/bin/dpkg of the image: %v", err)
	} else {
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("/usr/bin/dpkg of the image is a %s program, not an aarch64 one", f.Machine)
		}
		f.Close()
	}
	if code, err := os.ReadFile(filepath.Join(target, "boxbuild.exitcode")); err != nil || strings.TrimSpace(string(code)) != "0" {
		t.Errorf("exit code file: %v %q", err, code)
	}
	if left, _ := os.ReadDir(temp); len(left) > 0 {
		t.Errorf("boxbuild left %d entries in its --temp-dir, first %s", len(left), left[0].Name())
	}
}

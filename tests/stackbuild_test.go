package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// TestRegistryContainersBecomeABootableDisk is the main job: a minbase
// Debian container and a small extra image, both pulled from a registry,
// stacked and turned into a VM disk by a description that adds kernel,
// dracut, grub and init (installed with the stack's own apt), a type, a
// user and an overlay file.
func TestRegistryContainersBecomeABootableDisk(t *testing.T) {
	pooled(t, 211)
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

	// The tests' shared cache: packages are downloaded once per machine,
	// and composed stacks (whole root trees) stay out of /var/cache/kiwi.
	cache := sharedCache(t)
	target := filepath.Join(t.TempDir(), "t")
	r := mustKiwi(t, "--debug", "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "debian:bookworm", "--stash", "extra:1",
		"--from-registry", registry, "--description", filepath.Join(s.repo, "tests", "testdata", "container-to-vm"),
		"--target-dir", target)
	if !strings.Contains(r.stderr, "overwritten_files=1") || !strings.Contains(r.stderr, "path=etc/hostname") {
		t.Errorf("the stack report must name etc/hostname as overwritten:\n%s", tail(r.stderr, 3000))
	}
	// The description makes a VMware appliance (format="ova"): the OVF
	// describes its <machine>, and the streamOptimized vmdk inside is
	// the disk that boots (-snapshot: QEMU writes no streamOptimized
	// vmdk in place).
	dir := unpack(t, filepath.Join(target, "container-to-vm.x86_64-2.0.0.ova"),
		"container-to-vm.x86_64-2.0.0.ovf", "container-to-vm.x86_64-2.0.0.mf", "container-to-vm.x86_64-2.0.0.vmdk")
	if out, err := exec.Command("sh", "-c", "cd "+dir+" && sed -E 's/^SHA256\\(([^)]+)\\)= ([0-9a-f]+)$/\\2  \\1/' *.mf | sha256sum -c").CombinedOutput(); err != nil {
		t.Errorf("the ova's manifest does not verify: %v\n%s", err, out)
	}
	ovf := mustRead(t, filepath.Join(dir, "container-to-vm.x86_64-2.0.0.ovf"))
	for _, want := range []string{`vmw:osType="debian12-64"`, "<vssd:VirtualSystemType>vmx-14<", "<rasd:ResourceSubType>VirtualSCSI<",
		"<rasd:ResourceSubType>vmxnet3<", `vmw:key="firmware" vmw:value="efi"`, `vmw:key="tools.upgrade.policy" vmw:value="manual"`,
		`vmw:key="ethernet0.connectionType" vmw:value="bridged"`} {
		if !strings.Contains(ovf, want) {
			t.Errorf("the OVF lacks %s:\n%s", want, ovf)
		}
	}
	disk := filepath.Join(dir, "container-to-vm.x86_64-2.0.0.vmdk")
	if out, err := exec.Command("qemu-img", "info", disk).CombinedOutput(); err != nil || !strings.Contains(string(out), "create type: streamOptimized") {
		t.Errorf("qemu-img info of the ova's disk: %v\n%s", err, out)
	}
	v := boot(t, bootOptions{Disk: disk, Format: "vmdk", EFI: true, Extra: []string{"-snapshot"}}, "stacked login:", 4*time.Minute)
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
	mustKiwi(t, "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "vm:1", "--target-dir", again)
	if _, err := os.Stat(filepath.Join(again, "container-to-vm.x86_64-2.0.0.ova")); err != nil {
		t.Fatalf("rebuild from the stash's own description: %v", err)
	}

	// A description whose packages the stack already holds builds
	// offline: its only repository here does not exist, and apt is
	// never asked. (qcow2 instead of the ova: the streamOptimized vmdk
	// costs half a minute of compression, and the ova is checked above.)
	offline := filepath.Join(t.TempDir(), "offline")
	mustKiwi(t, "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "vm:1", "--target-dir", offline,
		"--description", filepath.Join(s.repo, "tests", "testdata", "container-to-vm"),
		"--", "--set-repo", "http://127.0.0.1:1/nothing,apt-deb,none,,,,,main,bookworm", "--set-type-attr", "format=qcow2")
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

// TestStackbuildWithoutDescriptionIsRefusedBeforeComposing: a stack whose
// images carry no description (a plain Debian root stashed by name, from
// storage and as an OCI layout), built without --description, is refused
// before anything is composed: quickly, naming the images and the fix,
// and leaving no target dir behind.
func TestStackbuildWithoutDescriptionIsRefusedBeforeComposing(t *testing.T) {
	base := debianRoot(t)
	if _, err := os.Stat(filepath.Join(base, "image", "config.xml")); err == nil {
		t.Fatalf("%s carries a description; the test needs a plain root", base)
	}
	mustKiwi(t, "system", "stash", "--root", base, "--container-name", "plain-debian", "--tag", "1")
	layout := "oci:" + filepath.Join(t.TempDir(), "layout") + ":1"
	if r := command(t, "skopeo", "copy", "containers-storage:localhost/plain-debian:1", layout); r.err != nil {
		t.Fatalf("skopeo copy: %v\n%s", r.err, r.stderr)
	}
	for _, c := range []struct {
		name  string
		stash string
		limit time.Duration
	}{
		// From storage's layer directories: a few stats.
		{"storage", "plain-debian:1", 5 * time.Second},
		// From an OCI layout: its layer tar's headers are read.
		{"layout", layout, 15 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "new")
			target := filepath.Join(parent, "t")
			start := time.Now()
			r := kiwi(t, "--shared-cache-dir", sharedCache(t), "system", "stackbuild", "--stash", c.stash, "--target-dir", target)
			took := time.Since(start)
			if r.err == nil {
				t.Fatalf("stackbuild of a stack without a description succeeded:\n%s", tail(r.stderr, 2000))
			}
			for _, want := range []string{c.stash, "no image description", "give --description D, or stash a root made by kiwi system prepare/build"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the error does not say %q:\n%s", want, tail(r.stderr, 2000))
				}
			}
			if strings.Contains(r.stderr, "stack composed") || strings.Contains(r.stderr, "writing the composed root") {
				t.Errorf("composed before refusing:\n%s", tail(r.stderr, 2000))
			}
			if took > c.limit {
				t.Errorf("refusing took %v, want under %v", took, c.limit)
			}
			if _, err := os.Lstat(parent); err == nil {
				t.Errorf("the refused stackbuild left %s behind", parent)
			}
		})
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

// TestStackbuildComposesEveryTransportFromStorage: stashes in local
// storage are composed from storage's unpacked layers, and so are images
// of other transports (here OCI layouts), which are copied into storage
// first, as registry images are: one compose path, no tar extracted by
// kiwi, no stack cache. Every way gives the same tree and report; a stash
// or layout that changed is a different image, and the copy of a layout
// that changed replaces the old one in storage.
func TestStackbuildComposesEveryTransportFromStorage(t *testing.T) {
	work := t.TempDir()
	cache := filepath.Join(work, "cache")
	lower, upper := filepath.Join(work, "lower"), filepath.Join(work, "upper")
	if err := fstest.SampleRoot(lower); err != nil {
		t.Fatal(err)
	}
	for p, content := range map[string]string{"etc/hostname": "upper\n", "srv/upper": "from upper\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(upper, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(upper, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(lower, "etc/hostname"), []byte("lower\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := func(args ...string) result {
		return mustKiwi(t, append([]string{"--debug", "--shared-cache-dir", cache}, args...)...)
	}
	k("system", "stash", "--root", lower, "--container-name", "cache-lower")
	k("system", "stash", "--root", upper, "--container-name", "cache-upper")
	stackbuild := func(name string, stashes ...string) (string, string) {
		target := filepath.Join(work, name)
		args := []string{"system", "stackbuild", "--target-dir", target, "--compose-only"}
		for _, st := range stashes {
			args = append(args, "--stash", st)
		}
		r := k(args...)
		return filepath.Join(target, "build", "image-root"), r.stderr
	}
	stored := []string{"cache-lower", "cache-upper"}
	var layouts []string
	for _, name := range stored {
		layout := "oci:" + filepath.Join(work, "layout-"+name) + ":1"
		if r := command(t, "skopeo", "copy", "containers-storage:localhost/"+name+":latest", layout); r.err != nil {
			t.Fatalf("skopeo copy: %v\n%s", r.err, r.stderr)
		}
		layouts = append(layouts, layout)
	}
	imports := func() []string {
		out := mustOutput(t, "podman", "images", "--all", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "localhost/kiwi-import:") || strings.HasPrefix(l, "<none>") {
				got = append(got, l)
			}
		}
		return got
	}
	before := len(imports())
	first, log1 := stackbuild("t1", stored...)
	second, log2 := stackbuild("t2", stored...)
	fromLayout, log3 := stackbuild("t3", layouts...)
	again, log4 := stackbuild("t4", layouts...)
	for _, log := range []string{log1, log2, log3, log4} {
		if !strings.Contains(log, "layers=1") || strings.Contains(log, "composing from layer blobs") {
			t.Errorf("every image must be composed from storage's layer directories:\n%s", tail(log, 1500))
		}
		if !strings.Contains(log, "overwritten_files=1") || !strings.Contains(log, "path=etc/hostname") {
			t.Errorf("the report must name etc/hostname as overwritten:\n%s", tail(log, 1500))
		}
	}
	if got := imports(); len(got) != before+2 {
		t.Errorf("the two layouts must be two images in storage, copied once: %v", got)
	}
	a, err := fstest.Scan(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{second, fromLayout, again} {
		b, err := fstest.Scan(other)
		if err != nil {
			t.Fatal(err)
		}
		if d := fstest.Diff(a, b, "."); len(d) > 0 {
			t.Fatalf("%s differs from the root composed from storage:\n%s", other, strings.Join(d, "\n"))
		}
	}

	// A new stash of upper is another image: composed anew, with the change.
	if err := os.WriteFile(filepath.Join(upper, "srv/upper"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k("system", "stash", "--root", upper, "--container-name", "cache-upper")
	third, _ := stackbuild("t5", stored...)
	if got, _ := os.ReadFile(filepath.Join(third, "srv/upper")); string(got) != "changed\n" {
		t.Errorf("srv/upper = %q after the stash changed", got)
	}
	// The same layout reference with new content: copied again, and the
	// old copy leaves storage.
	if r := command(t, "skopeo", "copy", "containers-storage:localhost/cache-upper:latest", layouts[1]); r.err != nil {
		t.Fatalf("skopeo copy: %v\n%s", r.err, r.stderr)
	}
	fourth, _ := stackbuild("t6", layouts...)
	if got, _ := os.ReadFile(filepath.Join(fourth, "srv/upper")); string(got) != "changed\n" {
		t.Errorf("srv/upper = %q after the layout changed", got)
	}
	if got := imports(); len(got) != before+2 {
		t.Errorf("the old copy of a changed layout stays in storage: %v", got)
	}
}

package tests

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/internal/fstest"
	"github.com/kiwi-go/kiwi/internal/xattr"
)

// TestStackbuildRerunsOnlyWhatChanged is issue 20's check of the main job
// built again: a Debian container in local storage and the
// container-to-vm description (kernel, dracut, grub, a user, an overlay
// file) as a qcow2, with SOURCE_DATE_EPOCH.
//   - Unchanged, the rerun reports every phase cached, writes no root,
//     and gives the same bytes in every result file.
//   - A cached result changed in place (as booting a disk without a
//     snapshot would) fails its check, is dropped and built again: the
//     same bytes as the first build.
//   - A changed overlay file reruns only the configuration phase, and
//     the initrd comes from the cache (dracut does not look at it).
//   - A truncated cached initrd fails its check and dracut runs again;
//     that disk boots and shows the last overlay file.
//   - A file of a cached phase layer truncated in storage: the phases run
//     again instead of building on it.
//   - system build --allow-existing-root on the directory that was
//     stashed, unchanged since, builds on the stash: every phase from the
//     stackbuild's layers, and the same bytes.
func TestStackbuildRerunsOnlyWhatChanged(t *testing.T) {
	pooled(t, 255)
	base := strings.TrimSpace(mustOutput(t, filepath.Join(s.repo, "hack", "debian-root.sh"), "bookworm-minbase"))
	cache := sharedCache(t)
	// The stash is taken of a copy in a target dir's root: a system
	// build --allow-existing-root on it comes last.
	existing := filepath.Join(t.TempDir(), "existing")
	stashed := filepath.Join(existing, "build", "image-root")
	if err := os.MkdirAll(filepath.Dir(stashed), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := command(t, "cp", "-a", base, stashed); r.err != nil {
		t.Fatal(r.stderr)
	}
	mustKiwi(t, "--shared-cache-dir", cache, "system", "stash", "--root", stashed, "--container-name", "incremental", "--tag", "1")
	desc := filepath.Join(t.TempDir(), "desc")
	if r := command(t, "cp", "-a", filepath.Join(s.repo, "tests", "testdata", "container-to-vm"), desc); r.err != nil {
		t.Fatal(r.stderr)
	}
	overlay := filepath.Join(desc, "root", "etc", "kiwi-overlay")
	// Unique per run, so the configuration phase is new whatever an
	// earlier run left in storage, and (as a dracut setting, which is
	// part of the initrd's key) no other test's initrd is this one's.
	stamp := fmt.Sprint(time.Now().UnixNano())
	conf := filepath.Join(desc, "root", "etc", "dracut.conf.d", "90-incremental-test.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("# "+stamp+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	setOverlay := func(v string) {
		t.Helper()
		if err := os.WriteFile(overlay, []byte(v+" "+stamp+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(slices.Clone(s.env), "SOURCE_DATE_EPOCH=1700000000")
	const img = "container-to-vm.x86_64-2.0.0"
	build := func(name string) (string, string) {
		t.Helper()
		target := filepath.Join(t.TempDir(), name)
		r := kiwiEnv(t, env, "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "incremental:1",
			"--description", desc, "--target-dir", target, "--", "--set-type-attr", "format=qcow2")
		if r.err != nil {
			t.Fatalf("stackbuild %s: %v\n%s", name, r.err, tail(r.stderr, 3000))
		}
		return target, r.stderr
	}
	// The checksums of every result file but kiwi.result.json (it names
	// the target dir).
	sums := func(target string) map[string]string {
		t.Helper()
		entries, err := os.ReadDir(target)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range entries {
			if e.IsDir() || e.Name() == "kiwi.result.json" {
				continue
			}
			got[e.Name()] = mustOutput(t, "sha256sum", filepath.Join(target, e.Name()))[:64]
		}
		if got[img+".qcow2"] == "" || got[img+".raw"] == "" {
			t.Fatalf("%s holds no disk: %v", target, got)
		}
		return got
	}
	summary := func(log string) string {
		return regexp.MustCompile(`built in [^\n]*`).FindString(log)
	}

	setOverlay("first")
	first, log := build("first")
	if strings.Contains(log, "config 0 s (cached)") {
		t.Fatalf("the first build found its configuration phase cached:\n%s", summary(log))
	}
	want := sums(first)

	again, log := build("again")
	if !regexp.MustCompile(`bootstrap 0 s \(cached\).*packages 0 s \(cached\).*config 0 s \(cached\)`).MatchString(summary(log)) ||
		!regexp.MustCompile(`image [0-9.]+ s \(cached\)`).MatchString(summary(log)) {
		t.Errorf("the unchanged rerun did not take every phase and the image from the caches: %s", summary(log))
	}
	if _, err := os.Lstat(filepath.Join(again, "build", "image-root")); err == nil {
		t.Error("the unchanged rerun wrote a root tree")
	}
	if got := sums(again); !maps.Equal(got, want) {
		t.Errorf("the unchanged rerun's results differ:\n%v\n%v", got, want)
	}
	if b := mustRead(t, filepath.Join(again, "kiwi.result.json")); !strings.Contains(b, filepath.Join(again, img+".qcow2")) {
		t.Errorf("kiwi.result.json does not name the rerun's target dir:\n%s", b)
	}
	// The stashed directory, unchanged, built on as an existing root:
	// the phases the stackbuild committed on that stash are reused.
	r := kiwiEnv(t, env, "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", existing,
		"--allow-existing-root", "--set-type-attr", "format=qcow2")
	if r.err != nil {
		t.Fatalf("build --allow-existing-root on the stashed root: %v\n%s", r.err, tail(r.stderr, 3000))
	}
	if !strings.Contains(r.stderr, "the root is a stash, unchanged since") ||
		!regexp.MustCompile(`packages 0 s \(cached\).*config 0 s \(cached\)`).MatchString(summary(r.stderr)) {
		t.Errorf("build --allow-existing-root on the stashed root did not take the stash's cached phases: %s\n%s", summary(r.stderr), tail(r.stderr, 2000))
	}
	if got := sums(existing); !maps.Equal(got, want) {
		t.Errorf("build --allow-existing-root on the stashed root made other results:\n%v\n%v", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(stashed, "etc", "kiwi-overlay")); err != nil || !strings.Contains(string(b), "first "+stamp) {
		t.Errorf("the existing root was not built (its overlay file: %q, %v)", b, err)
	}

	// One byte of the cached disk changed: dropped, never used.
	cached, _ := filepath.Glob(filepath.Join(cache, "create", "results", "*", img+".qcow2"))
	if len(cached) == 0 {
		t.Fatal("no cached qcow2 in the results cache")
	}
	for _, c := range cached {
		f, err := os.OpenFile(c, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{0x5a}, 4096); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	tampered, log := build("tampered")
	if !strings.Contains(log, "failed its check: dropped") || regexp.MustCompile(`image [0-9.]+ s \(cached\)`).MatchString(summary(log)) {
		t.Errorf("a tampered cached result was not dropped:\n%s", tail(log, 2000))
	}
	if got := sums(tampered); !maps.Equal(got, want) {
		// What tells a live root from a restored one, and where in the
		// disk the bytes differ, so that a failure here can be found.
		layout, _ := exec.Command("sfdisk", "-d", filepath.Join(first, img+".raw")).Output()
		diff, _ := exec.Command("sh", "-c", `cmp -l "$1" "$2" | head -20`, "sh", filepath.Join(first, img+".raw"), filepath.Join(tampered, img+".raw")).Output()
		t.Errorf("the rebuilt results differ from the first build's:\n%v\n%v\nroots (first, rebuilt):\n%s\nlayout:\n%s\nfirst differing bytes of the raw disks:\n%s", got, want,
			rootDifferences(t, filepath.Join(first, "build", "image-root"), filepath.Join(tampered, "build", "image-root"), 1700000000), layout, diff)
	}

	// A changed overlay file: the configuration phase only; dracut does
	// not look at the file, so the initrd is the cached one.
	setOverlay("second")
	second, log := build("second")
	if !regexp.MustCompile(`packages 0 s \(cached\)`).MatchString(summary(log)) || strings.Contains(summary(log), "config 0 s (cached)") ||
		!regexp.MustCompile(`initrd [0-9.]+ s \(cached\)`).MatchString(summary(log)) {
		t.Errorf("a changed overlay file must rerun the configuration phase only, with the cached initrd: %s", summary(log))
	}

	// A truncated cached initrd: dracut runs again.
	used, _ := filepath.Glob(filepath.Join(second, "build", "image-root", "boot", "initrd.img-*"))
	if len(used) != 1 {
		t.Fatalf("the second root holds initrds %v", used)
	}
	sum := mustOutput(t, "sha256sum", used[0])[:64]
	initrds, _ := filepath.Glob(filepath.Join(cache, "create", "initrd", "*.initrd"))
	truncated := 0
	for _, i := range initrds {
		if mustOutput(t, "sha256sum", i)[:64] != sum {
			continue
		}
		if err := os.Truncate(i, 1000); err != nil {
			t.Fatal(err)
		}
		truncated++
	}
	// (Another test's build may have made the same initrd under a key
	// of its own: that entry is truncated too, and rebuilt when used.)
	if truncated == 0 {
		t.Fatal("no entry of the initrd cache holds the second build's initrd")
	}
	setOverlay("third")
	third, log := build("third")
	if !strings.Contains(log, "the cached initrd failed its check") || regexp.MustCompile(`initrd [0-9.]+ s \(cached\)`).MatchString(summary(log)) {
		t.Errorf("a truncated cached initrd was not rebuilt:\n%s", tail(log, 2000))
	}
	v := boot(t, bootOptions{Disk: filepath.Join(third, img+".qcow2"), Format: "qcow2", EFI: true, Extra: []string{"-snapshot"}}, "login:", 4*time.Minute)
	v.Send(t, "root\n")
	pos := v.Expect(t, 0, "Password:", time.Minute)
	v.Send(t, "stacked\n")
	pos = v.Expect(t, pos, "# ", time.Minute)
	out, _ := v.Run(t, pos, "cat /etc/kiwi-overlay")
	if !strings.Contains(out, "third "+stamp) {
		t.Errorf("the booted disk does not hold the last overlay file:\n%s", out)
	}
	v.Send(t, "poweroff\n")

	// A file of the packages phase's layer truncated in storage: the
	// restored tree does not match the snapshot taken at the commit, so
	// the phases run again instead of building on it.
	m := regexp.MustCompile(`reusing cached phases phases=bootstrap, packages image=([0-9a-f]{12})`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the third build names no cached packages image:\n%s", tail(log, 2000))
	}
	upper := strings.TrimSpace(mustOutput(t, "podman", "image", "inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", m[1]))
	var damaged, rel string
	_ = filepath.WalkDir(filepath.Join(upper, "usr", "bin"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && damaged == "" {
			if fi, err := d.Info(); err == nil && fi.Size() > 10000 {
				damaged = p
				return filepath.SkipAll
			}
		}
		return nil
	})
	if damaged == "" {
		t.Fatalf("no file to damage in the packages layer %s", upper)
	}
	rel, _ = filepath.Rel(upper, damaged)
	size, err := os.Stat(damaged)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(damaged, 100); err != nil {
		t.Fatal(err)
	}
	setOverlay("fourth")
	fourth, log4 := build("fourth")
	if !strings.Contains(log4, "a cached phase image is damaged") || strings.Contains(summary(log4), "packages 0 s (cached)") {
		t.Errorf("a damaged layer was built on: %s\n%s", summary(log4), tail(log4, 2000))
	}
	if fi, err := os.Stat(filepath.Join(fourth, "build", "image-root", rel)); err != nil || fi.Size() != size.Size() {
		t.Errorf("/%s in the rebuilt root: %v, %v; want %d bytes", rel, fi, err, size.Size())
	}
}

// rootDifferences lists (up to 30) entries in which two roots differ as
// mkfs sees them: fstest's comparison with mtimes clamped to epoch, and
// the order in which each entry lists its extended attributes (mkfs
// copies them in that order).
func rootDifferences(t *testing.T, a, b string, epoch int64) string {
	t.Helper()
	scan := func(root string) fstest.Tree {
		tree, err := fstest.Scan(root)
		if err != nil {
			t.Logf("scan %s: %v", root, err)
		}
		for p, e := range tree {
			e.Mtime = min(e.Mtime, epoch)
			tree[p] = e
		}
		return tree
	}
	ta, tb := scan(a), scan(b)
	out := fstest.Diff(ta, tb)
	for _, p := range slices.Sorted(maps.Keys(ta)) {
		if len(ta[p].Xattrs) < 2 {
			continue
		}
		la, _ := xattr.List(filepath.Join(a, p))
		lb, _ := xattr.List(filepath.Join(b, p))
		if !slices.Equal(la, lb) {
			out = append(out, fmt.Sprintf("%s: attributes listed %v != %v", p, la, lb))
		}
	}
	if len(out) == 0 {
		return "no difference\n"
	}
	return strings.Join(out[:min(len(out), 30)], "\n") + "\n"
}

package box

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/result"
)

func TestPlaceResults(t *testing.T) {
	out, stage := t.TempDir(), t.TempDir()
	result := func(key, name string) create.Result {
		p := filepath.Join(out, name)
		if err := os.WriteFile(p, []byte(key), 0o644); err != nil {
			t.Fatal(err)
		}
		return create.Result{Key: key, File: result.File{Filename: p}}
	}
	// A kis build's results, and one the box has no use for.
	results := []create.Result{
		result("filesystem_image", "box.x86_64-1.0.0"),
		result("kernel", "box.x86_64-1.0.0.kernel"),
		result("initrd", "box.x86_64-1.0.0.initrd"),
		result("kernel_append", "box.x86_64-1.0.0.append"),
		result("image_packages", "box.x86_64-1.0.0.packages"),
	}
	if err := placeResults(context.Background(), runner.Runner{}, results, stage); err != nil {
		t.Fatal(err)
	}
	for key, name := range map[string]string{"filesystem_image": RootFile, "kernel": KernelFile, "initrd": InitrdFile, "kernel_append": AppendFile} {
		if b, err := os.ReadFile(filepath.Join(stage, name)); err != nil || string(b) != key {
			t.Errorf("box file %s: %v %q, want the %s result", name, err, b, key)
		}
	}
	if names := dirNames(t, stage); len(names) != 4 {
		t.Errorf("the set holds %v, want the four box files", names)
	}
	if names := dirNames(t, out); len(names) != 1 || names[0] != "box.x86_64-1.0.0.packages" {
		t.Errorf("left in the build's target dir: %v, want the results moved", names)
	}

	// A description that builds no kis set is refused, naming what is
	// missing.
	err := placeResults(context.Background(), runner.Runner{}, []create.Result{result("filesystem_image", "fs.ext4"), result("kernel", "k")}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "must build a kis set") || !strings.Contains(err.Error(), "made no initrd, kernel_append") {
		t.Errorf("results of no kis set: %v", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestVMDefaults(t *testing.T) {
	e := &Entry{Dir: "/cache/debian/set"}
	src := BuildOptions{Arch: "aarch64", TempDir: "/var/tmp/x"}

	// The box config sizes the VM; the arch gives the console.
	src.Box = &Box{Name: "debian", MemMB: 4096, Processors: 4, Arch: []Arch{{Name: "x86_64"}, {Name: "aarch64"}}}
	r, err := vmDefaults(VMRun{}, src, e)
	if err != nil {
		t.Fatal(err)
	}
	if r.Box != src.Box || r.Entry != e || r.Arch != "aarch64" || r.HostArch != arch.Host() {
		t.Errorf("box, set and arches: %+v", r)
	}
	if r.MemoryMB != 4096 || r.CPUs != 4 || r.Console != "ttyAMA0" || r.Sharing != Share9p || r.ScratchGB != DefaultScratchGB || r.TempDir != "/var/tmp/x" {
		t.Errorf("from the box config: memory %d, cpus %d, console %s, sharing %s, scratch %d, temp %s", r.MemoryMB, r.CPUs, r.Console, r.Sharing, r.ScratchGB, r.TempDir)
	}
	if r.Log == nil || r.Run.Log == nil || r.Output == nil {
		t.Error("no log, runner log or output")
	}

	// A box config without sizes: kiwi's defaults, at least one CPU.
	src.Box = &Box{Name: "bare", Console: "hvc0", Arch: []Arch{{Name: "aarch64"}}}
	if r, err = vmDefaults(VMRun{}, src, e); err != nil || r.MemoryMB != DefaultMemoryMB || r.CPUs != 1 || r.Console != "hvc0" {
		t.Errorf("bare box: %v memory %d, cpus %d, console %s", err, r.MemoryMB, r.CPUs, r.Console)
	}

	// What the run gives wins.
	given := VMRun{MemoryMB: 2048, CPUs: 2, Console: "ttyS1", Sharing: ShareSSHFS, ScratchGB: 5, HostArch: "aarch64", TempDir: "/t"}
	if r, err = vmDefaults(given, src, e); err != nil || r.MemoryMB != 2048 || r.CPUs != 2 || r.Console != "ttyS1" || r.Sharing != ShareSSHFS ||
		r.ScratchGB != 5 || r.HostArch != "aarch64" || r.TempDir != "/t" {
		t.Errorf("given: %v %+v", err, r)
	}

	// A box without the arch is refused.
	src.Arch = "s390x"
	if _, err := vmDefaults(VMRun{}, src, e); err == nil || !strings.Contains(err.Error(), "no s390x variant") {
		t.Errorf("unknown arch: %v", err)
	}
}

func TestOutcomeAndVerdict(t *testing.T) {
	target := t.TempDir()
	b := Build{Target: target}

	// No exit code: the build did not finish, whatever the run said.
	code, err := outcome(b, boxTarget)
	if code != -1 || err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Errorf("missing exit code: %d %v", code, err)
	}
	if v := verdict("debian", target, code, err, nil); v == nil || !strings.Contains(v.Error(), "wrote no exit code") {
		t.Errorf("verdict without an exit code: %v", v)
	}

	// A failed build: its exit code and where its log is.
	os.WriteFile(filepath.Join(target, ExitFile), []byte("3\n"), 0o644)
	code, err = outcome(b, boxTarget)
	if code != 3 || err != nil {
		t.Errorf("exit code 3: %d %v", code, err)
	}
	want := fmt.Sprintf("the build in box debian failed with exit code 3; its log: %s", filepath.Join(target, LogFile))
	if v := verdict("debian", target, code, err, nil); v == nil || v.Error() != want {
		t.Errorf("verdict of exit code 3: %v, want %q", v, want)
	}

	// A good build: the results are named by their host paths.
	os.WriteFile(filepath.Join(target, ExitFile), []byte("0\n"), 0o644)
	os.WriteFile(filepath.Join(target, "kiwi.result.json"), []byte(`{"disk_image": {"filename": "/scratch/bundle/x.raw", "shasum": true}}`), 0o644)
	code, err = outcome(b, vmWorkTarget)
	if code != 0 || err != nil {
		t.Errorf("exit code 0: %d %v", code, err)
	}
	if j, _ := os.ReadFile(filepath.Join(target, "kiwi.result.json")); !strings.Contains(string(j), filepath.Join(target, "x.raw")) {
		t.Errorf("kiwi.result.json after a good build:\n%s", j)
	}
	if v := verdict("debian", target, code, err, nil); v != nil {
		t.Errorf("verdict of a good build: %v", v)
	}

	// An error of the run is the verdict, whatever the code.
	runErr := errors.New("the VM box failed")
	if v := verdict("debian", target, 0, runErr, nil); v != runErr {
		t.Errorf("verdict of a failed run: %v", v)
	}
}

// testBox is a box of the shipped debian description for the host's arch.
func testBox() *Box {
	return &Box{Name: "debian", Description: "debian", Arch: []Arch{{Name: arch.Host()}}}
}

func TestProvide(t *testing.T) {
	ctx := context.Background()
	cache := Cache{Dir: t.TempDir()}
	digest, err := DescriptionDigest("debian")
	if err != nil {
		t.Fatal(err)
	}
	install := func(digest string) *Entry {
		t.Helper()
		stage, err := cache.Stage("debian", arch.Host())
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(stage, KernelFile), []byte("k"), 0o644)
		e, err := cache.Install(stage, Meta{Box: "debian", Arch: arch.Host(), Description: "debian", DescriptionDigest: digest, Built: time.Now(), Files: []string{KernelFile}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// A temp dir that cannot be: a box build fails at its work dir, so
	// an error naming it tells that Provide chose to build.
	noTemp := filepath.Join(t.TempDir(), "missing", "tmp")
	o := ProvideOptions{BuildOptions: BuildOptions{Box: testBox(), Cache: cache, TempDir: noTemp}}
	building := func(err error) bool {
		var ie *InputError
		return errors.As(err, &ie) && ie.Input == InputTempDir && strings.HasPrefix(err.Error(), "temp dir "+noTemp+": box build work dir: ")
	}

	if _, err := Provide(ctx, o); !building(err) {
		t.Errorf("empty cache: want a build, got %v", err)
	}
	current := install(digest)
	if e, err := Provide(ctx, o); err != nil || e.Dir != current.Dir {
		t.Errorf("a current box: %v %+v", err, e)
	}
	stale := install("another description")
	if _, err := Provide(ctx, o); !building(err) {
		t.Errorf("a box of another description: want a build, got %v", err)
	}
	o.NoUpdate = true
	if e, err := Provide(ctx, o); err != nil || e.Dir != stale.Dir {
		t.Errorf("a box of another description, no update: %v %+v", err, e)
	}

	// A box that only comes from a registry is not built.
	pulled := ProvideOptions{BuildOptions: BuildOptions{Box: &Box{Name: "pulled", Arch: []Arch{{Name: arch.Host(), Container: "docker://example.org/box:1"}}}, Cache: cache}}
	if _, err := Provide(ctx, pulled); err == nil || !strings.Contains(err.Error(), "has no description to build it from") {
		t.Errorf("a pulled box missing from the cache: %v", err)
	}
	if _, err := BuildBox(ctx, pulled.BuildOptions); err == nil || !strings.Contains(err.Error(), "it comes from docker://example.org/box:1 only") {
		t.Errorf("box build of a pulled box: %v", err)
	}
	// A box without the arch is refused before any work.
	other := BuildOptions{Box: testBox(), Arch: "s390x", Cache: cache, TempDir: noTemp}
	if _, err := BuildBox(ctx, other); err == nil || !strings.Contains(err.Error(), "no s390x variant") {
		t.Errorf("box build for another arch: %v", err)
	}
}

// TestWorkDirCleanedUpAfterKill: a box build's work dir is named for its
// run, so that cleanup (journal.Clean) removes it once the run that made
// it is killed, going by the run's record alone, and leaves the work dir
// of a live run alone.
func TestWorkDirCleanedUpAfterKill(t *testing.T) {
	if dir := os.Getenv("KIWI_BOX_TEST_WORKDIR"); dir != "" {
		// The child: a run that records itself, makes its work dir and
		// dies with -9.
		if _, err := journal.Begin(os.Getenv("KIWI_BOX_TEST_STATE"), journal.Entry{Command: "box build test", Dirs: []string{dir}}); err != nil {
			t.Fatal(err)
		}
		w, err := workDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(w)
		os.Stdout.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	temp, state := t.TempDir(), t.TempDir()
	c := exec.Command(os.Args[0], "-test.run=^TestWorkDirCleanedUpAfterKill$")
	c.Env = append(os.Environ(), "KIWI_BOX_TEST_WORKDIR="+temp, "KIWI_BOX_TEST_STATE="+state)
	out, err := c.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was to be killed: %v\n%s", err, out)
	}
	killed := strings.TrimSpace(string(out))
	if filepath.Dir(killed) != temp || !strings.HasPrefix(filepath.Base(killed), fmt.Sprintf("kiwi-box-%d-", c.Process.Pid)) {
		t.Fatalf("the work dir %q is not named for its run (pid %d) in %s", killed, c.Process.Pid, temp)
	}
	if err := os.WriteFile(filepath.Join(killed, "half"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	live, err := workDir(temp)
	if err != nil {
		t.Fatal(err)
	}
	removed, kept, err := journal.Clean(state, nil, false)
	if err != nil || len(kept) > 0 {
		t.Fatalf("cleanup: %v, kept %v", err, kept)
	}
	if len(removed) != 1 || removed[0].Path != killed {
		t.Errorf("cleanup removed %v, want the killed run's %s", removed, killed)
	}
	if _, err := os.Stat(killed); err == nil {
		t.Error("the killed run's work dir is still there")
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the live run's work dir: %v", err)
	}

	// A temp dir that cannot take it is the run's input error.
	_, err = workDir(filepath.Join(temp, "missing"))
	var ie *InputError
	if !errors.As(err, &ie) || ie.Input != InputTempDir {
		t.Errorf("work dir in a missing temp dir: %v", err)
	}
}

// TestInputErrors: errors about what the caller gave name the value or
// file, say which input it is, and name no command-line option.
func TestInputErrors(t *testing.T) {
	t.Setenv("CONTAINER_HOST", "")
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	check := func(b Build) error { return b.Check() }
	_, memErr := ParseMemory("8T")
	_, kubeErr := KubeManifests([]KubeBuild{{}}, KubeOptions{Kind: "deployment"})
	cases := []struct {
		err    error
		input  string
		prefix string
	}{
		{memErr, InputMemory, `box memory "8T": `},
		{CheckSSHKey(filepath.Join(dir, "nokey")), InputSSHKey, "ssh key " + filepath.Join(dir, "nokey") + ": "},
		{CheckSSHKey(notDir), InputSSHKey, "ssh key " + notDir + ": "},
		{check(Build{Description: notDir, Target: dir, SharedCache: dir}), InputDescription, "description " + notDir + " is not a directory"},
		{check(Build{Description: dir, Target: dir, SharedCache: dir, SharedPaths: []string{"/etc"}}), InputSharedPath, "shared path /etc: the box needs its own /etc"},
		{check(Build{Description: dir, Target: dir, SharedCache: dir, SharedPaths: []string{notDir}}), InputSharedPath, "shared path " + notDir + " is not a directory"},
		{Build{Target: filepath.Join(notDir, "t"), SharedCache: dir}.PrepareTarget(), InputTarget, "target dir " + filepath.Join(notDir, "t") + ": "},
		{Build{Target: dir, SharedCache: filepath.Join(notDir, "c")}.PrepareTarget(), InputSharedCache, "shared cache dir " + filepath.Join(notDir, "c") + ": "},
		{kubeErr, InputKubeKind, `kube kind "deployment": use job or pod`},
		{writeKube(&KubeRequest{File: filepath.Join(notDir, "k.yaml"), Builds: []KubeBuild{{Name: "kiwi-x"}}, Options: KubeOptions{Kind: KubePod, Image: "img"}}), InputKubeFile, "kube manifest " + filepath.Join(notDir, "k.yaml") + ": "},
		{func() error {
			big := t.TempDir()
			os.WriteFile(filepath.Join(big, "root.tar"), make([]byte, ConfigMapLimit+1), 0o644)
			_, err := prepareKube(context.Background(), &KubeRequest{Builds: []KubeBuild{{Build: Build{Description: big}}}})
			return err
		}(), InputKubePush, "description "},
		{func() error { _, err := PushRef("127.0.0.1:5000/x@sha256:"+strings.Repeat("a", 64), ""); return err }(), InputKubePush, "push reference "},
		{func() error { _, err := MakeScratch(filepath.Join(dir, "missing")); return err }(), InputTempDir, "temp dir " + filepath.Join(dir, "missing") + ": "},
		{func() error {
			_, err := Connect(context.Background(), "", filepath.Join(dir, "missing"), runner.Runner{}, nil)
			return err
		}(), InputTempDir, "temp dir " + filepath.Join(dir, "missing") + ": "},
	}
	for _, c := range cases {
		var ie *InputError
		if c.err == nil || !errors.As(c.err, &ie) || ie.Input != c.input || !strings.HasPrefix(c.err.Error(), c.prefix) {
			t.Errorf("err %v (%T), want an InputError of %q starting %q", c.err, c.err, c.input, c.prefix)
			continue
		}
		if strings.Contains(c.err.Error(), " --") {
			t.Errorf("the library names an option: %v", c.err)
		}
	}
}

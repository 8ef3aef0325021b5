package box

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigLookupAndChecks(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv(ConfigEnv, "")
	c, err := LoadConfig()
	if err != nil || c.Source != "built-in" {
		t.Fatalf("built-in config: %v %+v", err, c)
	}
	b, err := c.Box("debian")
	if err != nil || b.Description != "debian" || b.MemMB == 0 {
		t.Fatalf("built-in debian box: %v %+v", err, b)
	}
	if _, err := b.ForArch("x86_64"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Box("nope"); err == nil || !strings.Contains(err.Error(), "boxes: debian") {
		t.Errorf("unknown box: %v", err)
	}

	// ~/.config/kiwi wins over the built-in one, ./ over that, the
	// environment over everything.
	home := filepath.Join(dir, "home", ".config", "kiwi")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, name string) {
		t.Helper()
		y := "box:\n  - name: " + name + "\n    arch:\n      - name: x86_64\n        container: docker://127.0.0.1:1/box:1\n"
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(home, ConfigFile), "fromhome")
	if c, err := LoadConfig(); err != nil || c.Boxes[0].Name != "fromhome" {
		t.Errorf("~/.config/kiwi: %v %+v", err, c)
	}
	write(filepath.Join(dir, ConfigFile), "fromcwd")
	if c, err := LoadConfig(); err != nil || c.Boxes[0].Name != "fromcwd" {
		t.Errorf("./: %v %+v", err, c)
	}
	env := filepath.Join(dir, "env.yml")
	write(env, "fromenv")
	t.Setenv(ConfigEnv, env)
	if c, err := LoadConfig(); err != nil || c.Boxes[0].Name != "fromenv" {
		t.Errorf("$%s: %v %+v", ConfigEnv, err, c)
	}

	bad := map[string]string{
		"box:\n  - name: a\n    memory: 8\n    arch: [{name: x86_64, container: x}]\n":                                         "field memory not found",
		"box:\n  - name: a\n    arch: [{name: x86_64, container: x}]\n  - name: a\n    arch: [{name: x86_64, container: x}]\n": "named twice",
		"box:\n  - name: a\n    description: nosuch\n    arch: [{name: x86_64}]\n":                                             `no box description "nosuch"`,
		"box:\n  - name: a\n    arch: [{name: x86_64}]\n":                                                                      "neither a container reference nor a description",
		"box:\n  - name: a\n": "lists no arch",
	}
	for y, want := range bad {
		if err := os.WriteFile(env, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), env) {
			t.Errorf("config %q: err %v, want one naming the file and %q", y, err, want)
		}
	}
}

func TestCacheInstallVerifyReplace(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	if e, err := c.Lookup("debian", "x86_64"); err != nil || e != nil {
		t.Fatalf("empty cache: %v %v", e, err)
	}
	install := func(content string) *Entry {
		t.Helper()
		stage, err := c.Stage("debian", "x86_64")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{KernelFile, RootFile} {
			if err := os.WriteFile(filepath.Join(stage, f), []byte(content+f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		e, err := c.Install(stage, Meta{Box: "debian", Arch: "x86_64", Built: time.Now(), Files: []string{KernelFile, RootFile}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first := install("one")
	e, err := c.Lookup("debian", "x86_64")
	if err != nil || e == nil || e.Dir != first.Dir || !e.Has(KernelFile) {
		t.Fatalf("lookup after install: %v %+v", err, e)
	}
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.Path(RootFile), []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a changed file passed: %v", err)
	}
	second := install("two")
	if _, err := os.Stat(first.Dir); err == nil {
		t.Error("the replaced set is still there")
	}
	if e, _ := c.Lookup("debian", "x86_64"); e == nil || e.Dir != second.Dir {
		t.Errorf("lookup after replacing: %+v", e)
	}
	if b, _ := os.ReadFile(filepath.Join(second.Dir, KernelFile)); string(b) != "two"+KernelFile {
		t.Errorf("kernel of the new set: %q", b)
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int{"8": 8192, "8G": 8192, "2g": 2048, "2048M": 2048, "512m": 512} {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "100M", "1.5G", "8T"} {
		if _, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) accepted", in)
		}
	}
}

func TestExitCodeMissingIsFailure(t *testing.T) {
	dir := t.TempDir()
	if _, err := ExitCode(dir); err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Errorf("missing exit code: %v", err)
	}
	os.WriteFile(filepath.Join(dir, ExitFile), []byte("garbage\n"), 0o644)
	if _, err := ExitCode(dir); err == nil {
		t.Error("a garbage exit code was accepted")
	}
	os.WriteFile(filepath.Join(dir, ExitFile), []byte("3\n"), 0o644)
	if code, err := ExitCode(dir); err != nil || code != 3 {
		t.Errorf("exit code 3: %d %v", code, err)
	}
}

func TestShippedDescription(t *testing.T) {
	if got := Descriptions(); len(got) == 0 || got[0] != "debian" {
		t.Fatalf("descriptions: %v", got)
	}
	dir := filepath.Join(t.TempDir(), "d")
	if err := WriteDescription("debian", dir); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{"config.xml": 0o644, "config.sh": 0o755, "root/usr/lib/kiwi-box/boxbuild": 0o755} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v, want %v", p, err, fi.Mode().Perm(), mode)
		}
	}
	a, err := DescriptionDigest("debian")
	b, _ := DescriptionDigest("debian")
	if err != nil || a != b || len(a) != 64 {
		t.Errorf("digest %q %q %v", a, b, err)
	}
	if err := WriteDescription("nosuch", filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("an unknown description was written")
	}
}

func TestBoxedPluginConfigLoadsUnchanged(t *testing.T) {
	plugin := `box:
  -
    name: leap
    mem_mb: 8096M
    processors: 4
    console: hvc0
    arch:
      -
        name: x86_64
        cmdline:
          - root=/dev/vda1
          - rd.plymouth=0
        source: obs://Some:Project/images
        packages_file: Leap-Box.x86_64-System.json
        boxfiles:
          - Leap-Box.x86_64-Kernel.tar.xz
          - Leap-Box.x86_64-System.qcow2
        container: registry.example.org/leap/box:latest
        use_initrd: true
  -
    name: small
    mem_mb: 2G
    arch:
      - name: x86_64
        cmdline: []
        container: registry.example.org/small:1
`
	c, err := parseConfig([]byte(plugin), "plugin.yml")
	if err != nil {
		t.Fatal(err)
	}
	leap, _ := c.Box("leap")
	small, _ := c.Box("small")
	if leap.MemMB != 8096 || leap.Processors != 4 || leap.Console != "hvc0" || leap.Arch[0].Container != "registry.example.org/leap/box:latest" ||
		strings.Join(leap.Arch[0].Cmdline, " ") != "root=/dev/vda1 rd.plymouth=0" || small.MemMB != 2048 {
		t.Errorf("boxes %+v %+v", leap, small)
	}
	if u := leap.Unused(); len(u) != 1 || u[0] != "leap (x86_64): source, packages_file, boxfiles, use_initrd" {
		t.Errorf("Unused = %q", u)
	}
	if u := small.Unused(); len(u) != 0 {
		t.Errorf("Unused of a box without download fields = %q", u)
	}
	for _, mem := range []string{"8192", "8G", "8GiB", "8192MB"} {
		var m struct {
			M MiB `yaml:"m"`
		}
		if err := yaml.Unmarshal([]byte("m: "+mem), &m); err != nil || m.M != 8192 {
			t.Errorf("mem_mb %s = %d, %v", mem, m.M, err)
		}
	}
	_, err = parseConfig([]byte(strings.Replace(plugin, "mem_mb: 2G", "mem_mb: -4G", 1)), "plugin.yml")
	if err == nil || !strings.Contains(err.Error(), `line 22: mem_mb "-4G"`) {
		t.Errorf("negative memory: %v", err)
	}
}

package arch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDebian(t *testing.T) {
	for kiwi, deb := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64el", "armv7l": "armhf"} {
		if got, err := Debian(kiwi); err != nil || got != deb {
			t.Errorf("Debian(%s) = %q, %v; want %s", kiwi, got, err, deb)
		}
	}
	if _, err := Debian("m68k"); err == nil || !strings.Contains(err.Error(), "aarch64") {
		t.Errorf("unknown arch: %v", err)
	}
}

// TestCanRun checks the binfmt_misc check against a fake handler dir.
func TestCanRun(t *testing.T) {
	other, handler := "aarch64", "qemu-aarch64"
	if Host() == "aarch64" {
		other, handler = "x86_64", "qemu-x86_64"
	}
	if err := canRun(t.TempDir(), Host()); err != nil {
		t.Errorf("the host's own arch: %v", err)
	}
	if err := canRun(t.TempDir(), ""); err != nil {
		t.Errorf("no target arch: %v", err)
	}
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		setup func()
		want  string // "" is success
	}{
		{func() {}, "binfmt_misc is not mounted"},
		{func() { write("status", "enabled\n") }, "has no " + handler + " handler: install qemu-user-static and binfmt-support"},
		{func() { write(handler, "disabled\ninterpreter /usr/libexec/qemu-binfmt/x-binfmt-P\nflags: PF\n") }, "update-binfmts --enable " + handler},
		{func() { write(handler, "enabled\ninterpreter /usr/bin/qemu\nflags: P\n") }, "lacks the F (fix binary) flag"},
		{func() {
			write(handler, "enabled\ninterpreter /usr/libexec/qemu-binfmt/x-binfmt-P\nflags: PF\noffset 0\n")
		}, ""},
	}
	for i, c := range cases {
		c.setup()
		err := canRun(dir, other)
		if c.want == "" {
			if err != nil {
				t.Errorf("case %d: %v", i, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v, want an error naming %q", i, err, c.want)
		}
	}
	if err := canRun(dir, "m68k"); err == nil || !strings.Contains(err.Error(), "kiwi knows") {
		t.Errorf("unknown arch: %v", err)
	}
}

func TestOCINames(t *testing.T) {
	for kiwi, want := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm", "ppc64le": "ppc64le", "nonesuch": ""} {
		if got := OCI(kiwi); got != want {
			t.Errorf("OCI(%q) = %q, want %q", kiwi, got, want)
		}
	}
}

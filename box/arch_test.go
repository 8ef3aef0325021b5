package box

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// qemuFor is the QEMU command line (without shares and -append) of a VM
// box of arch on a host of hostArch.
func qemuFor(t *testing.T, r VMRun) ([]string, bool) {
	t.Helper()
	if r.Box == nil {
		r.Box = &Box{Name: "debian", Arch: []Arch{{Name: "x86_64"}, {Name: "aarch64"}}}
	}
	r.Entry = &Entry{Dir: "/cache/debian/set"}
	r.MemoryMB, r.CPUs = 2048, 2
	args, foreign, err := r.qemuBase("/scratch/disk.qcow2")
	if err != nil {
		t.Fatalf("%s box on %s: %v", r.Arch, r.HostArch, err)
	}
	return args, foreign
}

// opt returns the values of every occurrence of option name in args.
func opt(args []string, name string) []string {
	var v []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			v = append(v, args[i+1])
		}
	}
	return v
}

func TestQEMUCommandLinePerArch(t *testing.T) {
	cases := []struct {
		name         string
		r            VMRun
		accel        []string
		machine, cpu []string
		foreign      bool
		noneOf       []string
	}{
		{name: "x86_64 box on x86_64: KVM first, QEMU's machine and CPU",
			r:     VMRun{Arch: "x86_64", HostArch: "x86_64"},
			accel: []string{"kvm", "tcg"}, noneOf: []string{"-machine", "-cpu"}},
		{name: "x86_64 box, --no-accel",
			r:     VMRun{Arch: "x86_64", HostArch: "x86_64", NoAccel: true},
			accel: []string{"tcg"}, noneOf: []string{"-machine", "-cpu"}},
		{name: "aarch64 box on x86_64: TCG, virt, cortex-a57",
			r:     VMRun{Arch: "aarch64", HostArch: "x86_64"},
			accel: []string{"tcg"}, machine: []string{"virt"}, cpu: []string{"cortex-a57"}, foreign: true},
		{name: "aarch64 box on x86_64, KVM not wanted either way",
			r:     VMRun{Arch: "aarch64", HostArch: "x86_64", NoAccel: true},
			accel: []string{"tcg"}, machine: []string{"virt"}, cpu: []string{"cortex-a57"}, foreign: true},
		{name: "aarch64 box on x86_64 with --machine and --cpu",
			r:     VMRun{Arch: "aarch64", HostArch: "x86_64", Machine: "virt,highmem=off", CPU: "max"},
			accel: []string{"tcg"}, machine: []string{"virt,highmem=off"}, cpu: []string{"max"}, foreign: true},
		{name: "aarch64 box on aarch64: KVM first, the host's CPU and GIC",
			r:     VMRun{Arch: "aarch64", HostArch: "aarch64"},
			accel: []string{"kvm", "tcg"}, machine: []string{"virt,gic-version=max"}, cpu: []string{"max"}},
		{name: "x86_64 box on aarch64: TCG",
			r:     VMRun{Arch: "x86_64", HostArch: "aarch64"},
			accel: []string{"tcg"}, foreign: true, noneOf: []string{"-machine", "-cpu"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args, foreign := qemuFor(t, c.r)
			if foreign != c.foreign {
				t.Errorf("foreign = %v, want %v", foreign, c.foreign)
			}
			if got := opt(args, "-accel"); !slices.Equal(got, c.accel) {
				t.Errorf("-accel %v, want %v: %q", got, c.accel, args)
			}
			if got := opt(args, "-machine"); !slices.Equal(got, c.machine) {
				t.Errorf("-machine %v, want %v", got, c.machine)
			}
			if got := opt(args, "-cpu"); !slices.Equal(got, c.cpu) {
				t.Errorf("-cpu %v, want %v", got, c.cpu)
			}
			for _, o := range c.noneOf {
				if slices.Contains(args, o) {
					t.Errorf("%s given: %q", o, args)
				}
			}
			// Devices every machine has: PCI virtio network and disks,
			// the box's kernel booted directly, serial on stdio.
			if got := opt(args, "-nic"); !slices.Equal(got, []string{"user,model=virtio-net-pci"}) {
				t.Errorf("-nic %v", got)
			}
			drives := opt(args, "-drive")
			if len(drives) != 2 || drives[0] != "file=/cache/debian/set/root,format=raw,if=virtio,snapshot=on" ||
				drives[1] != "file=/scratch/disk.qcow2,format=qcow2,if=virtio" {
				t.Errorf("-drive %q", drives)
			}
			if k := opt(args, "-kernel"); len(k) != 1 || k[0] != "/cache/debian/set/kernel" {
				t.Errorf("-kernel %v", k)
			}
			if s := opt(args, "-serial"); len(s) != 1 || s[0] != "stdio" {
				t.Errorf("-serial %v", s)
			}
		})
	}
	// The shares are virtio-9p-pci devices, which both machines take.
	if got := share9p("share0", "/a,b", "passthrough", false); !slices.Equal(got, []string{"-fsdev", "local,id=fs-share0,path=/a,,b,security_model=passthrough", "-device", "virtio-9p-pci,fsdev=fs-share0,mount_tag=share0"}) {
		t.Errorf("9p share: %q", got)
	}

	r := VMRun{Arch: "ppc64le", HostArch: "x86_64", Box: &Box{Name: "debian"}, Entry: &Entry{}}
	if _, _, err := r.qemuBase("/d"); err == nil || !strings.Contains(err.Error(), "aarch64 and x86_64") {
		t.Errorf("a VM box of an arch kiwi has no QEMU settings for: %v", err)
	}
}

func TestKernelAppendAndConsolePerArch(t *testing.T) {
	b := &Box{Name: "debian", Console: "ttyS0", Arch: []Arch{{Name: "x86_64"}, {Name: "aarch64", Console: "ttyAMA0", Cmdline: []string{"earlycon"}}}}
	if got := VMConsole(b, &b.Arch[0], ""); got != "ttyS0" {
		t.Errorf("x86_64 console %q", got)
	}
	if got := VMConsole(b, &b.Arch[1], ""); got != "ttyAMA0" {
		t.Errorf("aarch64 console %q", got)
	}
	if got := VMConsole(b, &b.Arch[1], "hvc0"); got != "hvc0" {
		t.Errorf("--box-console: %q", got)
	}
	// Without any console in the config: the serial port of the arch.
	bare := &Box{Name: "x", Arch: []Arch{{Name: "aarch64"}, {Name: "x86_64"}}}
	if VMConsole(bare, &bare.Arch[0], "") != "ttyAMA0" || VMConsole(bare, &bare.Arch[1], "") != "ttyS0" {
		t.Error("the arch's default consoles are not ttyAMA0 and ttyS0")
	}
	r := VMRun{Box: b, Arch: "aarch64", Console: "ttyAMA0", Debug: true}
	line, err := r.kernelAppend(" root=UUID=1 quiet\n")
	if err != nil || line != "root=UUID=1 quiet rw console=ttyAMA0 kiwi.boxbuild earlycon kiwi.debug" {
		t.Errorf("append %q %v", line, err)
	}
	r.Arch = "s390x"
	if _, err := r.kernelAppend(""); err == nil || !strings.Contains(err.Error(), "has no s390x variant") {
		t.Errorf("unknown arch: %v", err)
	}
}

func TestBoxKiwi(t *testing.T) {
	dir := t.TempDir()
	running := filepath.Join(dir, "kiwi")
	self, err := os.Executable() // this test binary: an ELF of the host's arch
	if err != nil {
		t.Fatal(err)
	}
	// The host's arch: the running kiwi, whatever is next to it.
	if p, err := BoxKiwi("x86_64", "x86_64", running, ""); err != nil || p != running {
		t.Errorf("host arch: %q %v", p, err)
	}
	// Another arch and nothing next to the running kiwi: the error names
	// the cross build and that another binary may be given.
	_, err = BoxKiwi("aarch64", "x86_64", running, "")
	want := "CGO_ENABLED=0 GOARCH=arm64 go build -tags \"exclude_graphdriver_btrfs containers_image_openpgp\" -o " + filepath.Join(dir, "kiwi-aarch64") + " ./cmd/kiwi"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "or give another kiwi binary for aarch64") {
		t.Errorf("missing kiwi-aarch64: %v", err)
	}
	hostArch, otherArch, otherGo := "x86_64", "aarch64", "arm64"
	if runtime.GOARCH == "arm64" {
		hostArch, otherArch, otherGo = "aarch64", "x86_64", "amd64"
	}
	// A kiwi-<arch> of the wrong arch is refused, naming the right GOARCH.
	wrong := filepath.Join(dir, "kiwi-"+otherArch)
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrong, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := BoxKiwi(otherArch, hostArch, running, ""); err == nil || !strings.Contains(err.Error(), "GOARCH="+otherGo) {
		t.Errorf("kiwi-%s of the host's arch: %v", otherArch, err)
	}
	// A given kiwi of the box's arch is taken; a text file is not, and the
	// error names it as an input.
	if p, err := BoxKiwi(hostArch, hostArch, running, wrong); err != nil || p != wrong {
		t.Errorf("given kiwi: %q %v", p, err)
	}
	text := filepath.Join(dir, "script")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = BoxKiwi(hostArch, hostArch, running, text)
	var ie *InputError
	if err == nil || !strings.HasPrefix(err.Error(), "box kiwi "+text+": ") || !errors.As(err, &ie) || ie.Input != InputBoxKiwi {
		t.Errorf("a given script: %v", err)
	}
}

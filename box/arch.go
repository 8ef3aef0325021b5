package box

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/internal/arch"
)

// vmArch is what a VM box of one architecture needs from QEMU.
type vmArch struct {
	// machine is QEMU's -machine when the box runs on a host of its own
	// arch (KVM tried first), tcgMachine when it is emulated; "" leaves
	// QEMU's default.
	machine, tcgMachine string
	// cpu and tcgCPU are QEMU's -cpu likewise.
	cpu, tcgCPU string
	// console is the kernel's name of the serial port -serial stdio
	// gives the box.
	console string
	// elf is the ELF machine of the kiwi binary the box can run. (Go's
	// name for the arch, for the cross build an error names, is the OCI
	// one: build.OCIArch.)
	elf elf.Machine
}

// vmArches are the architectures kiwi runs VM boxes of. On aarch64 the
// box is a virt machine (PCI virtio devices, PL011 serial console); on
// its own arch -cpu max is the host's CPU under KVM and everything QEMU
// emulates under TCG (should KVM not start), and gic-version=max takes
// the host's interrupt controller. Emulated on another arch it is a
// cortex-a57: ARMv8.0, which Debian's arm64 needs, and without the
// pointer authentication -cpu max enables, which TCG emulates slowly.
var vmArches = map[string]vmArch{
	"x86_64": {console: "ttyS0", elf: elf.EM_X86_64},
	"aarch64": {
		machine: "virt,gic-version=max", tcgMachine: "virt",
		cpu: "max", tcgCPU: "cortex-a57",
		console: "ttyAMA0", elf: elf.EM_AARCH64,
	},
}

func vmArchOf(arch string) (vmArch, error) {
	a, ok := vmArches[arch]
	if !ok {
		names := make([]string, 0, len(vmArches))
		for n := range vmArches {
			names = append(names, n)
		}
		sort.Strings(names)
		return vmArch{}, fmt.Errorf("kiwi runs VM boxes of %s, not %s: on a %s host, use a container box", strings.Join(names, " and "), arch, arch)
	}
	return a, nil
}

// VMConsole is the console device of a VM box for arch entry a: given,
// else a's console in the box config, else the box's,
// else the one QEMU's -serial is on that arch (ttyS0, ttyAMA0).
func VMConsole(b *Box, a *Arch, given string) string {
	switch {
	case given != "":
		return given
	case a.Console != "":
		return a.Console
	case b.Console != "":
		return b.Console
	}
	if va, err := vmArchOf(a.Name); err == nil {
		return va.console
	}
	return "ttyS0"
}

// machineArgs are QEMU's accelerator, -machine and -cpu options for a box
// of arch on a host of hostArch. A box of another arch than the host's
// runs under TCG whatever noAccel says (foreign is true then); machine
// and cpu (QEMU's -machine and -cpu, when given) replace the arch's defaults.
func machineArgs(arch, hostArch string, noAccel bool, machine, cpu string) (args []string, foreign bool, err error) {
	va, err := vmArchOf(arch)
	if err != nil {
		return nil, false, err
	}
	foreign = arch != hostArch
	tcg := noAccel || foreign
	if tcg {
		args = append(args, "-accel", "tcg")
	} else {
		// QEMU takes the first accelerator that initialises.
		args = append(args, "-accel", "kvm", "-accel", "tcg")
	}
	if machine == "" {
		machine = va.machine
		if tcg {
			machine = va.tcgMachine
		}
	}
	if cpu == "" {
		cpu = va.cpu
		if tcg {
			cpu = va.tcgCPU
		}
	}
	if machine != "" {
		args = append(args, "-machine", machine)
	}
	if cpu != "" {
		args = append(args, "-cpu", cpu)
	}
	return args, foreign, nil
}

// BoxKiwi returns the kiwi binary a VM box of arch runs: given when set,
// else the running kiwi when the box has the host's arch, else
// kiwi-<arch> next to the running kiwi. A binary for another arch is
// refused; a missing one is an error that names the command building it.
func BoxKiwi(boxArch, hostArch, running, given string) (string, error) {
	va, err := vmArchOf(boxArch)
	if err != nil {
		return "", err
	}
	if given != "" {
		if err := checkKiwiArch(given, boxArch, va); err != nil {
			return "", inputError(InputBoxKiwi, "box kiwi %s: %w", given, err)
		}
		return given, nil
	}
	if boxArch == hostArch {
		return running, nil
	}
	p := filepath.Join(filepath.Dir(running), "kiwi-"+boxArch)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("a box of %s runs a kiwi built for %s, and there is no %s next to this kiwi: build it from kiwi's source with "+
			"CGO_ENABLED=0 GOARCH=%s go build -tags \"exclude_graphdriver_btrfs containers_image_openpgp\" -o %s ./cmd/kiwi, or give another kiwi binary for %s",
			boxArch, boxArch, p, arch.OCI(boxArch), p, boxArch)
	}
	if err := checkKiwiArch(p, boxArch, va); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return p, nil
}

// checkKiwiArch checks that p is an executable ELF file for arch.
func checkKiwiArch(p, boxArch string, va vmArch) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("not an executable file")
	}
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("not a kiwi binary for %s: %w", boxArch, err)
	}
	defer f.Close()
	if f.Machine != va.elf {
		return fmt.Errorf("built for %s, not for the box's %s: build it with GOARCH=%s", f.Machine, boxArch, arch.OCI(boxArch))
	}
	return nil
}

package boot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// Volume is one filesystem of the disk being built, as grub's tools would
// have probed it from a block device.
type Volume struct {
	// Device is what the kernel command line names it by: "UUID=..." or
	// "LABEL=..." (there is no /dev node for a disk that exists only as
	// an image file).
	Device string
	UUID   string
	Label  string
	FS     string // ext2, ext3, ext4, btrfs, xfs
	// Partition is its number in the partition table.
	Partition int
}

// MkconfigOptions are the settings KIWI writes for grub-mkconfig
// (/etc/default/grub) and the disk it describes.
type MkconfigOptions struct {
	Distributor string
	// Cmdline is the kernel command line without root= (grub-mkconfig
	// adds that from the root volume).
	Cmdline string
	Timeout int // seconds; negative waits forever
	Serial  bool
	Console string // terminals when Serial ("serial console" by default)
	// Root and Boot are the volumes holding / and /boot; Boot is nil
	// when /boot is on the root volume.
	Root  Volume
	Boot  *Volume
	Table string // gpt or msdos
}

// HasMkconfig tells whether root brings its own grub-mkconfig (Debian's
// grub2-common) with the grub-probe and grub-mkrelpath it calls.
func HasMkconfig(root string) bool {
	for _, p := range []string{"usr/sbin/grub-mkconfig", "usr/sbin/grub-probe", "usr/bin/grub-mkrelpath"} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// Mkconfig writes root's /boot/grub/grub.cfg with the root's own
// grub-mkconfig, so the menu is the distribution's (and a later
// update-grub in the running system keeps KIWI's settings, which go to
// /etc/default/grub.d/kiwi.cfg).
//
// grub-mkconfig asks grub-probe about the block devices under / and
// /boot; a disk that is still an image file has none. So for this one
// command, in the private mount namespace of chroot.RunCmd, grub-probe and
// grub-mkrelpath are replaced by scripts that answer for the disk being
// built (dir is where those scripts are written). Nothing is mounted on
// the host and the root's own tools are untouched.
func Mkconfig(ctx context.Context, r runner.Runner, root, dir string, o MkconfigOptions) error {
	if err := writeGrubDefaults(root, o); err != nil {
		return err
	}
	probe, relpath := filepath.Join(dir, "grub-probe"), filepath.Join(dir, "grub-mkrelpath")
	if err := os.WriteFile(probe, []byte(probeScript(o)), 0o755); err != nil {
		return fmt.Errorf("write grub-probe stand-in: %w", err)
	}
	if err := os.WriteFile(relpath, []byte(relpathScript(o.Boot != nil)), 0o755); err != nil {
		return fmt.Errorf("write grub-mkrelpath stand-in: %w", err)
	}
	if _, err := chroot.RunCmd(ctx, r, chroot.Cmd{
		Root: root,
		Binds: []chroot.Bind{
			{Host: probe, InRoot: "/usr/sbin/grub-probe", File: true},
			{Host: relpath, InRoot: "/usr/bin/grub-mkrelpath", File: true},
		},
		Name: "grub-mkconfig", Args: []string{"-o", "/boot/grub/grub.cfg"},
	}); err != nil {
		return fmt.Errorf("grub-mkconfig in the root: %w", err)
	}
	cfg, err := os.ReadFile(filepath.Join(root, "boot/grub/grub.cfg"))
	if err != nil {
		return fmt.Errorf("grub-mkconfig: %w", err)
	}
	if !strings.Contains(string(cfg), "root="+o.Root.Device) {
		return fmt.Errorf("grub-mkconfig wrote no boot entry with root=%s: does the root have a kernel in /boot and grub's /etc/grub.d/10_linux?", o.Root.Device)
	}
	return nil
}

// writeGrubDefaults writes KIWI's settings where Debian's grub-mkconfig
// reads them after /etc/default/grub, so the distribution's own file
// stays as it is.
func writeGrubDefaults(root string, o MkconfigOptions) error {
	var b strings.Builder
	b.WriteString("# Written by kiwi from the image description's <type> and <bootloader>.\n")
	q := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(v)) }
	if o.Distributor != "" {
		q("GRUB_DISTRIBUTOR", o.Distributor)
	}
	fmt.Fprintf(&b, "GRUB_TIMEOUT=%d\n", o.Timeout)
	q("GRUB_CMDLINE_LINUX_DEFAULT", o.Cmdline)
	q("GRUB_CMDLINE_LINUX", "")
	if o.Serial {
		consoles := o.Console
		if consoles == "" {
			consoles = "serial console"
		}
		q("GRUB_TERMINAL_INPUT", consoles)
		q("GRUB_TERMINAL_OUTPUT", consoles)
		q("GRUB_SERIAL_COMMAND", "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1")
	} else {
		// A text menu boots on any display; gfxterm needs fonts and video.
		q("GRUB_TERMINAL_OUTPUT", "console")
	}
	b.WriteString("GRUB_DISABLE_RECOVERY=true\nGRUB_DISABLE_OS_PROBER=true\n")
	d := filepath.Join(root, "etc/default/grub.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("grub defaults: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d, "kiwi.cfg"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("grub defaults: %w", err)
	}
	return nil
}

// probeScript answers grub-mkconfig's questions (grub-probe --target=T
// PATH, or --device DEV) about the disk being built.
func probeScript(o MkconfigOptions) string {
	boot := o.Root
	if o.Boot != nil {
		boot = *o.Boot
	}
	grubFS := func(fs string) string {
		if strings.HasPrefix(fs, "ext") {
			return "ext2" // grub's one driver for ext2/3/4
		}
		return fs
	}
	part := "gpt"
	if o.Table == "msdos" {
		part = "msdos"
	}
	vars := func(prefix string, v Volume) string {
		return fmt.Sprintf("%s_dev=%s %s_uuid=%s %s_label=%s %s_fs=%s %s_part=%d\n", prefix, shellQuote(v.Device), prefix, shellQuote(v.UUID),
			prefix, shellQuote(v.Label), prefix, grubFS(v.FS), prefix, v.Partition)
	}
	return `#!/bin/sh
# kiwi: stands in for grub-probe while grub-mkconfig runs for a disk that
# exists only as an image file. It knows the root and boot filesystems.
` + vars("root", o.Root) + vars("boot", boot) + `table=` + part + `
target= device= arg=
while [ $# -gt 0 ]; do
  case $1 in
    --target=*) target=${1#--target=} ;;
    -t|--target) shift; target=$1 ;;
    -d|--device) device=1 ;;
    -*) ;;
    *) [ -n "$arg" ] || arg=$1 ;;
  esac
  shift
done
v=root
if [ -n "$device" ]; then
  [ "$arg" = "$boot_dev" ] && v=boot
else
  case $arg in /boot|/boot/*) v=boot ;; esac
fi
eval "dev=\$${v}_dev uuid=\$${v}_uuid label=\$${v}_label fs=\$${v}_fs part=\$${v}_part"
case $target in
  device) echo "$dev" ;;
  fs_uuid) echo "$uuid" ;;
  fs_label) echo "$label" ;;
  fs) echo "$fs" ;;
  partmap) echo "$table" ;;
  drive) echo "(hd0,$table$part)" ;;
  disk) echo "(hd0)" ;;
  abstraction|compatibility_hint|hints_string|cryptodisk_uuid) ;;
  *) echo "grub-probe (kiwi): no answer for --target=$target" >&2; exit 1 ;;
esac
`
}

// relpathScript stands in for grub-mkrelpath: paths are relative to the
// filesystem holding them, so with a boot partition /boot/x is /x there.
func relpathScript(bootPartition bool) string {
	s := "#!/bin/sh\n# kiwi: grub-mkrelpath for a disk that exists only as an image file.\n"
	if bootPartition {
		s += `case $1 in /boot) echo / ; exit 0 ;; /boot/*) echo "${1#/boot}" ; exit 0 ;; esac` + "\n"
	}
	return s + "echo \"$1\"\n"
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

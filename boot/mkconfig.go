package boot

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
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

// Mkconfig writes root's grub.cfg (/boot/grub/grub.cfg, or
// /boot/grub2/grub.cfg as g says) with the root's own grub-mkconfig, so
// the menu is the distribution's (and a later update-grub or
// grub2-mkconfig in the running system keeps KIWI's settings, see
// writeGrubDefaults).
//
// grub-mkconfig asks grub-probe about the block devices under / and
// /boot; a disk that is still an image file has none. So for this one
// command, in the private mount namespace of chroot.RunCmd, grub-probe and
// grub-mkrelpath are replaced by scripts that answer for the disk being
// built (dir is where those scripts are written). Nothing is mounted on
// the host and the root's own tools are untouched.
func Mkconfig(ctx context.Context, r runner.Runner, root, dir string, g Grub, o MkconfigOptions) error {
	if !g.CanMkconfig() {
		return fmt.Errorf("the root has no grub-mkconfig or grub2-mkconfig with its grub-probe and grub-mkrelpath")
	}
	script, err := os.ReadFile(filepath.Join(root, g.Mkconfig))
	if err != nil {
		return fmt.Errorf("read the root's %s: %w", g.Mkconfig, err)
	}
	if err := writeGrubDefaults(root, string(script), o); err != nil {
		return err
	}
	probe, relpath := filepath.Join(dir, "grub-probe"), filepath.Join(dir, "grub-mkrelpath")
	if err := os.WriteFile(probe, []byte(probeScript(o)), 0o755); err != nil {
		return fmt.Errorf("write grub-probe stand-in: %w", err)
	}
	if err := os.WriteFile(relpath, []byte(relpathScript(o.Boot != nil)), 0o755); err != nil {
		return fmt.Errorf("write grub-mkrelpath stand-in: %w", err)
	}
	var binds []chroot.Bind
	for _, p := range g.Probe {
		binds = append(binds, chroot.Bind{Host: probe, InRoot: p, File: true})
	}
	for _, p := range g.Mkrelpath {
		binds = append(binds, chroot.Bind{Host: relpath, InRoot: p, File: true})
	}
	if _, err := chroot.RunCmd(ctx, r, chroot.Cmd{
		Root: root, Binds: binds, Name: g.Mkconfig, Args: []string{"-o", g.ConfigPath()},
	}); err != nil {
		return fmt.Errorf("%s in the root: %w", path.Base(g.Mkconfig), err)
	}
	cfg, err := os.ReadFile(filepath.Join(root, g.ConfigPath()))
	if err != nil {
		return fmt.Errorf("%s: %w", path.Base(g.Mkconfig), err)
	}
	if !strings.Contains(string(cfg), "root="+o.Root.Device) {
		return fmt.Errorf("%s wrote no boot entry with root=%s: does the root have a kernel in /boot and grub's /etc/grub.d/10_linux?", path.Base(g.Mkconfig), o.Root.Device)
	}
	return nil
}

// grubSetting is one variable of /etc/default/grub.
type grubSetting struct{ key, value string }

// grubSettings are KIWI's settings for grub-mkconfig. mkconfig is the
// root's grub-mkconfig script: when it knows Boot Loader Spec entries
// (Fedora/RHEL's GRUB_ENABLE_BLSCFG), they are turned off, because the
// entries kernel-install wrote while the root was prepared carry the
// build host's command line, not this disk's root=; the classic menu
// entries grub2-mkconfig writes instead are the ones probed for this disk
// (and Fedora's kernel-install keeps them current with grubby).
func grubSettings(mkconfig string, o MkconfigOptions) []grubSetting {
	var s []grubSetting
	if o.Distributor != "" {
		s = append(s, grubSetting{"GRUB_DISTRIBUTOR", o.Distributor})
	}
	s = append(s, grubSetting{"GRUB_TIMEOUT", strconv.Itoa(o.Timeout)},
		grubSetting{"GRUB_CMDLINE_LINUX_DEFAULT", o.Cmdline}, grubSetting{"GRUB_CMDLINE_LINUX", ""})
	if o.Serial {
		consoles := o.Console
		if consoles == "" {
			consoles = "serial console"
		}
		s = append(s, grubSetting{"GRUB_TERMINAL_INPUT", consoles}, grubSetting{"GRUB_TERMINAL_OUTPUT", consoles},
			grubSetting{"GRUB_SERIAL_COMMAND", "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1"})
	} else {
		// A text menu boots on any display; gfxterm needs fonts and video.
		s = append(s, grubSetting{"GRUB_TERMINAL_OUTPUT", "console"})
	}
	s = append(s, grubSetting{"GRUB_DISABLE_RECOVERY", "true"}, grubSetting{"GRUB_DISABLE_OS_PROBER", "true"})
	if strings.Contains(mkconfig, "GRUB_ENABLE_BLSCFG") {
		s = append(s, grubSetting{"GRUB_ENABLE_BLSCFG", "false"})
	}
	return s
}

// writeGrubDefaults writes KIWI's settings where the root's grub-mkconfig
// reads them: Debian's sources /etc/default/grub.d/*.cfg after
// /etc/default/grub, so they go to grub.d/kiwi.cfg and the
// distribution's own file stays as it is; the others read only
// /etc/default/grub, whose variables are then set in place (comments and
// other variables kept, new ones appended), as KIWI does.
func writeGrubDefaults(root, mkconfig string, o MkconfigOptions) error {
	settings := grubSettings(mkconfig, o)
	if strings.Contains(mkconfig, "default/grub.d") {
		var b strings.Builder
		b.WriteString("# Written by kiwi from the image description's <type> and <bootloader>.\n")
		for _, v := range settings {
			fmt.Fprintf(&b, "%s=%s\n", v.key, shellQuote(v.value))
		}
		d := filepath.Join(root, "etc/default/grub.d")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("grub defaults: %w", err)
		}
		if err := os.WriteFile(filepath.Join(d, "kiwi.cfg"), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("grub defaults: %w", err)
		}
		return nil
	}
	file := filepath.Join(root, "etc/default/grub")
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("grub defaults: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("grub defaults: %w", err)
	}
	return os.WriteFile(file, []byte(setGrubDefaults(string(old), settings)), 0o644)
}

// setGrubDefaults sets each variable of settings in the shell variable
// file text: an existing assignment is replaced where it is, a new one
// appended.
func setGrubDefaults(text string, settings []grubSetting) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		lines = nil
	}
	done := map[string]bool{}
	for i, l := range lines {
		k, _, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		for _, v := range settings {
			if v.key == strings.TrimPrefix(k, "export ") {
				lines[i] = v.key + "=" + shellQuote(v.value)
				done[v.key] = true
			}
		}
	}
	for _, v := range settings {
		if !done[v.key] {
			lines = append(lines, v.key+"="+shellQuote(v.value))
		}
	}
	return strings.Join(lines, "\n") + "\n"
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

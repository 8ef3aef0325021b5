package boot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/timing"
)

// InitrdOptions tune the initrd.
type InitrdOptions struct {
	// Resize adds kiwi's first-boot step that grows the root partition
	// and its filesystem to the end of the disk (<oem-resize>).
	Resize bool
	// Modules are extra dracut modules (e.g. dmsquash-live).
	Modules []string
	// Omit are dracut modules to leave out.
	Omit []string
	// Persistent adds kiwi's hybridpersistent module (live media only).
	Persistent *Persistent
	// Install adds kiwi's installer module (oem install media only).
	Install *Install
	// Output is where in root the initrd goes instead of the kernel's
	// initrd path (an install initrd beside the image's own).
	Output string
	// CacheDir, when set, keeps initrds and gives back one whose inputs
	// did not change (see initrdcache.go).
	CacheDir string
}

// resizeModuleSetup is kiwi's dracut module: before the root is
// switched to, grow the root's partition to the end of its disk and the
// mounted filesystem into it. The partition is grown by growpart when
// the image has it, else by sfdisk. Every tool is installed with -o, so
// that a missing one never breaks dracut: ResizeTools checks at build
// time that the image has what the hook needs.
const resizeModuleSetup = `#!/bin/bash
# kiwi: grow the root partition and filesystem on first boot.
check() { return 255; }
depends() { echo rootfs-block; return 0; }
install() {
    # The hook itself, and its sfdisk path (util-linux).
    inst_multiple -o awk sed readlink findmnt basename cat sfdisk partx
    # growpart (a script) and what it runs.
    inst_multiple -o growpart sgdisk flock grep lsblk mktemp rm dd udevadm
    # The filesystems' grow tools.
    inst_multiple -o resize2fs btrfs xfs_growfs
    inst_hook pre-pivot 50 "$moddir/kiwi-resize.sh"
}
`

// resizeFunctions are the hook's shell functions; the hook calls
// kiwi_resize. kiwi_grow_sfdisk is growpart's partition step done by
// sfdisk alone; the tests run it on image files.
const resizeFunctions = `# kiwi_grow_sfdisk DISK NR grows partition NR of DISK (a disk or an
# image file) over the free space after it, up to the next partition or
# the end of the disk, with util-linux's sfdisk; on GPT the backup header
# is moved to the disk's end first. It prints "CHANGED: ..." or
# "NOCHANGE: ..." as growpart does, or why it failed (and returns 1). It
# writes nothing when less than 1 MiB would be gained, so it may run at
# every boot. The kernel is not told: that is the caller's part (partx).
kiwi_grow_sfdisk() {
    local disk="$1" nr="$2" total plan label start size room ssz new out
    # The disk's size in sectors: the first line of sfdisk --list is
    # "Disk DISK: SIZE, N bytes, M sectors".
    total=$(LANG=C sfdisk --list "$disk" 2>/dev/null | sed -n '1s/^Disk .* bytes, \([0-9][0-9]*\) sectors$/\1/p')
    if [ -z "$total" ]; then
        echo "FAILED: sfdisk cannot read the size of $disk"
        return 1
    fi
    # From the table: its type, the partition's start and size, and the
    # free sectors after it, up to the next partition, the end of an
    # msdos extended partition around it, or the disk's end (less GPT's
    # backup entries and header; msdos sizes are 32-bit). A GPT whose
    # backup header is still at the old end of the disk does not know
    # the new end: the disk's size counts.
    plan=$(LANG=C sfdisk --dump "$disk" 2>/dev/null | sed 's/[=,]/ /g' | awk -v nr="$nr" -v total="$total" '
        $1 == "label:" { label = $2 }
        $1 == "sector-size:" { ssz = $2 }
        $1 == "table-length:" { entries = $2 }
        $2 == ":" && $3 == "start" {
            n++; s[n] = $4; e[n] = $4 + $6
            if ($1 ~ ("[^0-9]" nr "$")) me = n
        }
        END {
            if (!me) label = "none"
            if (ssz == "") ssz = 512
            if (entries == "") entries = 128
            limit = total
            if (label == "gpt") limit = total - 1 - int((entries * 128 + ssz - 1) / ssz)
            if (label == "dos" && s[me] + 4294967295 < limit) limit = s[me] + 4294967295
            for (i = 1; i <= n; i++) {
                if (i == me) continue
                if (s[i] >= e[me] && s[i] < limit) limit = s[i]
                if (s[i] <= s[me] && e[i] >= e[me] && e[i] < limit) limit = e[i]
            }
            printf "%s %.0f %.0f %.0f %.0f\n", label, s[me], e[me] - s[me], limit - e[me], ssz
        }')
    # shellcheck disable=SC2086 # five words
    set -- $plan
    label=$1 start=$2 size=$3 room=$4 ssz=$5
    case "$label" in
        gpt|dos) ;;
        none) echo "FAILED: $disk has no partition $nr"; return 1 ;;
        *) echo "FAILED: cannot grow a partition in a '$label' partition table ($disk)"; return 1 ;;
    esac
    if [ $((room * ssz)) -lt 1048576 ]; then
        echo "NOCHANGE: partition $nr is size $size. it cannot be grown"
        return 0
    fi
    # The partition is in use (the root is mounted): no re-read by
    # sfdisk, and the kernel is told by the caller.
    if [ "$label" = gpt ] && ! out=$(LANG=C sfdisk --no-reread --no-tell-kernel --relocate gpt-bak-std "$disk" 2>&1); then
        echo "FAILED: sfdisk --relocate gpt-bak-std $disk: $out"
        return 1
    fi
    if ! out=$(echo ', +' | LANG=C sfdisk --no-reread --no-tell-kernel -N "$nr" "$disk" 2>&1); then
        echo "FAILED: sfdisk -N $nr $disk: $out"
        return 1
    fi
    new=$(LANG=C sfdisk --dump "$disk" 2>/dev/null | sed 's/[=,]/ /g' | awk -v nr="$nr" '$2 == ":" && $3 == "start" && $1 ~ ("[^0-9]" nr "$") { print $6 }')
    if [ -z "$new" ] || [ "$new" -le "$size" ]; then
        echo "FAILED: sfdisk -N $nr $disk did not grow the partition (size $size, now ${new:-unknown}): $out"
        return 1
    fi
    echo "CHANGED: partition=$nr start=$start old: size=$size end=$((start + size - 1)) new: size=$new end=$((start + new - 1))"
}

# kiwi_resize grows the root's partition to the end of its disk, then
# the filesystem mounted at $NEWROOT into it. It returns, never exits.
kiwi_resize() {
    local dev name sys part disk out fstype tool
    dev=$(findmnt -n -o SOURCE "$NEWROOT" 2>&1 | sed 's/\[.*//')
    if [ ! -b "$dev" ]; then
        warn "kiwi-resize: root $NEWROOT is not on a block device ($dev)"
        return 0
    fi
    name=$(basename "$(readlink -f "$dev")")
    sys=/sys/class/block/$name
    if [ ! -e "$sys/partition" ]; then
        warn "kiwi-resize: $dev is not a partition"
        return 0
    fi
    part=$(cat "$sys/partition")
    disk=/dev/$(basename "$(readlink -f "$sys/..")")
    if command -v growpart >/dev/null 2>&1; then
        tool=growpart
        out=$(LANG=C growpart "$disk" "$part" 2>&1)
    elif command -v sfdisk >/dev/null 2>&1; then
        tool=sfdisk
        out=$(kiwi_grow_sfdisk "$disk" "$part" 2>&1)
    else
        warn "kiwi-resize: neither growpart nor sfdisk is in the initrd: $dev is not grown"
        return 0
    fi
    case "$out" in
        CHANGED*) info "kiwi-resize: $tool: $out" ;;
        NOCHANGE*) return 0 ;;
        *) warn "kiwi-resize: $tool $disk $part: $out"; return 0 ;;
    esac
    # growpart tells the kernel itself; after sfdisk partx does, for this
    # one partition (BLKPG resize works while it is mounted).
    if [ "$tool" = sfdisk ] && ! out=$(partx -u --nr "$part" "$disk" 2>&1); then
        warn "kiwi-resize: partx -u --nr $part $disk: $out"
        return 0
    fi
    fstype=$(findmnt -n -o FSTYPE "$NEWROOT")
    case "$fstype" in
        ext2|ext3|ext4) out=$(resize2fs "$dev" 2>&1) ;;
        btrfs) out=$(btrfs filesystem resize max "$NEWROOT" 2>&1) ;;
        xfs) out=$(xfs_growfs "$NEWROOT" 2>&1) ;;
        *) warn "kiwi-resize: cannot grow $fstype"; return 0 ;;
    esac || { warn "kiwi-resize: growing $fstype on $dev failed: $out"; return 0; }
    info "kiwi-resize: grew $fstype on $dev"
}
`

// resizeHook is the module's pre-pivot hook.
const resizeHook = `#!/bin/sh
# kiwi: grow the root partition to the end of the disk, then the
# filesystem mounted at $NEWROOT into it. dracut sources this file: it
# must return, never exit.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

` + resizeFunctions + `
kiwi_resize
`

// MakeInitrd builds k's initrd with dracut inside root (no host-only
// detection: the image boots on other machines than this one).
func MakeInitrd(ctx context.Context, r runner.Runner, root string, k *Kernel, o InitrdOptions) error {
	mods := append([]string{}, o.Modules...)
	if o.Resize {
		m, err := writeModule(root, "kiwi-resize", map[string]string{"module-setup.sh": resizeModuleSetup, "kiwi-resize.sh": resizeHook})
		if err != nil {
			return err
		}
		mods = append(mods, m)
	}
	if o.Persistent != nil {
		m, err := installPersistentModule(root, *o.Persistent)
		if err != nil {
			return err
		}
		mods = append(mods, m)
	}
	if o.Install != nil {
		m, err := installModule(root, *o.Install)
		if err != nil {
			return err
		}
		mods = append(mods, m)
	}
	if err := HasDracut(root); err != nil {
		return err
	}
	args := []string{"--no-hostonly", "--no-hostonly-cmdline", "--force", "--reproducible", "--compress", initrdCompressor(root)}
	for _, m := range mods {
		args = append(args, "--add", m)
	}
	for _, m := range o.Omit {
		args = append(args, "--omit", m)
	}
	out := "/" + k.Initrd
	if o.Output != "" {
		out = o.Output
	}
	args = append(args, out, k.Version)
	// No device nodes in the initrd: the kernel unpacks its built-in
	// initramfs (/dev/console) first and the initrd's systemd mounts
	// devtmpfs, so dracut's five mknods add nothing a boot uses, and a
	// user namespace cannot make them (dracut leaves them out there
	// itself): with them left out everywhere, an ordinary user's initrd
	// has root's bytes.
	env := []string{"DRACUT_NO_MKNOD=1"}
	// dracut keeps its staging tree (--keep), whose files are what the
	// initrd cache checks, in a temp dir of the root given as TMPDIR:
	// dracut stores its command line in the initrd, so every build runs
	// the same one, cached or not, and a temp dir's name is not in it.
	args = append([]string{"--keep"}, args...)
	var c *initrdCache
	if o.CacheDir != "" {
		key, err := initrdInputs(root, k, append(append([]string{}, env...), args...))
		if err != nil {
			return fmt.Errorf("initrd cache: %w", err)
		}
		c = &initrdCache{dir: o.CacheDir, key: key}
		end := timing.StartCached(ctx, "initrd")
		ok, why := c.reuse(root, strings.TrimPrefix(out, "/"))
		if ok {
			end()
			logInfo(r, "initrd unchanged: copied from the cache")
			return nil
		}
		logInfo(r, "initrd not cached", "why", why)
	}
	defer timing.Start(ctx, "initrd")()
	tmp, err := os.MkdirTemp(filepath.Join(root, "var/tmp"), ".kiwi-dracut-")
	if err != nil {
		return fmt.Errorf("build initrd: a temp dir for dracut in the root's /var/tmp: %w", err)
	}
	defer os.RemoveAll(tmp)
	rel, _ := filepath.Rel(root, tmp)
	if _, err := chroot.Run(ctx, r, root, append(env, "TMPDIR=/"+rel), "dracut", args...); err != nil {
		return fmt.Errorf("build initrd: %w", err)
	}
	if c == nil {
		return nil
	}
	staged, _ := filepath.Glob(filepath.Join(tmp, "dracut.*", "initramfs"))
	if len(staged) != 1 {
		logInfo(r, "initrd not cached: dracut kept no staging tree")
		return nil
	}
	if err := c.keep(root, strings.TrimPrefix(out, "/"), staged[0]); err != nil {
		logInfo(r, "initrd not cached", "error", err)
	}
	return nil
}

func logInfo(r runner.Runner, msg string, args ...any) {
	if r.Log != nil {
		r.Log.Info(msg, args...)
	}
}

// writeModule puts one of kiwi's dracut modules, name and its files,
// into root's dracut modules (modules.d/95<name>, executable as dracut
// wants them) and returns its name for --add.
func writeModule(root, name string, files map[string]string) (string, error) {
	dir := filepath.Join(root, "usr/lib/dracut/modules.d/95"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write dracut module %s: %w", name, err)
	}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o755); err != nil {
			return "", fmt.Errorf("write dracut module %s: %w", name, err)
		}
	}
	return name, nil
}

// initrdCompressor picks a fast compressor the root has. dracut's default
// (gzip -9 on Debian) spends about 50 of dracut's 60 seconds compressing
// a no-hostonly initrd on two cores; gzip -1 takes 3 and the image is
// about 10% larger. zstd (multi-threaded) is better still when present.
func initrdCompressor(root string) string {
	for _, c := range []struct{ bin, cmd string }{
		{"usr/bin/zstd", "zstd -T0 -6"},
		{"usr/bin/pigz", "pigz -1"},
	} {
		if _, err := os.Stat(filepath.Join(root, c.bin)); err == nil {
			return c.cmd
		}
	}
	return "gzip -1"
}

// ResizeTools tells whether the root tree at root has what kiwi-resize
// (<oem-resize>) needs to grow the root partition and a root filesystem
// of type filesystem at first boot: growpart or sfdisk, partx, and the
// filesystem's grow tool. growpart runs sfdisk, or sgdisk on GPT, so it
// counts without sfdisk only beside sgdisk. The programs are looked for
// where dracut finds them (usr/sbin, usr/bin, sbin, bin), with symlinks
// resolved inside root as the image sees them: a link to /usr/... is
// root's /usr, never the host's. It changes nothing. The error names
// every missing program, the packages that carry it (Debian's and the
// rpm distributions'), and <oem-resize>false</oem-resize> as the other
// way out.
func ResizeTools(root, filesystem string) error {
	const off = "set <oem-resize>false</oem-resize> in <oemconfig>"
	var grow, growPackage string
	switch filesystem {
	case "ext2", "ext3", "ext4":
		grow, growPackage = "resize2fs", "e2fsprogs"
	case "btrfs":
		grow, growPackage = "btrfs", "btrfs-progs"
	case "xfs":
		grow, growPackage = "xfs_growfs", "xfsprogs"
	default:
		return fmt.Errorf("oem-resize cannot grow a %q root filesystem at boot (only ext2, ext3, ext4, btrfs and xfs): %s", filesystem, off)
	}
	has := func(prog string) bool { return toolInRoot(root, prog) }
	var missing []string
	switch {
	case has("sfdisk"), has("growpart") && has("sgdisk"):
	case has("growpart"):
		missing = append(missing, "sfdisk, which growpart runs (Debian: package fdisk; rpm distributions: util-linux)")
	default:
		missing = append(missing, "growpart or sfdisk (Debian: package cloud-guest-utils or fdisk; rpm distributions: cloud-utils-growpart or util-linux)")
	}
	for _, t := range [][2]string{{"partx", "util-linux"}, {grow, growPackage}} {
		if !has(t[0]) {
			missing = append(missing, fmt.Sprintf("%s (package %s)", t[0], t[1]))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("oem-resize grows the root partition and its %s filesystem at first boot, and the image lacks %s: add the packages to the image, or %s",
			filesystem, strings.Join(missing, ", "), off)
	}
	return nil
}

// toolInRoot tells whether root has the program prog where dracut
// looks for it: an executable regular file, symlinks resolved in root.
func toolInRoot(root, prog string) bool {
	for _, dir := range []string{"usr/sbin", "usr/bin", "sbin", "bin"} {
		p, err := resolveInRoot(root, dir+"/"+prog)
		if err != nil {
			continue
		}
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return true
		}
	}
	return false
}

// resolveInRoot resolves the slash-separated path rel inside root as a
// process chrooted there would: every symlink is followed within root,
// an absolute target starts again at root, and ".." stops at root. It
// returns the host path of what rel names, which has no symlink left
// in it, or the error of the first component that does not exist.
func resolveInRoot(root, rel string) (string, error) {
	done := "" // resolved so far: clean, relative to root, no symlinks
	rest := strings.Split(rel, "/")
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if done = filepath.Dir(done); done == "." {
				done = ""
			}
			continue
		}
		next := filepath.Join(done, c)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			done = next
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", rel)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = ""
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(root, done), nil
}

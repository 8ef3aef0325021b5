package boot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
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
}

// resizeModule is kiwi's dracut module: before the root is switched to,
// grow the root's partition to the end of its disk (growpart) and the
// mounted filesystem into it. It is idempotent, so it may run at every
// boot: once the partition fills the disk, growpart reports NOCHANGE.
const resizeModuleSetup = `#!/bin/bash
# kiwi: grow the root partition and filesystem on first boot.
check() { return 255; }
depends() { echo rootfs-block; return 0; }
install() {
    inst_multiple growpart sfdisk partx flock awk sed grep readlink lsblk findmnt basename cat mktemp rm dd udevadm
    inst_multiple -o resize2fs btrfs xfs_growfs sgdisk
    inst_hook pre-pivot 50 "$moddir/kiwi-resize.sh"
}
`

const resizeHook = `#!/bin/sh
# kiwi: grow the root partition to the end of the disk, then the
# filesystem mounted at $NEWROOT into it. dracut sources this file: it
# must return, never exit.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

kiwi_resize() {
    local dev name sys part disk out fstype
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
    out=$(LANG=C growpart "$disk" "$part" 2>&1)
    case "$out" in
        CHANGED*) info "kiwi-resize: $out" ;;
        NOCHANGE*) return 0 ;;
        *) warn "kiwi-resize: growpart $disk $part: $out"; return 0 ;;
    esac
    fstype=$(findmnt -n -o FSTYPE "$NEWROOT")
    case "$fstype" in
        ext2|ext3|ext4) out=$(resize2fs "$dev" 2>&1) ;;
        btrfs) out=$(btrfs filesystem resize max "$NEWROOT" 2>&1) ;;
        xfs) out=$(xfs_growfs "$NEWROOT" 2>&1) ;;
        *) warn "kiwi-resize: cannot grow $fstype"; return 0 ;;
    esac || warn "kiwi-resize: growing $fstype failed: $out"
    info "kiwi-resize: grew $fstype on $dev"
}
kiwi_resize
`

// MakeInitrd builds k's initrd with dracut inside root (no host-only
// detection: the image boots on other machines than this one).
func MakeInitrd(ctx context.Context, r runner.Runner, root string, k *Kernel, o InitrdOptions) error {
	mods := append([]string{}, o.Modules...)
	if o.Resize {
		dir := filepath.Join(root, "usr/lib/dracut/modules.d/95kiwi-resize")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "module-setup.sh"), []byte(resizeModuleSetup), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "kiwi-resize.sh"), []byte(resizeHook), 0o755); err != nil {
			return err
		}
		mods = append(mods, "kiwi-resize")
	}
	if o.Persistent != nil {
		m, err := installPersistentModule(root, *o.Persistent)
		if err != nil {
			return err
		}
		mods = append(mods, m)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/dracut")); err != nil {
		return fmt.Errorf("no dracut in the image: install the dracut package (and a kernel) in it")
	}
	args := []string{"--no-hostonly", "--no-hostonly-cmdline", "--force", "--reproducible", "--compress", initrdCompressor(root)}
	for _, m := range mods {
		args = append(args, "--add", m)
	}
	for _, m := range o.Omit {
		args = append(args, "--omit", m)
	}
	args = append(args, "/"+k.Initrd, k.Version)
	if _, err := chroot.Run(ctx, r, root, nil, "dracut", args...); err != nil {
		return fmt.Errorf("build initrd: %w", err)
	}
	return nil
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

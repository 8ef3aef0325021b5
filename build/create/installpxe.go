package create

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/result"
)

// pxeImageURL is the placeholder KIWI writes into the .append file: the
// boot server's admin replaces it with where the .xz is served.
const pxeImageURL = "http://example.com/image.xz"

// installPXE makes KIWI's PXE install archive from the raw disk:
// <base>.install.tar, a plain tar of what a boot server serves
// (installpxe="true"):
//
//   - <base>.xz: the raw disk, xz-compressed (the runtime config's xz
//     options);
//   - <base>.sha256: KIWI's checksum file of the raw disk, "<sha256>
//     <blocks> <blocksize>", which tells the installer the disk's size;
//   - <base>.initrd: the image's own initrd (KIWI's, for kexec);
//   - <base>.append: the kernel command line for the boot server:
//     rd.kiwi.install.pxe rd.kiwi.install.image=<URL>, then kernelcmdline;
//   - pxeboot.<base>.kernel (and the link <base>.kernel) and
//     pxeboot.<base>.initrd: the installer (boot.Install with Remote),
//     which fetches the .sha256 and streams the .xz onto the target disk;
//   - <base>.config.bootoptions: the installed system's command line.
//
// Everything is made in work; nothing is mounted.
func installPXE(ctx context.Context, o Options, t DiskType, kernel *boot.Kernel, src installSource, work, base, bootOptions string) (Result, error) {
	dir := filepath.Join(work, "pxe-install")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)

	blocks, blocksize := blockList(src.size)
	if err := os.WriteFile(filepath.Join(dir, base+".sha256"), fmt.Appendf(nil, "%s %d %d\n", src.sum, blocks, blocksize), 0o644); err != nil {
		return Result{}, err
	}
	// xz replaces its input: it gets a second link of the raw disk.
	o.Log.Info("install archive: compressing the disk image (xz)")
	if err := os.Link(src.path, filepath.Join(dir, base)); err != nil {
		return Result{}, err
	}
	if _, err := o.Run.Run(ctx, runner.Cmd{Name: "xz", Args: append(append([]string{"--force"}, result.XZOptions(o.XZOptions)...), "--", filepath.Join(dir, base))}); err != nil {
		return Result{}, fmt.Errorf("install archive: compress the disk image: %w", err)
	}
	// Options with --keep leave the link: it is no member.
	if err := os.Remove(filepath.Join(dir, base)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Result{}, err
	}

	cmdline := "rd.kiwi.install.pxe rd.kiwi.install.image=" + pxeImageURL
	if t.KernelCmdline != "" {
		cmdline += " " + t.KernelCmdline
	}
	for name, text := range map[string]string{base + ".append": cmdline, base + ".config.bootoptions": bootOptions} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text+"\n"), 0o644); err != nil {
			return Result{}, err
		}
	}
	if err := copyResult(filepath.Join(o.Root, kernel.Initrd), filepath.Join(dir, base+".initrd")); err != nil {
		return Result{}, err
	}
	if err := copyResult(filepath.Join(o.Root, kernel.Image), filepath.Join(dir, "pxeboot."+base+".kernel")); err != nil {
		return Result{}, err
	}
	if err := os.Symlink("pxeboot."+base+".kernel", filepath.Join(dir, base+".kernel")); err != nil {
		return Result{}, err
	}

	inst := &boot.Install{Remote: true, DeviceFilter: t.DeviceFilter, SkipVerify: t.SkipVerify, Shutdown: t.InstallShutdown}
	if err := makeInstallInitrd(ctx, o, kernel, inst, filepath.Join(dir, "pxeboot."+base+".initrd")); err != nil {
		return Result{}, err
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return Result{}, err
	}
	var members []string
	for _, e := range entries {
		members = append(members, e.Name())
	}
	slices.Sort(members)
	name := base + ".install.tar"
	o.Log.Info("writing the PXE install archive", "file", name)
	args := []string{"--owner=0", "--group=0", "--numeric-owner", "--format=gnu"}
	if o.Epoch != nil {
		args = append(args, "--mtime=@"+strconv.FormatInt(o.Epoch.Unix(), 10))
	}
	args = append(append(args, "-cf", filepath.Join(work, name), "-C", dir), members...)
	if _, err := o.Run.Run(ctx, runner.Cmd{Name: "tar", Args: args}); err != nil {
		return Result{}, fmt.Errorf("install archive: %w", err)
	}
	return Result{Key: "installation_pxe_archive", File: result.File{Filename: name, Shasum: true, Bundle: true}}, nil
}

// blockList splits size into KIWI's checksum file blocks: the block size
// is the product of size's prime factors, smallest first, while it stays
// within 8192 (kiwi.utils.checksum's _block_list); blocks is size divided
// by it.
func blockList(size int64) (blocks, blocksize int64) {
	if size <= 0 {
		return 0, 1
	}
	blocksize = 1
	for n, f := size, int64(2); n > 1; {
		if f*f > n {
			f = n // what is left is prime
		}
		if n%f != 0 {
			f++
			continue
		}
		if blocksize*f > 8192 {
			break
		}
		blocksize *= f
		n /= f
	}
	return size / blocksize, blocksize
}

package create

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"
)

// setupContainerRoot does to a root what KIWI's container setup does
// (kiwi/container/setup): a container is not booted, so the boot loader
// and root filesystem check of SUSE's sysconfig are turned off where the
// files exist, root may log in on /dev/console, and the systemd units
// that would manage devices, keyboards, swap and binfmt_misc are linked
// to /dev/null where the root has them. Like KIWI it changes the root
// itself; running it twice changes nothing more.
func setupContainerRoot(root string) error {
	if err := updateConfig(filepath.Join(root, "etc/sysconfig/bootloader"), false,
		[][2]string{{"LOADER_LOCATION", `LOADER_LOCATION="none"`}, {"LOADER_TYPE", `LOADER_TYPE="none"`}}); err != nil {
		return err
	}
	if err := updateConfig(filepath.Join(root, "etc/sysconfig/boot"), false,
		[][2]string{{"ROOTFS_BLKDEV", `ROOTFS_BLKDEV="/dev/null"`}}); err != nil {
		return err
	}
	if err := updateConfig(filepath.Join(root, "etc/securetty"), true, [][2]string{{"console", "console"}}); err != nil {
		return err
	}
	for _, unit := range []string{"device-mapper.service", "kbd.service", "swap.service", "udev.service", "proc-sys-fs-binfmt_misc.automount"} {
		p := filepath.Join(root, "usr/lib/systemd/system", unit)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("container setup: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if l, _ := os.Readlink(p); l == "/dev/null" {
				continue
			}
		}
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("container setup: mask %s: %w", unit, err)
		}
		if err := os.Symlink("/dev/null", p); err != nil {
			return fmt.Errorf("container setup: mask %s: %w", unit, err)
		}
	}
	return nil
}

// updateConfig sets lines of a shell-style config file as KIWI does:
// every line starting with a key is replaced by its line, a key no line
// starts with gets its line appended. A missing file is left alone
// unless create is set.
func updateConfig(file string, create bool, records [][2]string) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil
		}
		b, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("container setup: %w", err)
	}
	text := strings.TrimSuffix(string(b), "\n")
	var lines []string
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	for _, r := range records {
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, r[0]) {
				lines[i], found = r[1], true
			}
		}
		if !found {
			lines = append(lines, r[1])
		}
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("container setup: %w", err)
	}
	return nil
}

// readExcludeFile reads image/exclude_files.yaml of the root: KIWI's
// list of paths (key exclude) left out of the image.
func readExcludeFile(root string) ([]string, error) {
	file := filepath.Join(root, "image/exclude_files.yaml")
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Exclude []string `yaml:"exclude"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w (it holds exclude: followed by a list of paths)", file, err)
	}
	var out []string
	for _, p := range doc.Exclude {
		if p = strings.Trim(p, "/"); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

func mkfifo(p string) error {
	if err := unix.Mkfifo(p, 0o600); err != nil {
		return fmt.Errorf("make fifo %s: %w", p, err)
	}
	return nil
}

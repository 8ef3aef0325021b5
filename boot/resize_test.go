package boot

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fakeRoot makes a root tree in a temp dir from specs: "path" is an
// executable (empty, mode 0755), "path:644" a file that is not,
// "path -> target" a symlink, "path/" a directory.
func fakeRoot(t *testing.T, specs ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, spec := range specs {
		name, target, link := strings.Cut(spec, " -> ")
		mode := os.FileMode(0o755)
		if n, m, ok := strings.Cut(name, ":"); ok {
			v, err := strconv.ParseUint(m, 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			name, mode = n, os.FileMode(v)
		}
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case link:
			err = os.Symlink(target, p)
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, nil, mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// debianMerged is a merged-/usr root: /bin, /sbin and /lib are links.
var debianMerged = []string{"bin -> usr/bin", "sbin -> usr/sbin", "lib -> usr/lib", "usr/bin/", "usr/sbin/"}

func TestResizeToolsFindsWhatTheHookNeeds(t *testing.T) {
	for _, c := range []struct {
		name  string
		fs    string
		specs []string
	}{
		{"debian merged usr, ext4", "ext4", append([]string{"usr/sbin/sfdisk", "usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...)},
		{"growpart and sfdisk, btrfs", "btrfs", append([]string{"usr/bin/growpart", "usr/sbin/sfdisk", "usr/bin/partx", "usr/bin/btrfs"}, debianMerged...)},
		{"growpart with sgdisk", "xfs", append([]string{"usr/bin/growpart", "usr/sbin/sgdisk", "usr/bin/partx", "usr/sbin/xfs_growfs"}, debianMerged...)},
		// Only the link names the tool: /sbin/sfdisk is ../usr/sbin.
		{"tools only behind the links", "ext2", []string{
			"bin -> usr/lib/bin", "sbin -> usr/lib/sbin", "usr/lib/sbin/sfdisk", "usr/lib/bin/partx", "usr/lib/sbin/resize2fs"}},
		// Absolute links resolve in the root, as alternatives do.
		{"alternatives", "ext3", append([]string{
			"usr/sbin/sfdisk -> /etc/alternatives/sfdisk", "etc/alternatives/sfdisk -> /usr/lib/util-linux/sfdisk", "usr/lib/util-linux/sfdisk",
			"usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...)},
		// Split /usr with /usr/bin an absolute link to /bin.
		{"absolute directory link", "ext4", []string{"usr/bin -> /bin", "usr/sbin -> /sbin", "bin/partx", "sbin/sfdisk", "sbin/resize2fs"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := fakeRoot(t, c.specs...)
			if err := ResizeTools(root, c.fs); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestResizeToolsNamesWhatIsMissing(t *testing.T) {
	partTools := []string{"usr/sbin/sfdisk", "usr/bin/partx"}
	type tc struct {
		name  string
		fs    string
		specs []string
		want  []string // in the error
		not   []string // not in the error
	}
	cases := []tc{
		{"no growpart, no sfdisk", "ext4", append([]string{"usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...),
			[]string{"growpart or sfdisk", "cloud-guest-utils", "fdisk", "cloud-utils-growpart", "util-linux"}, []string{"partx", "resize2fs"}},
		{"growpart without sfdisk or sgdisk", "ext4", append([]string{"usr/bin/growpart", "usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...),
			[]string{"sfdisk, which growpart runs", "fdisk", "util-linux"}, []string{"resize2fs"}},
		{"no partx", "ext4", append([]string{"usr/sbin/sfdisk", "usr/sbin/resize2fs"}, debianMerged...),
			[]string{"partx (package util-linux)"}, []string{"growpart", "resize2fs"}},
		{"nothing", "xfs", debianMerged,
			[]string{"growpart or sfdisk", "partx (package util-linux)", "xfs_growfs (package xfsprogs)"}, nil},
		{"not executable", "ext4", append([]string{"usr/sbin/sfdisk:644", "usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...),
			[]string{"growpart or sfdisk"}, nil},
		{"a directory", "ext4", append([]string{"usr/sbin/sfdisk/", "usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...),
			[]string{"growpart or sfdisk"}, nil},
		// /bin/sh is on the host, not in the root: a link never reaches
		// the host, whether absolute or climbing with "..".
		{"absolute link to the host", "ext4", append([]string{"usr/sbin/sfdisk", "usr/bin/partx -> /bin/sh", "usr/sbin/resize2fs"}, debianMerged...),
			[]string{"partx"}, nil},
		{"relative link out of the root", "ext4", append([]string{"usr/sbin/sfdisk", "usr/bin/partx", "usr/sbin/resize2fs -> ../../../../../../../../bin/sh"}, debianMerged...),
			[]string{"resize2fs (package e2fsprogs)"}, nil},
		{"symlink loop", "ext4", append([]string{"usr/sbin/sfdisk -> sfdisk2", "usr/sbin/sfdisk2 -> sfdisk", "usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...),
			[]string{"growpart or sfdisk"}, nil},
	}
	// Each filesystem without its grow tool.
	for _, g := range []struct{ fs, tool, pkg string }{
		{"ext2", "resize2fs", "e2fsprogs"}, {"ext3", "resize2fs", "e2fsprogs"}, {"ext4", "resize2fs", "e2fsprogs"},
		{"btrfs", "btrfs", "btrfs-progs"}, {"xfs", "xfs_growfs", "xfsprogs"},
	} {
		// The other filesystems' tools are there: they do not count.
		others := []string{"usr/sbin/resize2fs", "usr/bin/btrfs", "usr/sbin/xfs_growfs"}
		var specs []string
		for _, o := range others {
			if filepath.Base(o) != g.tool {
				specs = append(specs, o)
			}
		}
		cases = append(cases, tc{"no " + g.tool + " for " + g.fs, g.fs, append(append(specs, partTools...), debianMerged...),
			[]string{g.tool + " (package " + g.pkg + ")", g.fs + " filesystem"}, []string{"partx", "growpart"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := fakeRoot(t, c.specs...)
			err := ResizeTools(root, c.fs)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range append(c.want, "<oem-resize>false</oem-resize>", "<oemconfig>") {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
			for _, n := range c.not {
				if strings.Contains(msg, n) {
					t.Errorf("error names %q, which is there: %s", n, msg)
				}
			}
		})
	}
}

func TestResizeToolsRefusesOtherFilesystems(t *testing.T) {
	root := fakeRoot(t, append([]string{"usr/sbin/sfdisk", "usr/bin/partx", "usr/sbin/resize2fs"}, debianMerged...)...)
	err := ResizeTools(root, "squashfs")
	if err == nil || !strings.Contains(err.Error(), "squashfs") || !strings.Contains(err.Error(), "<oem-resize>false</oem-resize>") {
		t.Fatalf("squashfs root: %v", err)
	}
}

func TestResizeToolsChangesNothing(t *testing.T) {
	root := fakeRoot(t, append([]string{"usr/bin/growpart", "usr/sbin/sfdisk -> /etc/alternatives/sfdisk", "usr/bin/partx"}, debianMerged...)...)
	snap := func() string {
		var b strings.Builder
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %v %d %v\n", p, fi.Mode(), fi.Size(), fi.ModTime())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	before := snap()
	if err := ResizeTools(root, "btrfs"); err == nil {
		t.Fatal("no error without sfdisk's target and btrfs")
	}
	if after := snap(); after != before {
		t.Fatalf("the root changed:\n%s\n%s", before, after)
	}
}

// The module installs every tool optionally: one the image lacks must
// not break dracut. The hook is sourced: it returns, never exits.
func TestResizeModuleScripts(t *testing.T) {
	for _, line := range strings.Split(resizeModuleSetup, "\n") {
		if strings.Contains(line, "inst_multiple") && !strings.Contains(line, "inst_multiple -o ") {
			t.Errorf("not optional: %s", line)
		}
	}
	for _, tool := range []string{"growpart", "sfdisk", "partx", "awk", "sed", "findmnt", "resize2fs", "btrfs", "xfs_growfs"} {
		if !regexp.MustCompile(`inst_multiple -o [^\n]*\b` + tool + `\b`).MatchString(resizeModuleSetup) {
			t.Errorf("module does not install %s", tool)
		}
	}
	if !strings.Contains(resizeHook, resizeFunctions) || !strings.HasSuffix(resizeHook, "\nkiwi_resize\n") {
		t.Error("the hook does not carry resizeFunctions and call kiwi_resize")
	}
	for _, line := range strings.Split(resizeHook, "\n") {
		if code, _, _ := strings.Cut(line, "#"); regexp.MustCompile(`\bexit\b`).MatchString(code) {
			t.Errorf("the hook exits: %s", line)
		}
	}
	for _, c := range []struct{ shell, script string }{{"sh", resizeHook}, {"bash", resizeHook}, {"bash", resizeModuleSetup}} {
		if _, err := exec.LookPath(c.shell); err != nil {
			continue
		}
		if out, err := exec.Command(c.shell, "-n", "-c", c.script).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", c.shell, err, out)
		}
	}
}

// growSfdisk runs the hook's kiwi_grow_sfdisk (its real text) with
// shell on partition nr of the image file img.
func growSfdisk(t *testing.T, shell, img string, nr int) (string, error) {
	t.Helper()
	script := resizeFunctions + "\nkiwi_grow_sfdisk \"$1\" \"$2\"\n"
	out, err := exec.Command(shell, "-c", script, "kiwi-resize", img, strconv.Itoa(nr)).CombinedOutput()
	return string(out), err
}

// sfdiskTable is what sfdisk --json says about a table.
type sfdiskTable struct {
	PartitionTable struct {
		Label      string `json:"label"`
		LastLBA    int64  `json:"lastlba"`
		SectorSize int64  `json:"sectorsize"`
		Partitions []struct {
			Node  string `json:"node"`
			Start int64  `json:"start"`
			Size  int64  `json:"size"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func readTable(t *testing.T, img string) sfdiskTable {
	t.Helper()
	out, err := exec.Command("sfdisk", "--json", img).Output()
	if err != nil {
		t.Fatalf("sfdisk --json: %v", err)
	}
	var tab sfdiskTable
	if err := json.Unmarshal(out, &tab); err != nil {
		t.Fatalf("sfdisk --json: %v\n%s", err, out)
	}
	return tab
}

const mib = 1 << 20

// partImage makes a sparse image file of size bytes with the sfdisk
// script layout, then grows the file to grown bytes, as qemu-img resize
// grows a disk.
func partImage(t *testing.T, size, grown int64, layout string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("sfdisk", "--quiet", img)
	c.Stdin = strings.NewReader(layout)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	if err := os.Truncate(img, grown); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestGrowSfdiskOnImageFiles(t *testing.T) {
	if _, err := exec.LookPath("sfdisk"); err != nil {
		t.Skip("no sfdisk")
	}
	var shells []string
	for _, sh := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(sh); err == nil {
			shells = append(shells, sh)
		}
	}
	// kiwi's layouts: ESP, a spare partition, the root last.
	const gpt = "label: gpt\n,20MiB,U\n,10MiB,L\n,,L\n"
	const dos = "label: dos\n,20MiB,ef\n,10MiB,83\n,,83\n"
	for _, shell := range shells {
		for _, c := range []struct{ label, layout string }{{"gpt", gpt}, {"dos", dos}} {
			t.Run(shell+"/"+c.label, func(t *testing.T) {
				img := partImage(t, 100*mib, 200*mib, c.layout)
				old := readTable(t, img).PartitionTable.Partitions[2]
				out, err := growSfdisk(t, shell, img, 3)
				if err != nil || !strings.HasPrefix(out, "CHANGED: partition=3 ") {
					t.Fatalf("grow: %v\n%s", err, out)
				}
				tab := readTable(t, img).PartitionTable
				total := 200 * mib / tab.SectorSize
				p := tab.Partitions[2]
				if p.Start != old.Start {
					t.Errorf("the root moved: start %d, was %d", p.Start, old.Start)
				}
				want := fmt.Sprintf("CHANGED: partition=3 start=%d old: size=%d end=%d new: size=%d end=%d\n",
					old.Start, old.Size, old.Start+old.Size-1, p.Size, p.Start+p.Size-1)
				if out != want {
					t.Errorf("output %q, want %q", out, want)
				}
				switch c.label {
				case "gpt":
					// The last usable sector is before the backup table
					// (32 sectors of entries) and header at the disk's end.
					if tab.LastLBA != total-34 || p.Start+p.Size-1 != tab.LastLBA {
						t.Errorf("root ends at %d, last usable sector %d, disk %d sectors", p.Start+p.Size-1, tab.LastLBA, total)
					}
					checkGPTHeaders(t, img, total)
				case "dos":
					if p.Start+p.Size != total {
						t.Errorf("root ends at %d, disk %d sectors", p.Start+p.Size-1, total)
					}
				}
				// sfdisk finds nothing wrong with the table.
				if out, err := exec.Command("sfdisk", "--verify", img).CombinedOutput(); err != nil || strings.Contains(string(out), "not on the end") {
					t.Errorf("sfdisk --verify: %v\n%s", err, out)
				}
				// Every later boot: no change, no error, nothing written.
				before, _ := os.ReadFile(img)
				out, err = growSfdisk(t, shell, img, 3)
				if err != nil || !strings.HasPrefix(out, "NOCHANGE: ") {
					t.Fatalf("second run: %v\n%s", err, out)
				}
				if after, _ := os.ReadFile(img); !bytes.Equal(before, after) {
					t.Error("the second run wrote to the disk")
				}
			})
		}
	}
}

// checkGPTHeaders checks that the primary header names the last sector
// as its backup's place and that the backup header is there.
func checkGPTHeaders(t *testing.T, img string, total int64) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdr := func(lba int64) []byte {
		b := make([]byte, 512)
		if _, err := f.ReadAt(b, lba*512); err != nil {
			t.Fatal(err)
		}
		return b
	}
	primary, backup := hdr(1), hdr(total-1)
	if string(primary[:8]) != "EFI PART" || string(backup[:8]) != "EFI PART" {
		t.Fatalf("GPT headers: primary %q, at the disk's end %q", primary[:8], backup[:8])
	}
	if alt := binary.LittleEndian.Uint64(primary[32:]); alt != uint64(total-1) {
		t.Errorf("primary header puts the backup at %d, the disk's last sector is %d", alt, total-1)
	}
	if my := binary.LittleEndian.Uint64(backup[24:]); my != uint64(total-1) {
		t.Errorf("backup header says it is at %d", my)
	}
}

// Nothing to gain: the root is not the last partition, the disk did not
// grow, or it grew by less than 1 MiB. Nothing is written.
func TestGrowSfdiskNoChange(t *testing.T) {
	if _, err := exec.LookPath("sfdisk"); err != nil {
		t.Skip("no sfdisk")
	}
	for _, c := range []struct {
		name        string
		size, grown int64
		layout      string
		nr          int
	}{
		{"gpt root before the spare", 100 * mib, 200 * mib, "label: gpt\n,20MiB,U\n,30MiB,L\n,,L\n", 2},
		{"dos root before the spare", 100 * mib, 200 * mib, "label: dos\n,20MiB,ef\n,30MiB,83\n,,83\n", 2},
		{"gpt same size", 100 * mib, 100 * mib, "label: gpt\n,20MiB,U\n,,L\n", 2},
		{"dos same size", 100 * mib, 100 * mib, "label: dos\n,20MiB,ef\n,,83\n", 2},
		// The root ends at the last usable sector (before 33 of GPT's).
		{"gpt half a MiB more", 100 * mib, 100*mib + mib/2, "label: gpt\n,20MiB,U\n43008,161759,L\n", 2},
		{"dos half a MiB more", 100 * mib, 100*mib + mib/2, "label: dos\n,20MiB,ef\n,,83\n", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := partImage(t, c.size, c.grown, c.layout)
			before, _ := os.ReadFile(img)
			out, err := growSfdisk(t, "sh", img, c.nr)
			if err != nil || !strings.HasPrefix(out, "NOCHANGE: ") {
				t.Fatalf("%v\n%s", err, out)
			}
			if after, _ := os.ReadFile(img); !bytes.Equal(before, after) {
				t.Error("wrote to the disk")
			}
		})
	}
	t.Run("no such partition", func(t *testing.T) {
		img := partImage(t, 100*mib, 200*mib, "label: gpt\n,20MiB,U\n,,L\n")
		out, err := growSfdisk(t, "sh", img, 3)
		if err == nil || !strings.HasPrefix(out, "FAILED: ") || !strings.Contains(out, "no partition 3") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
}

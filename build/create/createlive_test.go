package create

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/runner"
)

func TestLiveTypeOfReadsTheTypeAndDefaults(t *testing.T) {
	d, err, _ := load(t, desc(`    <preferences>
        <version>2.1.0</version>
        <packagemanager>apt</packagemanager>
        <type image="iso" volid="MYLIVE" publisher="ACME" squashfscompression="xz" kernelcmdline="quiet" mediacheck="true"
              hybridpersistent="true" hybridpersistent_filesystem="xfs">
            <bootloader name="grub2" console="serial" timeout="3"/>
        </type>
    </preferences>`), description.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lt, ok := LiveTypeOf(d)
	if !ok {
		t.Fatal("not a live type")
	}
	if lt.VolumeID != "MYLIVE" || lt.Publisher != "ACME" || lt.Compression != "xz" || lt.KernelCmdline != "quiet" ||
		!lt.MediaCheck || !lt.HybridPersistent || lt.HybridPersistentFS != "xfs" || lt.BootTimeout != 3 || lt.Console != "serial" ||
		lt.Name != "test" || lt.Version != "2.1.0" || lt.Arch != "x86_64" {
		t.Errorf("live type = %+v", lt)
	}
	if _, ok := KisTypeOf(d); ok {
		t.Error("an iso type read as kis")
	}
	def, err := LiveType{Name: "n"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if def.VolumeID != "CDROM" || def.Compression != "zstd" || def.Filesystem != "squashfs" || def.Version != "1.0.0" {
		t.Errorf("defaults = %+v", def)
	}
}

func TestLiveTypeChecks(t *testing.T) {
	for _, c := range []struct {
		t    LiveType
		want string
	}{
		{LiveType{Compression: "brotli"}, "squashfscompression"},
		{LiveType{VolumeID: strings.Repeat("V", 33)}, "at most 32"},
		{LiveType{VolumeID: "A B"}, "no spaces"},
		{LiveType{Filesystem: "ext4"}, "squashfs (default) or erofs"},
	} {
		if _, err := c.t.withDefaults(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.t, err, c.want)
		}
	}
}

func TestLiveCmdline(t *testing.T) {
	for _, c := range []struct {
		t    LiveType
		want string
	}{
		{LiveType{VolumeID: "CDROM"}, "root=live:CDLABEL=CDROM rd.live.image rd.live.overlay.overlayfs=1"},
		{LiveType{VolumeID: "X", KernelCmdline: "quiet", Console: "serial"},
			"root=live:CDLABEL=X rd.live.image rd.live.overlay.overlayfs=1 quiet console=tty0 console=ttyS0,115200"},
		{LiveType{VolumeID: "X", KernelCmdline: "console=ttyS1", Console: "serial"},
			"root=live:CDLABEL=X rd.live.image rd.live.overlay.overlayfs=1 console=ttyS1"},
	} {
		if got := liveCmdline(c.t); got != c.want {
			t.Errorf("liveCmdline(%+v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestKisNamesAppendAndArchive(t *testing.T) {
	n := kisNamesOf("img.x86_64-1.0", "6.1.0-9-amd64")
	if n.Root != "img.x86_64-1.0" || n.Kernel != "img.x86_64-1.0-6.1.0-9-amd64.kernel" || n.Initrd != "img.x86_64-1.0.initrd" ||
		n.Append != "img.x86_64-1.0.append" || n.Checksum != "img.x86_64-1.0.sha256" || n.Archive != "img.x86_64-1.0.tar.xz" {
		t.Errorf("names = %+v", n)
	}
	if got := kisAppend("1234", "rw quiet"); got != "root=UUID=1234 rw quiet" {
		t.Errorf("append = %q", got)
	}
	if got := kisAppend("", "quiet"); got != "quiet" {
		t.Errorf("append without UUID = %q", got)
	}
	args := strings.Join(kisArchiveArgs(n), " ")
	for _, want := range []string{"--sparse", "xz -T0", "-cf img.x86_64-1.0.tar.xz", "img.x86_64-1.0-6.1.0-9-amd64.kernel img.x86_64-1.0.initrd img.x86_64-1.0 img.x86_64-1.0.append img.x86_64-1.0.sha256"} {
		if !strings.Contains(args, want) {
			t.Errorf("tar args %q lack %q", args, want)
		}
	}
}

func TestKisTypeOf(t *testing.T) {
	for _, c := range []struct {
		attrs   string
		archive bool
	}{{``, true}, {` archive="true"`, true}, {` archive="false"`, false}} {
		d, err, _ := load(t, desc(`    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <type image="kis" filesystem="xfs" kernelcmdline="rw"`+c.attrs+`/>
    </preferences>`), description.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kt, ok := KisTypeOf(d)
		if !ok || kt.Filesystem != "xfs" || kt.KernelCmdline != "rw" || kt.Archive != c.archive {
			t.Errorf("%q: kis type = %+v", c.attrs, kt)
		}
	}
	def, err := KisType{}.withDefaults()
	if err != nil || def.Filesystem != "ext4" || def.Label != "ROOT" {
		t.Errorf("defaults = %+v, %v", def, err)
	}
	if _, err := (KisType{Filesystem: "fat"}).withDefaults(); err == nil {
		t.Error("a fat kis root was accepted")
	}
}

// A target dir given relative to the current dir (--target-dir out)
// packs as an absolute one does.
func TestPackKisInARelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := filepath.Join("out", ".work")
	n := kisNames{Archive: "a.tar.xz", Kernel: "k", Initrd: "i", Root: "r", Append: "a", Checksum: "s"}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{n.Kernel, n.Initrd, n.Root, n.Append, n.Checksum} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	epoch := time.Unix(1700000000, 0)
	if err := packKis(context.Background(), runner.Runner{}, dir, n, &epoch); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tar", "-tf", filepath.Join(dir, n.Archive)).CombinedOutput()
	if got := strings.Fields(string(out)); err != nil || strings.Join(got, " ") != "k i r a s" {
		t.Errorf("archive members = %q (%v), want k i r a s", out, err)
	}
}

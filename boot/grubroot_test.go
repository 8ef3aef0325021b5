package boot

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// tree writes files (path → content; "->target" makes a symlink) under a
// new root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(c), 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestGrubOfEachNaming: Debian's grub-* names and /boot/grub, the rpm
// family's grub2-* names and /boot/grub2, found per tool (symlinks
// resolved inside the root, never on the host).
func TestGrubOfEachNaming(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  Grub
	}{
		{"debian", map[string]string{
			"usr/sbin/grub-install": "x", "usr/sbin/grub-mkconfig": "x", "usr/sbin/grub-probe": "x", "usr/bin/grub-mkrelpath": "x",
		}, Grub{Dir: "grub", Mkconfig: "/usr/sbin/grub-mkconfig", Probe: []string{"/usr/sbin/grub-probe"}, Mkrelpath: []string{"/usr/bin/grub-mkrelpath"}}},
		{"opensuse", map[string]string{
			"usr/sbin/grub2-install": "x", "usr/sbin/grub2-mkconfig": "x", "usr/sbin/grub2-probe": "x", "usr/bin/grub2-mkrelpath": "x",
		}, Grub{Dir: "grub2", Mkconfig: "/usr/sbin/grub2-mkconfig", Probe: []string{"/usr/sbin/grub2-probe"}, Mkrelpath: []string{"/usr/bin/grub2-mkrelpath"}}},
		// Links of a merged /usr and absolute links name the root's files.
		{"links", map[string]string{
			"sbin": "->usr/sbin", "usr/sbin/grub2-install": "x", "usr/sbin/grub2-mkconfig": "->/usr/sbin/grub-mkconfig",
			"usr/sbin/grub-mkconfig": "x", "usr/sbin/grub-probe": "x", "usr/sbin/grub2-probe": "->grub-probe", "usr/bin/grub-mkrelpath": "x",
		}, Grub{Dir: "grub2", Mkconfig: "/usr/sbin/grub-mkconfig", Probe: []string{"/usr/sbin/grub-probe"}, Mkrelpath: []string{"/usr/bin/grub-mkrelpath"}}},
		{"none", map[string]string{"usr/sbin/grub2-mkconfig": "->/bin/sh"}, Grub{Dir: "grub"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := tree(t, c.files)
			got := GrubOf(root)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("GrubOf = %+v, want %+v", got, c.want)
			}
			if got.CanMkconfig() != (c.want.Mkconfig != "") {
				t.Errorf("CanMkconfig = %v", got.CanMkconfig())
			}
		})
	}
}

// TestGrubModuleDirOrder: /usr/share/grub2 (openSUSE) before
// /usr/lib/grub (Fedora, Debian), as KIWI looks.
func TestGrubModuleDirOrder(t *testing.T) {
	root := tree(t, map[string]string{"usr/lib/grub/i386-pc/kernel.img": "", "usr/share/grub2/i386-pc/kernel.img": ""})
	if d, err := grubModuleDir(root, "i386-pc"); err != nil || d != filepath.Join(root, "usr/share/grub2/i386-pc") {
		t.Errorf("grubModuleDir = %q, %v", d, err)
	}
	root = tree(t, map[string]string{"usr/lib/grub/x86_64-efi/kernel.img": ""})
	if d, err := grubModuleDir(root, "x86_64-efi"); err != nil || d != filepath.Join(root, "usr/lib/grub/x86_64-efi") {
		t.Errorf("grubModuleDir = %q, %v", d, err)
	}
}

// TestGrubDefaultsWhereMkconfigReadsThem: Debian's grub-mkconfig reads
// grub.d/kiwi.cfg; the others get /etc/default/grub edited in place, and
// a grub2-mkconfig that knows BLS gets it turned off.
func TestGrubDefaultsWhereMkconfigReadsThem(t *testing.T) {
	o := MkconfigOptions{Distributor: "Leap", Cmdline: "rw console=ttyS0", Timeout: 5}
	root := t.TempDir()
	if err := writeGrubDefaults(root, "for x in ${sysconfdir}/default/grub.d/*.cfg", o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/default/grub.d/kiwi.cfg"))
	if err != nil || !strings.Contains(string(b), "GRUB_CMDLINE_LINUX_DEFAULT='rw console=ttyS0'\n") || strings.Contains(string(b), "BLSCFG") {
		t.Errorf("kiwi.cfg %q, %v", b, err)
	}

	root = tree(t, map[string]string{"etc/default/grub": "# keep me\nGRUB_TIMEOUT=8\nGRUB_DISTRIBUTOR=\"$(sed 's, release .*$,,g' /etc/system-release)\"\nGRUB_ENABLE_BLSCFG=true\nGRUB_DEFAULT=saved\n"})
	if err := writeGrubDefaults(root, `if [ "x${GRUB_ENABLE_BLSCFG}" = "xtrue" ]`, o); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(root, "etc/default/grub"))
	want := "# keep me\nGRUB_TIMEOUT='5'\nGRUB_DISTRIBUTOR='Leap'\nGRUB_ENABLE_BLSCFG='false'\nGRUB_DEFAULT=saved\n" +
		"GRUB_CMDLINE_LINUX_DEFAULT='rw console=ttyS0'\nGRUB_CMDLINE_LINUX=''\nGRUB_TERMINAL_OUTPUT='console'\nGRUB_DISABLE_RECOVERY='true'\nGRUB_DISABLE_OS_PROBER='true'\n"
	if string(b) != want {
		t.Errorf("/etc/default/grub\n%s\nwant\n%s", b, want)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/default/grub.d")); err == nil {
		t.Error("grub.d written for a grub-mkconfig that does not read it")
	}
}

// debianSigned is a stand-in for Debian's signed grub: its prefix is a C
// string in the binary.
const debianSigned = "MZ\x00junk/EFI/\x00/EFI/debian\x00more/EFI/x y\x00"

// TestSignedChainEachDistribution: the shim, signed grub and MokManager
// of each distribution's paths, the names their shims load, and where the
// early grub.cfg goes.
func TestSignedChainEachDistribution(t *testing.T) {
	for _, c := range []struct {
		name    string
		files   map[string]string
		want    []efiFile
		vendors []string
	}{
		{"debian", map[string]string{
			"usr/lib/shim/shimx64.efi.signed": "shim", "usr/lib/shim/shimx64.efi": "unsigned", "usr/lib/shim/mmx64.efi.signed": "mm",
			"usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed": debianSigned,
		}, []efiFile{{"/usr/lib/shim/shimx64.efi.signed", "BOOTX64.EFI"}, {"/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "grubx64.efi"},
			{"/usr/lib/shim/mmx64.efi.signed", "mmx64.efi"}}, []string{"EFI/debian"}},
		{"opensuse", map[string]string{
			"usr/share/efi/x86_64/shim.efi": "shim", "usr/share/efi/x86_64/grub.efi": "grub", "usr/share/efi/x86_64/MokManager.efi": "mm",
			"usr/share/grub2/x86_64-efi/grub.efi": "unsigned",
		}, []efiFile{{"/usr/share/efi/x86_64/shim.efi", "BOOTX64.EFI"}, {"/usr/share/efi/x86_64/grub.efi", "grub.efi"},
			{"/usr/share/efi/x86_64/MokManager.efi", "MokManager.efi"}}, nil},
		{"fedora", map[string]string{
			"boot/efi/EFI/fedora/shimx64.efi": "shim", "boot/efi/EFI/fedora/grubx64.efi": "grub", "boot/efi/EFI/fedora/mmx64.efi": "mm",
			"boot/efi/EFI/BOOT/fbx64.efi": "fb",
		}, []efiFile{{"/boot/efi/EFI/fedora/shimx64.efi", "BOOTX64.EFI"}, {"/boot/efi/EFI/fedora/grubx64.efi", "grubx64.efi"},
			{"/boot/efi/EFI/fedora/mmx64.efi", "mmx64.efi"}}, []string{"EFI/fedora"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := tree(t, c.files)
			chain, err := signedChain(root)
			if err != nil || chain == nil {
				t.Fatalf("signedChain = %v, %v", chain, err)
			}
			if !reflect.DeepEqual(chain.files, c.want) || !reflect.DeepEqual(chain.vendorDirs, c.vendors) {
				t.Errorf("chain %+v, want files %+v vendors %v", chain, c.want, c.vendors)
			}
			// The ESP gets the root's /boot/efi, the chain in EFI/BOOT
			// and the early config next to grub and in each vendor dir.
			esp := t.TempDir()
			signed, err := FillESP(context.Background(), runner.Runner{}, root, esp, ESPOptions{SecureBoot: true, BootUUID: "u", GrubDir: "/boot/grub2"})
			if err != nil || !signed {
				t.Fatalf("FillESP = %v, %v", signed, err)
			}
			for _, f := range c.want {
				want, _ := os.ReadFile(filepath.Join(root, f.src))
				if got, err := os.ReadFile(filepath.Join(esp, "EFI/BOOT", f.name)); err != nil || string(got) != string(want) {
					t.Errorf("EFI/BOOT/%s = %q, %v", f.name, got, err)
				}
			}
			for _, d := range append([]string{"EFI/BOOT"}, c.vendors...) {
				if got, err := os.ReadFile(filepath.Join(esp, d, "grub.cfg")); err != nil || !strings.Contains(string(got), "configfile ($root)/boot/grub2/grub.cfg") {
					t.Errorf("%s/grub.cfg = %q, %v", d, got, err)
				}
			}
			if c.name == "fedora" {
				if _, err := os.Stat(filepath.Join(esp, "EFI/BOOT/fbx64.efi")); err != nil {
					t.Errorf("the root's /boot/efi was not copied: %v", err)
				}
			}
		})
	}
	if chain, err := signedChain(tree(t, map[string]string{"usr/share/efi/x86_64/shim.efi": "shim"})); chain != nil || err != nil {
		t.Errorf("a shim without signed grub: %+v, %v", chain, err)
	}
}

package description

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// desc builds a small valid description; body replaces the default
// preferences/packages part.
func desc(body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="test">
    <description type="system">
        <author>a</author>
        <contact>c</contact>
        <specification>s</specification>
    </description>
` + body + `
</image>
`
}

const basePrefs = `    <preferences>
        <version>1.0.0</version>
        <packagemanager>zypper</packagemanager>
        <type image="tbz"/>
    </preferences>
`

// writeDesc writes files (name -> content) into a new directory.
func writeDesc(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// load loads config.xml with content and returns the description, the
// error and the warnings.
func load(t *testing.T, content string, o LoadOptions) (*Description, error, []Problem) {
	t.Helper()
	dir := writeDesc(t, map[string]string{"config.xml": content})
	var warnings []Problem
	o.Warn = func(p Problem) { warnings = append(warnings, p) }
	if o.TargetArch == "" {
		o.TargetArch = "x86_64"
	}
	d, err := Load(dir, o)
	return d, err, warnings
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		errs []string // each must be in the error
	}{
		{"image type", desc(`<preferences><version>1.0.0</version><packagemanager>zypper</packagemanager><type image="vmdk"/></preferences>`),
			[]string{"config.xml:8", `<type image="vmdk">`, "must be one of", "oem"}},
		{"filesystem", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ntfs"/></preferences>`),
			[]string{`filesystem="ntfs"`, "ext4"}},
		{"firmware", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4" firmware="coreboot"/></preferences>`),
			[]string{`firmware="coreboot"`, "uefi"}},
		{"bootloader name", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4"><bootloader name="lilo"/></type></preferences>`),
			[]string{`<bootloader name="lilo">`, "grub2"}},
		{"packages type", desc(basePrefs + `<packages type="later"><package name="x"/></packages>`),
			[]string{`<packages type="later">`, "bootstrap"}},
		{"repository type", desc(basePrefs + `<repository type="yum"><source path="http://x"/></repository>`),
			[]string{`<repository type="yum">`, "rpm-md"}},
		{"version format", desc(`<preferences><version>1.0</version><type image="tbz"/></preferences>`),
			[]string{"config.xml:8", "Major.Minor.Release"}},
		{"user without password", desc(basePrefs + `<users><user name="root"/></users>`),
			[]string{"<user> needs the attribute password"}},
		{"user id", desc(basePrefs + `<users><user name="tux" password="x" id="tux"/></users>`),
			[]string{`<user id="tux">`, "non-negative integer"}},
		{"user pwdformat", desc(basePrefs + `<users><user name="tux" password="x" pwdformat="md5"/></users>`),
			[]string{`pwdformat="md5"`, "encrypted, plain"}},
		{"user groups", desc(basePrefs + `<users><user name="tux" password="x" groups="a b"/></users>`),
			[]string{`groups="a b"`}},
		{"duplicate type", desc(`<preferences><version>1.0.0</version><type image="tbz"/><type image="tbz"/></preferences>`),
			[]string{`<type image="tbz"> is defined twice`}},
		{"two primary", desc(`<preferences><version>1.0.0</version><type image="tbz" primary="true"/><type image="iso" primary="true"/></preferences>`),
			[]string{`more than one <type primary="true">`}},
		{"size unit", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4"><size unit="T">4</size></type></preferences>`),
			[]string{`<size unit="T">`, "G, M"}},
		{"size value", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4"><size>4G</size></type></preferences>`),
			[]string{"<size>4G</size>", "non-negative integer"}},
		{"size unpartitioned", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4"><size unpartitioned="8">4</size></type></preferences>`),
			[]string{"unpartitioned (8)"}},
		{"boolean", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4" installiso="yes"/></preferences>`),
			[]string{`installiso="yes"`, "true or false"}},
		{"attribute for other type", desc(`<preferences><version>1.0.0</version><type image="iso" format="qcow2"/></preferences>`),
			[]string{"format attribute is only available for the image types oem"}},
		{"oem without filesystem", desc(`<preferences><version>1.0.0</version><type image="oem"/></preferences>`),
			[]string{`<type image="oem"> needs the filesystem attribute`}},
		{"btrfs only", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4" btrfs_quota_groups="true"/></preferences>`),
			[]string{"btrfs_quota_groups attribute is only supported with filesystem=\"btrfs\""}},
		{"bootloader attribute", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4"><bootloader name="systemd_boot" serial_line="x"/></type></preferences>`),
			[]string{"serial_line attribute is only available for the bootloaders grub2"}},
		{"packagemanager", desc(`<preferences><version>1.0.0</version><packagemanager>yast</packagemanager><type image="tbz"/></preferences>`),
			[]string{"<packagemanager>yast</packagemanager>", "apt"}},
		{"missing description", `<image schemaversion="7.4" name="x"><preferences><version>1.0.0</version><type image="tbz"/></preferences></image>`,
			[]string{"config.xml:1", "<image> needs a <description> section"}},
		{"missing preferences", desc(``),
			[]string{"<image> needs a <preferences> section"}},
		{"image name", `<image schemaversion="7.4" name="a b"><description type="system"><author>a</author><contact>c</contact><specification>s</specification></description>` + basePrefs + `</image>`,
			[]string{`<image name="a b">`}},
		{"image without name", `<image schemaversion="7.4"><description type="system"><author>a</author><contact>c</contact><specification>s</specification></description>` + basePrefs + `</image>`,
			[]string{"<image> needs the attribute name"}},
		{"collectionModule outside bootstrap", desc(basePrefs + `<packages type="image"><collectionModule name="m" enable="true"/></packages>`),
			[]string{"only available in the bootstrap packages section"}},
		{"repository without source", desc(basePrefs + `<repository type="rpm-md"/>`),
			[]string{"<repository> needs a <source> section"}},
		{"package without name", desc(basePrefs + `<packages type="image"><package/></packages>`),
			[]string{"<package> needs the attribute name"}},
		{"reserved partition", desc(`<preferences><version>1.0.0</version><type image="oem" filesystem="ext4"><partitions><partition name="swap" size="1G"/></partitions></type></preferences>`),
			[]string{`<partition name="swap">`, "reserved"}},
		{"requires unknown profile", desc(`<profiles><profile name="a" description="a"><requires profile="b"/></profile></profiles>` + basePrefs),
			[]string{`profile "a" requires the undefined profile "b"`}},
		{"malformed XML", "<image schemaversion=\"7.4\" name=\"x\">\n<description>\n</image>\n",
			[]string{"config.xml:3", "malformed XML"}},
		{"not an image", `<foo/>`, []string{"config.xml:1", "root element is <foo>"}},
		{"no schemaversion", `<image name="x"/>`, []string{"config.xml:1", "no schemaversion"}},
		{"too old schemaversion", `<image schemaversion="4.9" name="x"/>`, []string{"config.xml:1", "schemaversion 4.9", "older than 5.0", "xsltproc"}},
		{"no version", desc(`<preferences><type image="tbz"/></preferences>`), []string{"no <version>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err, _ := load(t, tt.xml, LoadOptions{})
			if err == nil {
				t.Fatalf("loaded; want an error with %q", tt.errs)
			}
			for _, s := range tt.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "config.xml") && !strings.Contains(err.Error(), "config.xml:") &&
				!strings.Contains(tt.name, "version") {
				t.Errorf("error %q has no line", err)
			}
		})
	}
}

func TestValidationCollectsAllProblems(t *testing.T) {
	_, err, _ := load(t, desc(`<preferences><version>1</version><type image="oem" filesystem="ntfs" firmware="x"/></preferences>`), LoadOptions{})
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("error %v is not an *InvalidError", err)
	}
	if len(inv.Problems) != 3 {
		t.Errorf("%d problems; want 3: %v", len(inv.Problems), err)
	}
	for _, line := range strings.Split(err.Error(), "\n")[1:] {
		if !strings.Contains(line, "config.xml:8: ") {
			t.Errorf("line %q has no file:line", line)
		}
	}
}

func TestUnknownElementsAndAttributesWarn(t *testing.T) {
	d, err, warnings := load(t, desc(`<preferences><version>1.0.0</version><packagemanager>zypper</packagemanager>
        <type image="tbz" shiny="yes"/>
        <frobnicate/>
    </preferences>
    <gadget><inner/></gadget>
    <packages type="image"><package name="a" colour="red"/><preferences/></packages>`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Type.Image != "tbz" || d.Type.Attr["shiny"] != "yes" {
		t.Errorf("type %+v", d.Type)
	}
	want := []string{
		"config.xml:9: unknown attribute shiny of <type> ignored",
		"config.xml:10: unknown element <frobnicate> ignored",
		"config.xml:12: unknown element <gadget> ignored",
		"config.xml:13: unknown attribute colour of <package> ignored",
		"config.xml:13: element <preferences> is not expected inside <packages>; ignored",
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.HasSuffix(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning %q in %q", w, got)
		}
	}
}

func TestProfileSelection(t *testing.T) {
	x := desc(`<profiles>
        <profile name="base" description="b"/>
        <profile name="def" description="d" import="true"/>
        <profile name="disk" description="k"><requires profile="base"/><requires profile="armonly" arch="aarch64"/></profile>
        <profile name="armonly" description="a" arch="aarch64"/>
    </profiles>
    <preferences><version>1.0.0</version><packagemanager>zypper</packagemanager></preferences>
    <preferences profiles="def"><type image="tbz"/></preferences>
    <preferences profiles="disk"><type image="oem" filesystem="ext4"/><type image="iso" primary="true"/></preferences>
    <preferences profiles="base"><type image="kis"/></preferences>
    <preferences profiles="armonly"><type image="docker"/></preferences>
    <packages type="image" profiles="base,def"><package name="for-base-or-def"/></packages>
    <packages type="image"><package name="always"/><package name="armpkg" arch="aarch64"/></packages>
    <packages type="oem"><package name="oem-only"/></packages>
    <packages type="iso"><package name="iso-only"/></packages>
    <repository profiles="disk"><source path="http://disk"/></repository>
    <repository arch="aarch64"><source path="http://arm"/></repository>`)
	tests := []struct {
		profiles []string
		typ      string
		arch     string
		want     []string
		image    string
		pkgs     []string
		repos    int
		err      string
	}{
		{want: []string{"def"}, image: "tbz", pkgs: []string{"for-base-or-def", "always"}},
		{profiles: []string{"disk"}, want: []string{"disk", "base"}, image: "iso", pkgs: []string{"for-base-or-def", "always"}, repos: 1},
		{profiles: []string{"disk"}, typ: "oem", want: []string{"disk", "base"}, image: "oem", pkgs: []string{"for-base-or-def", "always"}, repos: 1},
		{profiles: []string{"disk"}, arch: "aarch64", want: []string{"disk", "base", "armonly"}, image: "iso", pkgs: []string{"for-base-or-def", "always", "armpkg"}, repos: 2},
		{profiles: []string{"base"}, want: []string{"base"}, image: "kis"},
		{profiles: []string{"nope"}, err: `profile "nope" not found; known profiles: base, def, disk`},
		{profiles: []string{"armonly"}, err: `profile "armonly" is not available for arch x86_64`},
		{profiles: []string{"disk"}, typ: "vmx", err: `build type "vmx" not found for profiles [disk,base] on x86_64; available types: oem, iso, kis`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.profiles, ",")+"/"+tt.typ+"/"+tt.arch, func(t *testing.T) {
			d, err, _ := load(t, x, LoadOptions{Profiles: tt.profiles, Type: tt.typ, TargetArch: tt.arch})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.Profiles, tt.want) || d.Type.Image != tt.image {
				t.Errorf("profiles %q type %q; want %q %q", d.Profiles, d.Type.Image, tt.want, tt.image)
			}
			if tt.pkgs != nil && !slices.Equal(d.Packages["image"].Names(), tt.pkgs) {
				t.Errorf("image packages %q; want %q", d.Packages["image"].Names(), tt.pkgs)
			}
			if len(d.Repositories) != tt.repos {
				t.Errorf("%d repositories; want %d", len(d.Repositories), tt.repos)
			}
			// Type-specific packages apply only to their type.
			for _, typ := range []string{"oem", "iso"} {
				if (d.Packages[typ] != nil) != (typ == d.Type.Image) {
					t.Errorf("packages type=%s applied: %v with type %s", typ, d.Packages[typ] != nil, d.Type.Image)
				}
			}
		})
	}
}

func TestNoTypeIsAnError(t *testing.T) {
	_, err, _ := load(t, desc(`<preferences><version>1.0.0</version></preferences>`), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "no build type") {
		t.Fatalf("error %v", err)
	}
}

func TestPreferencesFirstValueWins(t *testing.T) {
	d, err, warnings := load(t, desc(`<preferences><locale>de_DE</locale><type image="tbz"/></preferences>
    <preferences><version>2.0.0</version><locale>en_US</locale><timezone>UTC</timezone><rpm-check-signatures>true</rpm-check-signatures></preferences>
    <preferences><version>3.0.0</version><timezone>Europe/Berlin</timezone></preferences>`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := d.Preferences
	if d.Version != "2.0.0" || !slices.Equal(p.Locale, []string{"de_DE"}) || p.Timezone != "UTC" || !p.RPMCheckSignatures {
		t.Errorf("version %q preferences %+v", d.Version, p)
	}
	// No packagemanager: KIWI's default, with a warning.
	if p.PackageManager != "zypper" || len(warnings) != 1 || !strings.Contains(warnings[0].Msg, "packagemanager") {
		t.Errorf("packagemanager %q warnings %v", p.PackageManager, warnings)
	}
}

func TestSchemaUpgrades(t *testing.T) {
	d, err, warnings := load(t, desc(`<preferences><version>1.0.0</version><packagemanager>dnf</packagemanager>
        <type image="oem" filesystem="btrfs" btrfs_root_is_snapshot="true" vga="0x318"><bootloader name="grub2" console="gfxterm serial"/></type></preferences>
    <repository type="rpm-dir" use_for_bootstrap="true"><source path="dir:///repo"/></repository>`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %v", warnings)
	}
	if d.Preferences.PackageManager != "dnf4" {
		t.Errorf("packagemanager %q", d.Preferences.PackageManager)
	}
	if d.Type.Attr["btrfs_root_is_snapper_snapshot"] != "true" || d.Type.IsSet("vga") || d.Type.IsSet("btrfs_root_is_snapshot") {
		t.Errorf("type attributes %v", d.Type.Attr)
	}
	if bl := d.Type.Bootloader; bl.Console != "gfxterm" || bl.InputConsole != "serial" {
		t.Errorf("bootloader %+v", bl)
	}
	if r := d.Repositories[0]; r.Type != "" || r.Attr["use_for_bootstrap"] != "" {
		t.Errorf("repository %+v", r)
	}
}

func TestTypeFields(t *testing.T) {
	d, err, _ := load(t, desc(`<preferences><version>1.0.0</version><packagemanager>apt</packagemanager>
        <type image="oem" filesystem="xfs" firmware="uefi" efipartsize="64" efiparttable="msdos" bootpartition="true" bootpartsize="300"
              bootfilesystem="ext4" rootfs_label="SYS" devicepersistency="by-label" fscreateoptions="-K" fsmountoptions="noatime"
              force_mbr="true" format="qcow2" formatoptions="a=1,b=2" spare_part="2G" spare_part_fs="ext4" kernelcmdline="quiet">
            <bootloader name="grub2" timeout="0" serial_line="serial --unit=0"/>
            <size unit="G" additive="true">2</size>
            <oemconfig><oem-resize>false</oem-resize><oem-swap>true</oem-swap><oem-swapsize>512</oem-swapsize></oemconfig>
            <systemdisk name="vg"><volume name="home" size="1G"/><volume name="arm" arch="aarch64"/></systemdisk>
            <machine memory="512"/>
        </type></preferences>`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ty := d.Type
	if ty.Filesystem != "xfs" || ty.Firmware != "uefi" || ty.EFIPartSize != 64 || ty.EFIPartTable != "msdos" || !ty.BootPartition ||
		ty.BootPartSize != 300 || ty.BootFilesystem != "ext4" || ty.RootFSLabel != "SYS" || ty.DevicePersistency != "by-label" ||
		ty.FSCreateOptions != "-K" || ty.FSMountOptions != "noatime" || !ty.ForceMBR || ty.Format != "qcow2" ||
		!slices.Equal(ty.FormatOptions, []string{"a=1", "b=2"}) || ty.SparePart != 2048 || ty.KernelCmdline != "quiet" {
		t.Errorf("type %+v", ty)
	}
	if *ty.Bootloader.Timeout != 0 || ty.Bootloader.SerialLine != "serial --unit=0" {
		t.Errorf("bootloader %+v", ty.Bootloader)
	}
	if ty.Size.Bytes() != 2<<30 || !ty.Size.Additive {
		t.Errorf("size %+v", ty.Size)
	}
	if ty.OEMConfig.Resize || !ty.OEMConfig.Swap || ty.OEMConfig.SwapSize != 512 {
		t.Errorf("oemconfig %+v", ty.OEMConfig)
	}
	if ty.SystemDisk.Name != "vg" || len(ty.SystemDisk.Volumes) != 1 || ty.SystemDisk.Volumes[0].Size != "1G" {
		t.Errorf("systemdisk %+v", ty.SystemDisk)
	}
	if len(ty.Children) != 5 || ty.Children[4].Name != "machine" || ty.Children[4].Attr["memory"] != "512" {
		t.Errorf("children %+v", ty.Children)
	}
}

func TestFindDescription(t *testing.T) {
	tests := []struct {
		files    []string
		kiwiFile string
		want     string
		err      string
	}{
		{files: []string{"config.xml", "image/config.xml", "a.kiwi"}, want: "config.xml"},
		{files: []string{"image/config.xml", "a.kiwi"}, want: "image/config.xml"},
		{files: []string{"b.kiwi", "a.kiwi"}, want: "a.kiwi"},
		{files: []string{"config.xml", "other.xml"}, kiwiFile: "other.xml", want: "other.xml"},
		{files: []string{"config.xml"}, kiwiFile: "missing.xml", err: "missing.xml not found"},
		{files: []string{"README"}, err: "no description found in"},
	}
	for _, tt := range tests {
		files := map[string]string{}
		for _, f := range tt.files {
			files[f] = "x"
		}
		dir := writeDesc(t, files)
		got, err := FindDescription(dir, tt.kiwiFile)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), dir) {
				t.Errorf("%v: error %v; want %q naming %s", tt.files, err, tt.err, dir)
			}
			continue
		}
		if err != nil || got != filepath.Join(dir, tt.want) {
			t.Errorf("%v: got %q, %v; want %q", tt.files, got, err, tt.want)
		}
	}
}

func TestIncludes(t *testing.T) {
	d, err := Load("testdata/include", LoadOptions{TargetArch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Repositories) != 1 || d.Repositories[0].Source != "http://example.com" || !strings.HasSuffix(d.Repositories[0].Pos.File, "include.xml") {
		t.Errorf("repositories %+v", d.Repositories)
	}
	if got := d.Packages["image"].Names(); !slices.Equal(got, []string{"included-package"}) {
		t.Errorf("image packages %q", got)
	}
	xml := string(d.XML())
	if strings.Contains(xml, "<include") || !strings.Contains(xml, `<source path="http://example.com"/>`) {
		t.Errorf("processed XML:\n%s", xml)
	}
	// The printed XML is itself a description that loads the same way.
	dir := writeDesc(t, map[string]string{"config.xml": xml})
	d2, err := Load(dir, LoadOptions{TargetArch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Name != d.Name || len(d2.Repositories) != 1 || d2.Type.Image != "tbz" {
		t.Errorf("reloaded %+v", d2)
	}

	abs := writeDesc(t, map[string]string{"inc.xml": `<image><users><user name="u" password="p"/></users></image>`})
	tests := []struct {
		name  string
		files map[string]string
		err   string
	}{
		{"file:// absolute", map[string]string{"config.xml": desc(basePrefs + `<include from="file://` + abs + `/inc.xml"/>`)}, ""},
		{"plain relative", map[string]string{"config.xml": desc(basePrefs + `<include from="sub/inc.xml"/>`), "sub/inc.xml": `<image><users><user name="u" password="p"/></users></image>`}, ""},
		{"missing", map[string]string{"config.xml": desc(basePrefs + `<include from="this://nope.xml"/>`)}, `config.xml:13: include "this://nope.xml": file `},
		{"nested", map[string]string{"config.xml": desc(basePrefs + `<include from="this://a.xml"/>`), "a.xml": "<image>\n<include from=\"this://b.xml\"/>\n</image>"},
			`a.xml:2: <include> inside an included file is not supported (included from `},
		{"escape", map[string]string{"config.xml": desc(basePrefs + `<include from="this://../outside.xml"/>`)}, "leaves the description directory"},
		{"not image", map[string]string{"config.xml": desc(basePrefs + `<include from="this://a.xml"/>`), "a.xml": "<users/>"}, "must be inside an <image> root element"},
		{"device", map[string]string{"config.xml": desc(basePrefs + `<include from="/dev/zero"/>`)}, "not a regular file"},
		{"other scheme", map[string]string{"config.xml": desc(basePrefs + `<include from="https://example.com/x.xml"/>`)}, "only this://, file:// and plain paths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Load(writeDesc(t, tt.files), LoadOptions{TargetArch: "x86_64"})
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Users) != 1 {
					t.Errorf("users %+v", d.Users)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v; want %q", err, tt.err)
			}
		})
	}
}

func TestSymlinkEscapeRefused(t *testing.T) {
	outside := writeDesc(t, map[string]string{"x.xml": `<image/>`})
	dir := writeDesc(t, map[string]string{"config.xml": desc(basePrefs + `<include from="this://link/x.xml"/>`)})
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, LoadOptions{TargetArch: "x86_64"})
	if err == nil || !strings.Contains(err.Error(), "through a symlink") {
		t.Errorf("error %v", err)
	}
}

func TestSourceProfilesAndXML(t *testing.T) {
	dir := writeDesc(t, map[string]string{"config.xml": desc(`<!-- c -->
    <profiles><profile name="a" description="A &amp; more" import="true"/><profile name="b" description="B" arch="s390x"><requires profile="a"/></profile></profiles>` + basePrefs)})
	src, err := Open(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := src.Profiles()
	if len(ps) != 2 || ps[0].Description != "A & more" || !ps[0].Import || !slices.Equal(ps[1].Arch, []string{"s390x"}) || !slices.Equal(ps[1].Requires, []string{"a"}) {
		t.Errorf("profiles %+v", ps)
	}
	xml := string(src.XML())
	for _, s := range []string{`<!-- c -->`, `description="A &amp; more"`, "    <preferences>\n        <version>1.0.0</version>"} {
		if !strings.Contains(xml, s) {
			t.Errorf("XML has no %q:\n%s", s, xml)
		}
	}
}

func TestReadHeadStillWorks(t *testing.T) {
	dir := writeDesc(t, map[string]string{"config.xml": desc(basePrefs)})
	h, err := ReadHead(filepath.Join(dir, "config.xml"))
	if err != nil || h.Name != "test" || h.Author != "a" || h.Version != "1.0.0" {
		t.Errorf("head %+v, %v", h, err)
	}
}

package prepare

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
)

const profileConfig = `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.4" name="leap-vm" displayname="Leap 'VM' $HOME">
    <description type="system"><author>a</author><contact>c</contact><specification>s</specification></description>
    <profiles><profile name="A" description="a"/><profile name="B" description="b"/></profiles>
    <preferences>
        <version>2.5.1</version>
        <packagemanager>zypper</packagemanager>
        <locale>en_US,de_DE</locale>
        <keytable>de</keytable>
        <timezone>UTC</timezone>
        <bootsplash-theme>breeze</bootsplash-theme>
        <bootloader-theme>openSUSE</bootloader-theme>
        <showlicense>eula</showlicense>
        <type image="oem" filesystem="ext4" firmware="uefi" kernelcmdline="console=ttyS0 quiet" devicepersistency="by-uuid"
              initrd_system="dracut" target_blocksize="4096" fsmountoptions="noatime">
            <bootloader name="grub2" output_console="serial" timeout="3"/>
            <oemconfig><oem-resize>false</oem-resize><oem-swapsize>512</oem-swapsize><oem-unattended>true</oem-unattended>
                <oem-device-filter>/dev/ram</oem-device-filter></oemconfig>
        </type>
    </preferences>
    <drivers><file name="drivers/net/*"/><file name="virtio.*"/></drivers>
    <strip type="delete"><file name="/usr/lib/sysimage/rpm"/></strip>
    <strip type="tools"><file name="bash"/><file name="ls"/></strip>
    <strip type="libs"><file name="libc"/></strip>
    <repository type="rpm-md"><source path="http://127.0.0.1/leap"/></repository>
    <packages type="image"><package name="kernel-default"/></packages>
    <packages type="bootstrap"><package name="zypper"/></packages>
    <packages type="delete"><package name="zz-docs"/><package name="aa-man"/><package name="zz-docs"/></packages>
</image>
`

// TestProfileVariables: .profile holds KIWI's variables by KIWI's names
// and values, and bash reads every value back literally.
func TestProfileVariables(t *testing.T) {
	s := setup{d: profileDescription(t), root: t.TempDir(), revision: "1.0"}
	want := map[string]string{
		"kiwi_iname": "leap-vm", "kiwi_displayname": `Leap 'VM' $HOME`, "kiwi_iversion": "2.5.1",
		"kiwi_profiles": "A,B", "kiwi_delete": "aa-man zz-docs", "kiwi_drivers": "drivers/net/*,virtio.*",
		"kiwi_strip_delete": "/usr/lib/sysimage/rpm", "kiwi_strip_tools": "bash ls", "kiwi_strip_libs": "libc",
		"kiwi_type": "oem", "kiwi_firmware": "uefi", "kiwi_cmdline": "console=ttyS0 quiet",
		"kiwi_devicepersistency": "by-uuid", "kiwi_initrd_system": "dracut", "kiwi_compressed": "",
		"kiwi_target_blocksize": "4096", "kiwi_fsmountoptions": "noatime", "kiwi_ramonly": "",
		"kiwi_bootloader": "grub2", "kiwi_boot_timeout": "3", "kiwi_bootloader_console": "serial:serial",
		"kiwi_vga": "auto", "kiwi_startsector": "2048", "kiwi_align": "1048576", "kiwi_sectorsize": "512",
		"kiwi_revision": "1.0", "kiwi_shasum_suffix": ".sha256", "kiwi_luks_empty_passphrase": "false",
		"kiwi_install_volid": "INSTALL", "kiwi_keytable": "de", "kiwi_timezone": "UTC", "kiwi_language": "en_US,de_DE",
		"kiwi_splash_theme": "breeze", "kiwi_loader_theme": "openSUSE", "kiwi_showlicense": "eula",
		"kiwi_oemswapMB": "512", "kiwi_oemunattended": "true", "kiwi_oemdevicefilter": "/dev/ram", "kiwi_oemrootMB": "",
		"kiwi_rootpartuuid": "",
	}
	got := map[string]string{}
	var names []string
	for _, v := range s.profileVars() {
		got[v[0]] = v[1]
		names = append(names, v[0])
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %q (set %v), want %q", k, g, ok, w)
		}
	}
	for _, k := range []string{"kiwi_live_volid", "kiwi_cpio_name", "kiwi_xendomain"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s written for an oem type", k)
		}
	}
	if !slicesSorted(names) {
		t.Errorf("not sorted as KIWI writes them: %v", names)
	}
	if err := os.Mkdir(filepath.Join(s.root, "image"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.writeProfile(); err != nil {
		t.Fatal(err)
	}
	// Sourced by bash, every value comes back as it was.
	var script strings.Builder
	script.WriteString(". \"$1\"\n")
	for _, k := range names {
		script.WriteString("printf '%s=%s\\0' " + k + " \"$" + k + "\"\n")
	}
	out, err := exec.Command("bash", "-c", script.String(), "bash", filepath.Join(s.root, ".profile")).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		if v != got[k] {
			t.Errorf("bash reads %s as %q, want %q", k, v, got[k])
		}
	}
}

// profileDescription is profileConfig loaded with both profiles.
func profileDescription(t *testing.T) *description.Description {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(profileConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := description.Load(dir, description.LoadOptions{Profiles: []string{"A", "B"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func slicesSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

// TestProfileVariablesDocumented: docs/scripts.md lists every variable
// .profile gets, and nothing else.
func TestProfileVariablesDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "scripts.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(kiwi_[A-Za-z_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = true
	}
	d := profileDescription(t)
	// Written for other types only.
	written := map[string]bool{"kiwi_cpio_name": true, "kiwi_live_volid": true, "kiwi_xendomain": true}
	for _, v := range (setup{d: d}).profileVars() {
		written[v[0]] = true
	}
	for k := range written {
		if !documented[k] {
			t.Errorf("%s is not in docs/scripts.md's table", k)
		}
	}
	for k := range documented {
		if !written[k] {
			t.Errorf("docs/scripts.md lists %s, which .profile does not get", k)
		}
	}
}

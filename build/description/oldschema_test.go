package description

import (
	"strings"
	"testing"
)

// leapVM is the seeds' stackbuild example (KIWI 9.24's plugin docs),
// schema 6.8, with its repository pointing at a directory.
const leapVM = `<?xml version="1.0" encoding="utf-8"?>

<image schemaversion="6.8" name="Leap-VM">
    <description type="system">
        <author>The Author</author>
        <contact>author@example.com</contact>
        <specification>
            Leap Container as VM
        </specification>
    </description>
    <preferences>
        <type image="oem" filesystem="xfs" firmware="uefi">
            <oemconfig>
                <oem-resize>false</oem-resize>
            </oemconfig>
        </type>
        <version>1.99.1</version>
        <packagemanager>zypper</packagemanager>
        <locale>en_US</locale>
        <keytable>us</keytable>
        <timezone>UTC</timezone>
    </preferences>
    <repository type="rpm-md" alias="Leap_15_3">
        <source path="dir:///srv/leap"/>
    </repository>
    <packages type="image">
        <package name="grub2"/>
        <package name="grub2-x86_64-efi" arch="x86_64"/>
        <package name="grub2-i386-pc"/>
        <package name="shim"/>
        <package name="kernel-default"/>
    </packages>
    <users>
        <user password="$1$wYJUgpM5$RXMMeASDc035eX.NbYWFl0" home="/root" name="root" groups="root"/>
    </users>
</image>
`

// TestSchema68LoadsUpgraded: the 6.8 example loads as KIWI 9.24 loads it:
// nothing in it changed between 6.8 and 7.4 but the schema version, and
// what the description says stays.
func TestSchema68LoadsUpgraded(t *testing.T) {
	d, err := Load(writeDesc(t, map[string]string{"config.kiwi": leapVM}), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.SchemaVersion != "6.8" || d.Name != "Leap-VM" || d.Type.Image != "oem" || d.Type.Filesystem != "xfs" || d.Type.Firmware != "uefi" {
		t.Errorf("loaded %s %s %s %s %s", d.SchemaVersion, d.Name, d.Type.Image, d.Type.Filesystem, d.Type.Firmware)
	}
	if d.Preferences.PackageManager != "zypper" || len(d.Repositories) != 1 || d.Repositories[0].Alias != "Leap_15_3" {
		t.Errorf("preferences %+v repositories %+v", d.Preferences, d.Repositories)
	}
	if got := strings.Join(d.PackageNames("image"), " "); got != "grub2 grub2-x86_64-efi grub2-i386-pc shim kernel-default" {
		t.Errorf("image packages %q", got)
	}
	xml := string(d.Source().XML())
	for _, want := range []string{`schemaversion="7.4"`, `<oem-resize>false</oem-resize>`, `alias="Leap_15_3"`} {
		if !strings.Contains(xml, want) {
			t.Errorf("the upgraded description lacks %s:\n%s", want, xml)
		}
	}
	if strings.Contains(xml, `schemaversion="6.8"`) {
		t.Errorf("the printed description keeps the old schemaversion:\n%s", xml)
	}
}

// TestOldSteps checks single conversions of KIWI's stylesheets.
func TestOldSteps(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []string
		gone     []string
	}{
		{"vmx becomes oem without resize", `<image schemaversion="7.2" name="x"><preferences><type image="vmx" filesystem="ext4"/></preferences></image>`,
			[]string{`<type image="oem" filesystem="ext4">`, `<oemconfig>`, `<oem-resize>false</oem-resize>`}, []string{"vmx"}},
		{"bootloader attributes", `<image schemaversion="7.1" name="x"><preferences><type image="oem" bootloader="grub2" boottimeout="3" bootloader_console="serial"/></preferences></image>`,
			[]string{`<bootloader name="grub2" console="serial" timeout="3"/>`}, []string{"boottimeout", "bootloader_console"}},
		{"yum is dnf", `<image schemaversion="7.3" name="x"><preferences><packagemanager>yum</packagemanager></preferences></image>`,
			[]string{`<packagemanager>dnf</packagemanager>`}, nil},
		{"users group", `<image schemaversion="6.3" name="x"><users group="wheel"><user name="a"/></users></image>`,
			[]string{`<user name="a" groups="wheel"/>`}, []string{`group="wheel"`}},
		{"container attribute", `<image schemaversion="6.4" name="x"><preferences><type image="docker" container="box"/></preferences></image>`,
			[]string{`<containerconfig name="box"/>`}, []string{`container="box"`}},
		{"dropped elements", `<image schemaversion="6.6" name="x" kiwirevision="1"><preferences><rpm-force>true</rpm-force><hwclock>utc</hwclock><type image="oem" hybrid="true" checkprebuilt="true"><pxedeploy/></type></preferences></image>`,
			[]string{`<type image="oem"/>`}, []string{"rpm-force", "hwclock", "hybrid", "checkprebuilt", "pxedeploy", "kiwirevision"}},
		{"patterns", `<image schemaversion="5.6" name="x"><packages type="image"><opensusePattern name="base"/><rhelGroup name="core"/></packages></image>`,
			[]string{`<namedCollection name="base"/>`, `<namedCollection name="core"/>`}, []string{"opensusePattern", "rhelGroup"}},
		{"7.4 is left alone", `<image schemaversion="7.4" name="x"><preferences><type image="oem"/></preferences></image>`,
			[]string{`schemaversion="7.4"`, `<type image="oem"/>`}, []string{"bootloader"}},
	} {
		root, err := parseTree("c.xml", []byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := upgradeOld(root); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := string((&Source{root: root}).XML())
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: lacks %s:\n%s", c.name, w, got)
			}
		}
		for _, g := range c.gone {
			if strings.Contains(got, g) {
				t.Errorf("%s: still has %s:\n%s", c.name, g, got)
			}
		}
	}
}

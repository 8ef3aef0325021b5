package create

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
)

// schemaKeys are the features keys of every element and attribute of
// KIWI's schema.
func schemaKeys() map[string]bool {
	keys := map[string]bool{}
	for element, attrs := range description.Schema() {
		keys[featureKey(element, "")] = true
		for _, a := range attrs {
			keys[featureKey(element, a)] = true
		}
	}
	return keys
}

// kindNames are the names of the kinds table.
func kindNames() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.name)
	}
	return out
}

// coverageProblems lists what keeps table from deciding every key of
// schema: keys without an entry, undecided entries, refused or ignored
// ones without a reason, unknown kinds, and entries for keys the schema
// does not have (typos).
func coverageProblems(table map[string]feature, schema map[string]bool) []string {
	var out []string
	for key := range schema {
		f, ok := table[key]
		if !ok {
			out = append(out, key+": in KIWI's schema but not in the features table: decide whether this kiwi honours, refuses or ignores it")
			continue
		}
		switch f.support {
		case honoured, refused, ignored:
		default:
			out = append(out, key+": undecided support")
		}
		for _, s := range []support{f.support, f.otherwise} {
			// A refusal on a kind outside kinds says so itself; any other
			// refusal, and every ignored setting, needs its reason.
			if (s == ignored || s == refused && s == f.support) && strings.TrimSpace(f.why) == "" {
				out = append(out, key+": "+s.String()+" without a reason (why)")
			}
		}
		if f.otherwise != 0 && len(f.kinds) == 0 {
			out = append(out, key+": otherwise without kinds")
		}
		for _, k := range f.kinds {
			if !slices.Contains(kindNames(), k) {
				out = append(out, key+": unknown kind "+k)
			}
		}
	}
	for key := range table {
		if !schema[key] {
			out = append(out, key+": in the features table but not in KIWI's schema (a typo?)")
		}
	}
	sort.Strings(out)
	return out
}

func TestFeaturesCoverTheSchema(t *testing.T) {
	schema := schemaKeys()
	for _, p := range coverageProblems(features, schema) {
		t.Error(p)
	}
	// The check itself catches a missing entry and a stray one.
	mutated := map[string]feature{"type@lukss": {support: refused, why: "typo"}}
	for k, f := range features {
		if k != "type@overlayroot" {
			mutated[k] = f
		}
	}
	got := strings.Join(coverageProblems(mutated, schema), "\n")
	for _, want := range []string{"type@overlayroot: in KIWI's schema but not in the features table", "type@lukss: in the features table but not in KIWI's schema"} {
		if !strings.Contains(got, want) {
			t.Errorf("a table without type@overlayroot and with type@lukss: problems\n%s\nwant %q", got, want)
		}
	}
}

// planBody wraps a <type> (and sections after <preferences>) into a
// description with an apt package manager.
func planBody(typ, more string) string {
	return desc(`    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        ` + typ + `
    </preferences>
` + more)
}

func TestRefusedFeaturesFailBeforeAnyWork(t *testing.T) {
	for _, c := range []struct {
		name    string
		content string
		// want are the strings the error must hold (element, attribute,
		// value); notWant must not be in it (secrets).
		want, notWant []string
	}{
		{"luks", planBody(`<type image="oem" filesystem="ext4" luks="s3cr3t-passphrase" luks_version="luks2"/>`, ""),
			[]string{`<type luks="***">`, `<type luks_version="luks2">`, "this kiwi does not build it for image=\"oem\" yet", "LUKS"}, []string{"s3cr3t-passphrase"}},
		{"partuuid", planBody(`<type image="oem" filesystem="ext4" devicepersistency="by-partuuid"/>`, ""),
			[]string{`devicepersistency="by-partuuid"`, "by-uuid"}, nil},
		{"gfxterm console", planBody(`<type image="oem" filesystem="ext4"><bootloader name="grub2" output_console="gfxterm"/></type>`, ""),
			[]string{`output_console="gfxterm"`}, nil},
		{"iso firmware", planBody(`<type image="iso" firmware="ofw"/>`, ""),
			[]string{`firmware="ofw"`}, nil},
		{"luksformat", planBody(`<type image="oem" filesystem="ext4" luks="pw"><luksformat><option name="--cipher" value="aes-xts-plain64"/></luksformat></type>`, ""),
			[]string{"<luksformat>", `<option name="--cipher">`}, nil},
		{"lvm volumes", planBody(`<type image="oem" filesystem="ext4"><systemdisk name="vg"><volume name="home" size="1G"/></systemdisk></type>`, ""),
			[]string{"<systemdisk>", `<systemdisk name="vg">`, `<volume name="home">`, `<volume size="1G">`, "LVM"}, nil},
		{"btrfs snapshot", planBody(`<type image="oem" filesystem="btrfs" btrfs_root_is_snapper_snapshot="true"/>`, ""),
			[]string{`<type btrfs_root_is_snapper_snapshot="true">`, "subvolumes"}, nil},
		{"btrfs snapshot, old name", planBody(`<type image="oem" filesystem="btrfs" btrfs_root_is_snapshot="true"/>`, ""),
			[]string{`<type btrfs_root_is_snapper_snapshot="true">`, "subvolumes"}, nil},
		{"btrfs subvolumes", planBody(`<type image="oem" filesystem="btrfs" btrfs_root_is_subvolume="true"><systemdisk><volume name="@/home"/></systemdisk></type>`, ""),
			[]string{`<type btrfs_root_is_subvolume="true">`, `<volume name="@/home">`}, nil},
		{"raid", planBody(`<type image="oem" filesystem="ext4" mdraid="mirroring"/>`, ""),
			[]string{`<type mdraid="mirroring">`, "RAID"}, nil},
		{"overlayroot", planBody(`<type image="oem" filesystem="ext4" overlayroot="true" overlayroot_readonly_filesystem="squashfs"/>`, ""),
			[]string{`<type overlayroot="true">`, `<type overlayroot_readonly_filesystem="squashfs">`, "overlayroot"}, nil},
		{"verity", planBody(`<type image="oem" filesystem="ext4" verity_blocks="all" embed_verity_metadata="true"/>`, ""),
			[]string{`<type verity_blocks="all">`, `<type embed_verity_metadata="true">`, "verity"}, nil},
		{"integrity", planBody(`<type image="oem" filesystem="ext4" standalone_integrity="true" integrity_keyfile="/key"/>`, ""),
			[]string{`<type standalone_integrity="true">`, `<type integrity_keyfile="/key">`, "integrity"}, nil},
		{"installiso not unattended", planBody(`<type image="oem" filesystem="ext4" installiso="true"/>`, ""),
			[]string{`installiso="true"`, "unattended only", "<oem-unattended>true</oem-unattended>"}, nil},
		{"installiso with unattended-id", planBody(`<type image="oem" filesystem="ext4" installiso="true"><oemconfig><oem-unattended>true</oem-unattended><oem-unattended-id>scsi-1</oem-unattended-id></oemconfig></type>`, ""),
			[]string{"<oem-unattended-id>", "oem-device-filter"}, nil},
		{"installiso with a bad device filter", planBody(`<type image="oem" filesystem="ext4" installiso="true"><oemconfig><oem-unattended>true</oem-unattended><oem-device-filter>/dev/sd[</oem-device-filter></oemconfig></type>`, ""),
			[]string{"<oem-device-filter>/dev/sd[</oem-device-filter>", "regular expression"}, nil},
		{"installpxe not unattended", planBody(`<type image="oem" filesystem="ext4" installpxe="true"/>`, ""),
			[]string{`installpxe="true"`, "unattended only"}, nil},
		{"systemd-boot", planBody(`<type image="oem" filesystem="ext4" firmware="efi"><bootloader name="systemd_boot"/></type>`, ""),
			[]string{`<bootloader name="systemd_boot">`, "grub2 only"}, nil},
		{"zipl", planBody(`<type image="oem" filesystem="ext4"><bootloader name="zipl"/></type>`, ""),
			[]string{`<bootloader name="zipl">`, "grub2 only"}, nil},
		{"custom boot loader", planBody(`<type image="iso"><bootloader name="custom"/></type>`, ""),
			[]string{`<bootloader name="custom">`, "grub2 only"}, nil},
		{"initrd kiwi", planBody(`<type image="oem" filesystem="ext4" initrd_system="kiwi"/>`, ""),
			[]string{`initrd_system="kiwi"`, "dracut"}, nil},
		{"initrd none", planBody(`<type image="kis" initrd_system="none"/>`, ""),
			[]string{`initrd_system="none"`, "dracut"}, nil},
		{"ova on a legacyESX controller", planBody(`<type image="oem" filesystem="ext4" format="ova"><machine><vmdisk controller="legacyESX" id="0"/></machine></type>`, ""),
			[]string{`<vmdisk controller="legacyESX">`, "no such controller"}, nil},
		{"ova with a bare vmconfig-entry", planBody(`<type image="oem" filesystem="ext4" format="ova"><machine><vmconfig-entry>floppy0.present</vmconfig-entry></machine></type>`, ""),
			[]string{`<vmconfig-entry>floppy0.present</vmconfig-entry>`, `key = "value"`}, nil},
		{"oem on squashfs", planBody(`<type image="oem" filesystem="squashfs"/>`, ""),
			[]string{`filesystem="squashfs"`, "oem disk's root filesystem"}, nil},
		{"iso on ext4", planBody(`<type image="iso" filesystem="ext4"/>`, ""),
			[]string{`<type image="iso">`, `filesystem "ext4"`, "live ISO"}, nil},
		{"custom partitions", planBody(`<type image="oem" filesystem="ext4"><partitions><partition name="data" size="1G" mountpoint="/data"/></partitions></type>`, ""),
			[]string{"<partitions>", `<partition name="data">`, `<partition mountpoint="/data">`}, nil},
		{"containers", planBody(`<type image="oem" filesystem="ext4"/>`, `    <containers source="registry.example.com" backend="podman"><container name="app" tag="1"/></containers>`),
			[]string{`<containers source="registry.example.com">`, `<container name="app">`, "containers are not fetched"}, nil},
		{"certificates", planBody(`<type image="kis"/>`, `    <certificates target_distribution="debian"><certificate name="ca.pem"/></certificates>`),
			[]string{"<certificates>", `<certificate name="ca.pem">`, "trust store"}, nil},
		{"repository credentials", planBody(`<type image="ext4"/>`, `    <repository type="apt-deb" username="builder" password="hunter2"><source path="https://deb.example.com/debian"/></repository>`),
			[]string{`<repository username="***">`, `<repository password="***">`, "credentials"}, []string{"hunter2", "builder"}},
		{"recommended packages", planBody(`<type image="ext4"/>`, `    <packages type="image" patternType="plusRecommended"><package name="vim"/></packages>`),
			[]string{`<packages patternType="plusRecommended">`, "no-install-recommends"}, nil},
		{"no documentation", desc(`    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <rpm-excludedocs>true</rpm-excludedocs>
        <type image="ext4"/>
    </preferences>`), []string{"<rpm-excludedocs>", "documentation"}, nil},
		{"size of a kis root", planBody(`<type image="kis"><size unit="G">4</size></type>`, ""),
			[]string{"<size>", `<size unit="G">`, "oem, filesystem images only"}, nil},
		{"unpartitioned", planBody(`<type image="oem" filesystem="ext4"><size unpartitioned="1">4</size></type>`, ""),
			[]string{`<size unpartitioned="1">`, "unpartitioned space"}, nil},
		{"oem system size", planBody(`<type image="oem" filesystem="ext4"><oemconfig><oem-systemsize>2048</oem-systemsize></oemconfig></type>`, ""),
			[]string{"<oem-systemsize>", "whole disk"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err, warnings := load(t, c.content, description.LoadOptions{})
			if err != nil {
				t.Fatalf("the description does not load: %v", err)
			}
			if len(warnings) > 0 {
				t.Fatalf("the description is not clean KIWI: %v", warnings)
			}
			before := dirEntries(t, d.Dir)
			job, err := Plan(d)
			if err == nil {
				t.Fatalf("planned a %s job (ignored: %v); want a refusal", job.Kind, job.Ignored)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, d.File+":") {
				t.Errorf("error %q does not start with the description file", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("error %q shows %q", msg, w)
				}
			}
			// Before any work: planning wrote nothing, not even next to
			// the description.
			if after := dirEntries(t, d.Dir); !slices.Equal(before, after) {
				t.Errorf("Plan changed the description directory: %v, then %v", before, after)
			}
		})
	}
}

// dirEntries lists the names under dir, recursively.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIgnoredFeaturesAreWarnings(t *testing.T) {
	for _, c := range []struct {
		name, content string
		want          []string
	}{
		{"vm limits and disk naming", planBody(`<type image="oem" filesystem="ext4" format="vmdk">
            <machine memory="512" ncpus="2" min_cpu="1"><vmdisk controller="lsilogic" id="0" device="/dev/sda"/><vmnic interface="0"/></machine>
        </type>`, ""),
			[]string{`<machine min_cpu="1"> has no effect here: KIWI writes the CPU and memory limits into no VMware file`,
				`<vmdisk device="/dev/sda"> has no effect here: KIWI writes it into no VMware file`}},
		{"vm configuration of a live ISO", planBody(`<type image="iso"><machine memory="512"><vmnic interface="0"/></machine></type>`, ""),
			[]string{`<machine> has no effect here: it describes the VMware machine of an oem disk`,
				`<machine memory="512"> has no effect here`, `<vmnic interface="0"> has no effect here`}},
		{"oemconfig of a live ISO", planBody(`<type image="iso"><oemconfig><oem-swap>true</oem-swap></oemconfig></type>`, ""),
			[]string{"<oemconfig> has no effect here: <oemconfig> steers oem disks only", "<oem-swap> has no effect here"}},
		{"installer settings of a disk", planBody(`<type image="oem" filesystem="ext4"><oemconfig><oem-silent-boot>true</oem-silent-boot></oemconfig></type>`, ""),
			[]string{"<oem-silent-boot> has no effect here: it steers a part of KIWI's installer"}},
		{"rpm and boot image settings", desc(`    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <rpm-check-signatures>false</rpm-check-signatures>
        <type image="kis"/>
    </preferences>
    <packages type="image"><package name="vim" bootinclude="true"/><namedCollection name="base"/></packages>`),
			[]string{"<rpm-check-signatures> has no effect here: apt checks repository signatures",
				`<package bootinclude="true"> has no effect here`, "<namedCollection> has no effect here: apt has no patterns"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err, warnings := load(t, c.content, description.LoadOptions{})
			if err != nil || len(warnings) > 0 {
				t.Fatalf("the description does not load cleanly: %v %v", err, warnings)
			}
			job, err := Plan(d)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			got := strings.Join(job.Ignored, "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("ignored settings\n%s\nlack %q", got, w)
				}
			}
			for _, w := range job.Ignored {
				if !strings.HasPrefix(w, d.File+":") {
					t.Errorf("%q does not start with the description's file:line", w)
				}
			}
		})
	}
	// A false value of an unlessFalse setting asks for nothing.
	d, err, _ := load(t, planBody(`<type image="oem" filesystem="ext4" installiso="false" overlayroot="false"/>`,
		`    <packages type="image"><package name="vim" bootinclude="false"/></packages>`), description.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := Plan(d)
	if err != nil {
		t.Fatalf("Plan with false values: %v", err)
	}
	if len(job.Ignored) > 0 {
		t.Errorf("Plan with false values ignored %v", job.Ignored)
	}
}

// plainBody is a description using what every kind honours.
func plainBody(typ string) string {
	return desc(`    <profiles>
        <profile name="p" description="a profile" import="true"/>
    </profiles>
    <preferences>
        <version>1.2.3</version>
        <packagemanager>apt</packagemanager>
        <locale>en_US</locale>
        <keytable>us</keytable>
        <timezone>UTC</timezone>
        ` + typ + `
    </preferences>
    <repository type="apt-deb" alias="deb" distribution="bookworm" components="main" imageinclude="true" repository_gpgcheck="true">
        <source path="http://deb.debian.org/debian"/>
    </repository>
    <packages type="bootstrap"><package name="systemd-sysv"/></packages>
    <packages type="image" profiles="p">
        <package name="linux-image-amd64" arch="x86_64"/>
        <archive name="extra.tar"/>
        <file name="motd" target="/etc/motd" owner="root:root" permissions="0644"/>
    </packages>
    <packages type="delete"><package name="apt-listchanges"/></packages>
    <users><user name="root" password="linux" pwdformat="plain" home="/root" groups="root" shell="/bin/bash"/></users>`)
}

func TestPlainDescriptionsPlan(t *testing.T) {
	for _, c := range []struct{ kind, typ string }{
		{"oem", `<type image="oem" filesystem="ext4" firmware="efi" format="qcow2" kernelcmdline="console=ttyS0" bootpartition="true" rootfs_label="ROOT" devicepersistency="by-label" spare_part="64" spare_part_fs="ext4" spare_part_mountpoint="/srv">
            <bootloader name="grub2" console="serial" timeout="1"/>
            <oemconfig><oem-resize>true</oem-resize><oem-swap>true</oem-swap><oem-swapsize>256</oem-swapsize></oemconfig>
            <size unit="G" additive="true">1</size>
        </type>`},
		{"iso", `<type image="iso" volid="LIVE" publisher="me" flags="dmsquash" hybridpersistent="true" mediacheck="true" squashfscompression="xz">
            <bootloader name="grub2" timeout="3"/>
        </type>`},
		{"oem", `<type image="oem" filesystem="ext4" installiso="true" squashfscompression="lz4"><oemconfig><oem-unattended>true</oem-unattended></oemconfig></type>`},
		{"kis", `<type image="kis" filesystem="ext4" archive="false" compressed="true" kernelcmdline="rw" initrd_system="dracut"/>`},
		{"filesystem", `<type image="ext4"><size unit="M">512</size></type>`},
		{"filesystem", `<type image="squashfs" squashfscompression="zstd"/>`},
	} {
		d, err, warnings := load(t, plainBody(c.typ), description.LoadOptions{})
		if err != nil || len(warnings) > 0 {
			t.Fatalf("%s: the description does not load cleanly: %v %v", c.kind, err, warnings)
		}
		job, err := Plan(d)
		if err != nil {
			t.Errorf("%s: %v", c.kind, err)
			continue
		}
		if job.Kind != c.kind || len(job.Ignored) > 0 {
			t.Errorf("%s: planned kind %s, ignored %v", c.kind, job.Kind, job.Ignored)
		}
	}
}

// TestRepositoryDescriptionsPlan plans every description of this
// repository (demo, end-to-end tests, benchmarks, boxes) for every
// profile and type: nothing they use may be refused.
func TestRepositoryDescriptionsPlan(t *testing.T) {
	files := []string{"../../hack/demo/config.xml", "../../bench/create-config.xml", "../../box/descriptions/debian/config.xml"}
	more, _ := filepath.Glob("../../tests/testdata/*/config.xml")
	for _, file := range append(files, more...) {
		dir, kiwiFile := filepath.Dir(file), filepath.Base(file)
		src, err := description.Open(dir, description.LoadOptions{KiwiFile: kiwiFile})
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		selections := [][]string{nil}
		for _, p := range src.Profiles() {
			selections = append(selections, []string{p.Name})
		}
		for _, profiles := range selections {
			o := description.LoadOptions{KiwiFile: kiwiFile, Profiles: profiles, TargetArch: "x86_64"}
			d, err := description.Load(dir, o)
			if err != nil {
				if profiles != nil {
					t.Errorf("%s profiles %v: %v", file, profiles, err)
				}
				continue // no type applies without a profile
			}
			for _, typ := range d.TypeNames {
				o.Type = typ
				d, err := description.Load(dir, o)
				if err != nil {
					t.Errorf("%s %v %s: %v", file, profiles, typ, err)
					continue
				}
				job, err := Plan(d)
				if err != nil {
					t.Errorf("%s profiles %v type %s: %v", file, profiles, typ, err)
					continue
				}
				for _, w := range job.Ignored {
					t.Logf("%s profiles %v type %s: %s", file, profiles, typ, w)
				}
			}
		}
	}
}

// docKey is how docs/description.md writes a features key.
func docKey(key string) string {
	if !strings.Contains(key, "@") {
		return "`<" + key + ">`"
	}
	return "`" + key + "`"
}

// TestFeaturesAreDocumented checks that docs/description.md lists every
// key of the table in the set (honoured, refused, ignored) it belongs
// to, and in the set it falls to on other kinds.
func TestFeaturesAreDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/description.md")
	if err != nil {
		t.Fatal(err)
	}
	_, doc, ok := strings.Cut(string(b), "\n## What this kiwi does with each setting\n")
	if !ok {
		t.Fatal("docs/description.md has no section \"What this kiwi does with each setting\"")
	}
	if i := strings.Index(doc, "\n## "); i >= 0 {
		doc = doc[:i]
	}
	sets := map[support]string{}
	for _, s := range []support{honoured, refused, ignored} {
		title := "\n### " + strings.ToUpper(s.String()[:1]) + s.String()[1:] + "\n"
		_, rest, ok := strings.Cut(doc, title)
		if !ok {
			t.Fatalf("docs/description.md has no subsection %q", strings.TrimSpace(title))
		}
		if i := strings.Index(rest, "\n### "); i >= 0 {
			rest = rest[:i]
		}
		sets[s] = rest
	}
	for key, f := range features {
		if !strings.Contains(sets[f.support], docKey(key)) {
			t.Errorf("docs/description.md does not list %s under %s", docKey(key), f.support)
		}
		for pm, o := range f.pm {
			if !strings.Contains(sets[o.support], docKey(key)) {
				t.Errorf("docs/description.md does not list %s under %s (for %s)", docKey(key), o.support, pm)
			}
		}
		if f.otherwise != 0 && f.otherwise != f.support && !strings.Contains(sets[f.otherwise], docKey(key)) {
			t.Errorf("docs/description.md does not list %s under %s (for kinds other than %s)", docKey(key), f.otherwise, strings.Join(f.kinds, ", "))
		}
	}
}

// TestPlanNamesWhatIsFilledThroughAMount: only xfs is filled through a
// loop mount (Job.Mounts), which build refuses when kiwi is not the
// host's root; ext4 and btrfs are filled from the directory.
func TestPlanNamesWhatIsFilledThroughAMount(t *testing.T) {
	for _, tc := range []struct {
		typ, want string
	}{
		{`<type image="oem" filesystem="xfs" firmware="efi"/>`, "the xfs root filesystem"},
		{`<type image="kis" filesystem="xfs"/>`, "the xfs root filesystem"},
		{`<type image="xfs"/>`, "the xfs filesystem image"},
		{`<type image="oem" filesystem="ext4" firmware="efi"/>`, ""},
		{`<type image="oem" filesystem="btrfs" firmware="efi"/>`, ""},
		{`<type image="ext4"/>`, ""},
	} {
		d, err, _ := load(t, desc(`<preferences><version>1.0.0</version><packagemanager>apt</packagemanager>`+tc.typ+`</preferences>`), description.LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		job, err := Plan(d)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		if !strings.HasPrefix(job.Mounts, tc.want) || (tc.want == "") != (job.Mounts == "") {
			t.Errorf("%s: Mounts %q, want %q", tc.typ, job.Mounts, tc.want)
		}
	}
}

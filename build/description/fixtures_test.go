package description

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixturesDir finds ../shared/fixtures/kiwi-descriptions next to the
// repository (the directory holding go.mod), or $KIWI_FIXTURES. It skips
// the test when neither exists.
func fixturesDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("KIWI_FIXTURES"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "fixtures", "kiwi-descriptions")
			if _, err := os.Stat(d); err != nil {
				t.Skipf("fixtures not found at %s", d)
			}
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root (go.mod) not found")
		}
		dir = parent
	}
}

// want is what KIWI selects for one description and profile. The values
// come from KIWI's rules (kiwi/xml_state.py: _used_profiles,
// _build_type_section, _profiled) and, where kiwi-ng 9.24 accepts the
// description, from `kiwi-ng [--profile P] image info` ("Selected build
// type"). They are not produced by this package.
type want struct {
	name     string   // <image name>
	typ      string   // selected type image=
	profiles []string // selected profiles
	errs     []string // when set: loading fails with all of these
}

// fixtureWants maps "relative path" to profile ("" for none) to what KIWI
// selects on x86_64.
var fixtureWants = map[string]map[string]want{
	"build-tests/x86/leap/test-image-custom-partitions/appliance.kiwi": {"": {name: "kiwi-test-image-custom-partitions", typ: "oem"}},
	"build-tests/x86/leap/test-image-disk/appliance.kiwi":              {"": {name: "kiwi-test-image-disk", typ: "oem"}},
	"build-tests/x86/leap/test-image-disk-simple/appliance.kiwi":       {"": {name: "kiwi-test-image-disk-simple", typ: "oem"}},
	"build-tests/x86/leap/test-image-live/appliance.kiwi":              {"": {name: "kiwi-test-image-live", typ: "iso"}},
	"build-tests/x86/leap/test-image-lvm/appliance.kiwi":               {"": {name: "kiwi-test-image-lvm", typ: "oem"}},
	"build-tests/x86/leap/test-image-overlayroot/appliance.kiwi":       {"": {name: "kiwi-test-image-overlayroot", typ: "oem"}},
	"build-tests/x86/leap/test-image-tbz/appliance.kiwi":               {"": {name: "kiwi-test-image-tbz", typ: "tbz"}},
	"build-tests/x86/tumbleweed/test-image-kis/appliance.kiwi":         {"": {name: "kiwi-test-image-kis", typ: "kis"}},
	"build-tests/x86/tumbleweed/test-image-tbz/appliance.kiwi": {
		"":  {name: "kiwi-test-image-tbz", typ: "tbz"},
		"A": {name: "kiwi-test-image-tbz", typ: "tbz", profiles: []string{"A"}},
		"B": {name: "kiwi-test-image-tbz", typ: "tbz", profiles: []string{"B", "A"}},
	},
	"build-tests/x86/ubuntu/test-image-live-disk/appliance.kiwi": {
		// No profile is imported and the global <preferences> has no
		// <type>: KIWI raises KiwiTypeNotFound.
		"":        {errs: []string{"appliance.kiwi", "no build type"}},
		"Live":    {name: "kiwi-test-image-live-disk", typ: "iso", profiles: []string{"Live"}},
		"Virtual": {name: "kiwi-test-image-live-disk", typ: "oem", profiles: []string{"Virtual"}},
		"Disk":    {name: "kiwi-test-image-live-disk", typ: "oem", profiles: []string{"Disk"}},
	},
	"kiwi-test-data/example_config.xml": {
		"":                 {name: "LimeJeOS", typ: "oem", profiles: []string{"vmxFlavour"}},
		"xenDom0Flavour":   {name: "LimeJeOS", typ: "oem", profiles: []string{"xenDom0Flavour"}},
		"xenDomUFlavour":   {name: "LimeJeOS", typ: "oem", profiles: []string{"xenDomUFlavour"}},
		"ec2Flavour":       {name: "LimeJeOS", typ: "oem", profiles: []string{"ec2Flavour"}},
		"vmxFlavour":       {name: "LimeJeOS", typ: "oem", profiles: []string{"vmxFlavour"}},
		"vmxSimpleFlavour": {name: "LimeJeOS", typ: "oem", profiles: []string{"vmxSimpleFlavour"}},
		"containerFlavour": {name: "LimeJeOS", typ: "docker", profiles: []string{"containerFlavour"}},
		"derivedContainer": {name: "LimeJeOS", typ: "docker", profiles: []string{"derivedContainer"}},
		"composedProfile":  {name: "LimeJeOS", typ: "oem", profiles: []string{"composedProfile", "vmxSimpleFlavour", "xenDomUFlavour"}},
	},
	"kiwi-test-data/example_deprecated_schema.xml": {
		// KIWI 10 refuses 7.3 ("too old"); KIWI 9.24, whose
		// descriptions users still have, upgrades it.
		"": {name: "LimeJeOS", typ: "tbz"},
	},
	"kiwi-test-data/example_include_config.xml": {
		// The include points at ../data/include_repo.xml, which exists in
		// KIWI's source tree (test/data) but not next to the fixtures.
		"": {errs: []string{"example_include_config.xml:22", "include", "include_repo.xml", "does not exist"}},
	},
	"kiwi-test-data/example_include_config_missing_reference.xml": {
		"": {errs: []string{"example_include_config_missing_reference.xml:9", "/this/include/does/not/exist.xml", "does not exist"}},
	},
	"kiwi-test-data/example_no_default_type.xml": {
		// The only <type> is in profiles="vmxFlavor" (sic), which no
		// selection reaches: KiwiTypeNotFound for every profile.
		"":           {errs: []string{"example_no_default_type.xml", "no build type"}},
		"minimal":    {errs: []string{"example_no_default_type.xml", "no build type"}},
		"vmxFlavour": {errs: []string{"example_no_default_type.xml", "no build type"}},
	},
	"kiwi-test-data/example_this_path_config.xml":      {"": {name: "JeOS", typ: "oem"}},
	"stackbuild-test-data/image-root/image/config.xml": {"": {name: "tumbleweed", typ: "tbz"}},
	"stackbuild-test-data/image-root-invalid-name/image/config.xml": {
		// The schema allows "_"; only stash's container name rule
		// rejects this name.
		"": {name: "this_is_not_ok", typ: "tbz"},
	},
}

// findDescriptions walks the fixtures for description files: *.kiwi,
// config.xml and *.xml files whose root is an <image> with a
// schemaversion (include fragments have none).
func findDescriptions(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "root" {
			return filepath.SkipDir // overlay trees
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".kiwi") || strings.HasSuffix(p, ".xml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "schemaversion=") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFixtures(t *testing.T) {
	root := fixturesDir(t)
	files := findDescriptions(t, root)
	if len(files) < len(fixtureWants) {
		t.Errorf("found %d descriptions, expected at least %d", len(files), len(fixtureWants))
	}
	for _, rel := range files {
		wants, ok := fixtureWants[rel]
		if !ok {
			t.Errorf("%s: no expectation recorded; add it to fixtureWants", rel)
			continue
		}
		path := filepath.Join(root, rel)
		dir, file := filepath.Dir(path), filepath.Base(path)
		// Every profile of the description must have an expectation.
		if src, err := Open(dir, LoadOptions{KiwiFile: file}); err == nil {
			for _, p := range src.Profiles() {
				if _, ok := wants[p.Name]; !ok {
					t.Errorf("%s: profile %q has no expectation", rel, p.Name)
				}
			}
		}
		for profile, w := range wants {
			t.Run(rel+"/"+profile, func(t *testing.T) {
				o := LoadOptions{KiwiFile: file, TargetArch: "x86_64"}
				if profile != "" {
					o.Profiles = []string{profile}
				}
				var warnings []Problem
				o.Warn = func(p Problem) { warnings = append(warnings, p) }
				d, err := Load(dir, o)
				if w.errs != nil {
					if err == nil {
						t.Fatalf("loaded; want an error with %q", w.errs)
					}
					for _, s := range w.errs {
						if !strings.Contains(err.Error(), s) {
							t.Errorf("error %q does not contain %q", err, s)
						}
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if d.Name != w.name || d.Type.Image != w.typ {
					t.Errorf("name %q type %q; want %q %q", d.Name, d.Type.Image, w.name, w.typ)
				}
				if w.profiles == nil {
					w.profiles = []string{}
				}
				if !slices.Equal(d.Profiles, w.profiles) {
					t.Errorf("profiles %q; want %q", d.Profiles, w.profiles)
				}
				for _, p := range warnings {
					t.Logf("warning: %s", p)
				}
			})
		}
	}
}

// The loader keeps the document order KIWI relies on: with
// composedProfile the xenDomUFlavour type comes first in the file.
func TestFixtureComposedProfileTakesFirstTypeInDocumentOrder(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "kiwi-test-data")
	d, err := Load(dir, LoadOptions{KiwiFile: "example_config.xml", TargetArch: "x86_64", Profiles: []string{"composedProfile"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Type.Attr["bootprofile"] != "xen" || d.Type.Format != "" {
		t.Errorf("selected type %v; want the xenDomUFlavour oem type", d.Type.Attr)
	}
	if !slices.Equal(d.TypeNames, []string{"oem", "oem", "iso"}) {
		t.Errorf("types %q", d.TypeNames)
	}
}

// KIWI's own tests: on aarch64 the x86_64/s390 vmxFlavour import profile
// does not exist, so the aarch64 iso type is selected, and
// composedProfile loses its x86_64-only requirement.
func TestFixtureExampleConfigOnAarch64(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "kiwi-test-data")
	d, err := Load(dir, LoadOptions{KiwiFile: "example_config.xml", TargetArch: "aarch64"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Type.Image != "iso" || len(d.Profiles) != 0 {
		t.Errorf("type %q profiles %q; want iso and none", d.Type.Image, d.Profiles)
	}
	d, err = Load(dir, LoadOptions{KiwiFile: "example_config.xml", TargetArch: "aarch64", Profiles: []string{"composedProfile"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Profiles, []string{"composedProfile", "vmxSimpleFlavour"}) {
		t.Errorf("profiles %q", d.Profiles)
	}
	_, err = Load(dir, LoadOptions{KiwiFile: "example_config.xml", TargetArch: "aarch64", Profiles: []string{"vmxFlavour"}})
	if err == nil || !strings.Contains(err.Error(), "not available for arch aarch64") {
		t.Errorf("vmxFlavour on aarch64: %v", err)
	}
}

func TestFixtureExampleConfigContent(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "kiwi-test-data")
	d, err := Load(dir, LoadOptions{KiwiFile: "example_config.xml", TargetArch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "1.13.2" || d.DisplayName != "Bob" || d.Preferences.PackageManager != "zypper" {
		t.Errorf("version %q displayname %q packagemanager %q", d.Version, d.DisplayName, d.Preferences.PackageManager)
	}
	// First <locale> in document order wins, as in KIWI.
	if !slices.Equal(d.Preferences.Locale, []string{"en_US", "de_DE"}) || d.Preferences.ReleaseVersion != "15.3" {
		t.Errorf("preferences %+v", d.Preferences)
	}
	ty := d.Type
	if ty.Filesystem != "btrfs" || ty.Firmware != "efi" || !ty.Primary || ty.SparePart != 200 || !ty.InstallISO {
		t.Errorf("type %+v", ty)
	}
	if ty.Size == nil || ty.Size.MiB() != 1024 || !ty.Size.Additive {
		t.Errorf("size %+v", ty.Size)
	}
	if o := ty.OEMConfig; o == nil || !o.Swap || o.SwapSize != 42 || o.SystemSize != 2048 || !o.Resize {
		t.Errorf("oemconfig %+v", ty.OEMConfig)
	}
	if !slices.Equal(ty.FormatOptions, []string{"force_size", "super=man"}) {
		t.Errorf("formatoptions %q", ty.FormatOptions)
	}
	img := d.Packages["image"]
	names := img.Names()
	// arch="s390,aarch64" packages are filtered out on x86_64.
	if !slices.Contains(names, "kernel-default") || slices.Contains(names, "foo") || slices.Contains(names, "kernel-ec2") {
		t.Errorf("image packages %q", names)
	}
	if !slices.Equal(img.Collections, []string{"base"}) || img.PatternType != "plusRecommended" {
		t.Errorf("collections %q pattern %q", img.Collections, img.PatternType)
	}
	if got := d.Packages["oem"].Names(); !slices.Equal(got, []string{"gfxboot-branding-openSUSE"}) {
		t.Errorf("oem packages %q", got)
	}
	if d.Packages["iso"] != nil {
		t.Error("iso packages applied to an oem build")
	}
	bs := d.Packages["bootstrap"]
	if len(bs.Archives) != 1 || bs.Archives[0].Name != "bootstrap.tgz" || len(bs.Files) != 1 || bs.Files[0].Target != "/some/target" || len(bs.Modules) != 3 {
		t.Errorf("bootstrap %+v", bs)
	}
	if got := d.Packages["delete"].Names(); !slices.Equal(got, []string{"kernel-debug"}) {
		t.Errorf("delete %q", got)
	}
	if got := d.Packages["uninstall"].Names(); !slices.Equal(got, []string{"shadow"}) {
		t.Errorf("uninstall %q", got)
	}
	if len(d.Repositories) != 3 || d.Repositories[0].Priority != 42 || len(d.Repositories[0].SigningKeys) != 3 || !d.Repositories[1].ImageInclude || !d.Repositories[2].ImageOnly {
		t.Errorf("repositories %+v", d.Repositories)
	}
	if len(d.Users) != 3 || d.Users[0].ID == nil || *d.Users[0].ID != 815 || !slices.Equal(d.Users[2].Groups, []string{"kiwi", "admin:42", "users"}) {
		t.Errorf("users %+v", d.Users)
	}
	if len(d.Drivers) != 3 || len(d.Strip["delete"]) != 2 || len(d.Containers) != 4 {
		t.Errorf("drivers %q strip %q containers %d", d.Drivers, d.Strip, len(d.Containers))
	}
	if d.Info.Author != "Marcus" || d.Info.Specification != "Testing various configuration states" {
		t.Errorf("info %+v", d.Info)
	}

	d, err = Load(dir, LoadOptions{KiwiFile: "example_config.xml", TargetArch: "x86_64", Profiles: []string{"containerFlavour"}})
	if err != nil {
		t.Fatal(err)
	}
	cc := d.Type.ContainerConfig
	if cc == nil || cc.Name != "container_name" || cc.Entrypoint == nil || cc.Entrypoint.Execute != "/bin/bash" ||
		!slices.Equal(cc.Expose, []string{"80", "8080"}) || len(cc.Labels) != 2 || cc.History["comment"] != "This is a comment" {
		t.Errorf("containerconfig %+v", cc)
	}
	d, err = Load(dir, LoadOptions{KiwiFile: "example_config.xml", TargetArch: "x86_64", Profiles: []string{"vmxSimpleFlavour"}})
	if err != nil {
		t.Fatal(err)
	}
	if bl := d.Type.Bootloader; bl == nil || bl.Name != "grub2" || len(bl.ShimOptions) != 2 || len(bl.Environment) != 1 {
		t.Errorf("bootloader %+v", d.Type.Bootloader)
	}
	if d.Type.Size == nil || d.Type.Size.Unpartitioned != 1 || d.Type.OEMConfig.Resize {
		t.Errorf("size %+v oemconfig %+v", d.Type.Size, d.Type.OEMConfig)
	}
}

// The build tests write <bootloader console="serial"> (schema < 8.4);
// it is upgraded to output_console as KIWI's stylesheet does.
func TestFixtureBootloaderConsoleUpgrade(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "build-tests/x86/leap/test-image-disk")
	d, err := Load(dir, LoadOptions{TargetArch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	bl := d.Type.Bootloader
	if bl == nil || bl.Console != "serial" || bl.Timeout == nil || *bl.Timeout != 10 {
		t.Errorf("bootloader %+v", bl)
	}
	if d.Type.SystemDisk == nil || len(d.Type.SystemDisk.Volumes) == 0 {
		t.Errorf("systemdisk %+v", d.Type.SystemDisk)
	}
}

// The include fixture resolves when the file it names is where KIWI's
// source tree has it (../data/include_repo.xml); that file is broken XML
// on purpose (KIWI's test expects KiwiDescriptionInvalid), so loading
// fails naming the included file and its line.
func TestFixtureIncludeBrokenXML(t *testing.T) {
	src := filepath.Join(fixturesDir(t), "kiwi-test-data")
	tmp := t.TempDir()
	for _, d := range []string{"kiwi-test-data", "data"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(src, "example_include_config.xml"), filepath.Join(tmp, "kiwi-test-data", "example_include_config.xml"))
	copyFile(t, filepath.Join(src, "include_repo.xml"), filepath.Join(tmp, "data", "include_repo.xml"))
	_, err := Load(filepath.Join(tmp, "kiwi-test-data"), LoadOptions{KiwiFile: "example_include_config.xml"})
	if err == nil {
		t.Fatal("loaded a description including broken XML")
	}
	for _, s := range []string{"example_include_config.xml:22", "include_repo.xml:6", "malformed XML"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

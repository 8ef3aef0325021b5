package prepare

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
)

// TestPhaseKeysFollowThePackageManagerSettings: what the package manager
// is told besides package names changes the keys of the phases it runs
// in, so a changed setting is not answered with a cached layer.
func TestPhaseKeysFollowThePackageManagerSettings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(`<image schemaversion="7.4" name="k">
<description type="system"><author>a</author><contact>c</contact><specification>s</specification></description>
<preferences><version>1.0.0</version><packagemanager>zypper</packagemanager><type image="ext4"/></preferences>
<packages type="bootstrap"><package name="filesystem"/></packages>
<packages type="image"><package name="vim"/></packages>
</image>`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := func() *description.Description {
		d, err := description.Load(dir, description.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ref, err := phaseKeys(base(), "kiwi", nil, "", []string{"repo1 abc"})
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*description.Description){
		"rpm-excludedocs":      func(d *description.Description) { d.Preferences.RPMExcludeDocs = true },
		"rpm-locale-filtering": func(d *description.Description) { d.Preferences.RPMLocaleFiltering = true },
		"rpm-check-signatures": func(d *description.Description) { d.Preferences.RPMCheckSignatures = true },
		"release-version":      func(d *description.Description) { d.Preferences.ReleaseVersion = "42" },
		"patternType":          func(d *description.Description) { d.Packages["image"].PatternType = "plusRecommended" },
		"ignore":               func(d *description.Description) { d.Packages["bootstrap"].Ignore = []string{"x"} },
		"collection":           func(d *description.Description) { d.Packages["bootstrap"].Collections = []string{"base"} },
		"packagemanager":       func(d *description.Description) { d.Preferences.PackageManager = "dnf" },
	} {
		d := base()
		change(d)
		keys, err := phaseKeys(d, "kiwi", nil, "", []string{"repo1 abc"})
		if err != nil {
			t.Fatal(err)
		}
		if keys[0] == ref[0] {
			t.Errorf("%s does not change the bootstrap phase's key", name)
		}
	}
	// A repository whose index changed under the same URL.
	keys, err := phaseKeys(base(), "kiwi", nil, "", []string{"repo1 abd"})
	if err != nil {
		t.Fatal(err)
	}
	if keys[0] == ref[0] {
		t.Error("the repositories' state does not change the bootstrap phase's key")
	}
}

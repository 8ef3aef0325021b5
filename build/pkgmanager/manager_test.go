package pkgmanager

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/runner"
)

func TestCheckNamesTheManagerAndTheFix(t *testing.T) {
	for name, want := range map[string]string{
		"yum":      "no such package manager; use one of apk, apt, dnf",
		"microdnf": "use <packagemanager>dnf</packagemanager>",
		"apk":      "not supported",
	} {
		d := &description.Description{File: "c.xml", Preferences: description.Preferences{PackageManager: name}}
		if err := Check(d); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	d := &description.Description{File: "c.xml", Preferences: description.Preferences{PackageManager: "dnf"},
		Repositories: []description.Repository{{Type: "apt-deb", Source: "http://x"}}}
	if err := Check(d); err == nil || !strings.Contains(err.Error(), `use type="rpm-md"`) {
		t.Errorf("apt-deb with dnf: %v", err)
	}
	d.Repositories = []description.Repository{{Source: "obs://openSUSE:Leap:15.3/standard"}}
	if err := Check(d); err == nil || !strings.Contains(err.Error(), "download.opensuse.org") {
		t.Errorf("obs://: %v", err)
	}
}

func TestWantedSpeaksEachManagersSyntax(t *testing.T) {
	d := &description.Description{Packages: map[string]*description.Packages{"image": {
		Packages: []description.Package{{Name: "vim"}}, Collections: []string{"base"}, Products: []string{"Leap"}}}}
	for pm, want := range map[string]string{"zypper": "vim pattern:base product:Leap", "dnf": "vim @base", "pacman": "vim base", "apt": "vim"} {
		d.Preferences.PackageManager = pm
		if got := strings.Join(Wanted(d, "image"), " "); got != want {
			t.Errorf("%s: %q, want %q", pm, got, want)
		}
	}
}

// TestConfigurationStaysPrivate: the managers' files are in the build's
// own dir (repos, credentials, gpg settings, priorities as KIWI writes
// them), and Close removes it.
func TestConfigurationStaysPrivate(t *testing.T) {
	yes, no := true, false
	d := &description.Description{File: "/desc/config.xml", Preferences: description.Preferences{
		RPMExcludeDocs: true, RPMLocaleFiltering: true, Locale: []string{"en_US"}},
		Repositories: []description.Repository{
			{Alias: "oss", Source: "http://mirror/oss", Priority: 90, RepositoryGPGCheck: &no, PackageGPGCheck: &yes},
			{Alias: "local", Source: "this://rpms", ImageInclude: true},
			{Alias: "private", Source: "https://mirror/p", Username: "u", Password: "s3cret"},
			{Alias: "later", Source: "http://mirror/later", ImageOnly: true},
		}}
	cases := map[string]map[string][]string{
		"zypper": {
			"zypp.conf":            {"gpgcheck = 0", "rpm.install.excludedocs = yes", "credentials.global.dir = "},
			"repos.d/oss.repo":     {"baseurl=http://mirror/oss", "priority=90", "repo_gpgcheck=0", "pkg_gpgcheck=1"},
			"repos.d/local.repo":   {"baseurl=file:///desc/rpms", "autorefresh=1"},
			"repos.d/private.repo": {"baseurl=https://mirror/p?credentials=private"},
			".rpmmacros":           {"%_dbpath /usr/lib/sysimage/rpm", "%_excludedocs 1", "%_install_langs C:C.UTF-8:POSIX:en_US"},
		},
		"dnf": {
			"dnf.conf":             {"install_weak_deps=0", "tsflags=nodocs", "gpgcheck=0", "keepcache=1"},
			"repos.d/oss.repo":     {"baseurl=http://mirror/oss", "priority=90", "repo_gpgcheck=0", "gpgcheck=1"},
			"repos.d/private.repo": {"username=u", "password=s3cret"},
		},
		"pacman": {
			"pacman.conf":      {"SigLevel = Never DatabaseNever", "Include = "},
			"repos/oss.repo":   {"[oss]", "SigLevel = Required DatabaseNever", "Server = http://mirror/oss"},
			"repos/local.repo": {"Server = file:///desc/rpms"},
		},
	}
	for pm, files := range cases {
		d.Preferences.PackageManager = pm
		m, err := ForResults(d, Options{Root: t.TempDir(), CacheDir: t.TempDir(), TempDir: t.TempDir(), Run: runner.Runner{}})
		if err != nil {
			t.Fatalf("%s: %v", pm, err)
		}
		var dir string
		switch m := m.(type) {
		case *zypper:
			dir = m.dir
		case *dnf:
			dir = m.dir
		case *pacman:
			dir = m.dir
		}
		for f, wants := range files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Errorf("%s: %v", pm, err)
				continue
			}
			for _, w := range wants {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s %s lacks %q:\n%s", pm, f, w, b)
				}
			}
		}
		if z, ok := m.(*zypper); ok {
			// Credentials go into the root only for a zypper run.
			if err := z.writeRunFiles(); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(z.root, zypperCredentials, "private")); err != nil || string(b) != "username=u\npassword=s3cret\n" {
				t.Errorf("zypper credentials for the run: %v %q", err, b)
			}
			if err := z.Finish(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(z.root, "var/lib/kiwi")); err == nil {
				t.Error("Finish left the run's credentials dir in the root")
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "repos.d", "later.repo")); err == nil {
			t.Errorf("%s: the imageonly repository is used by the build", pm)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: Close left %s", pm, dir)
		}
	}
}

func TestPacmanPackageLines(t *testing.T) {
	out := "Name            : bash\nVersion         : 5.2.15-2\nArchitecture    : x86_64\nLicenses        : GPL3\n\nName            : zlib\nVersion         : 1:1.2.13-1\nArchitecture    : x86_64\nLicenses        : None\n"
	got := strings.Join(pacmanPackageLines([]byte(out)), "\n")
	if want := "bash|None|5.2.15|2|x86_64|None|GPL3\nzlib|None|1:1.2.13|1|x86_64|None|None"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

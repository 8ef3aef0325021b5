package description

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRepoTuple(t *testing.T) {
	r, err := ParseRepoTuple("http://deb.debian.org/debian,apt-deb,debian,42,true,false,{/k/a.gpg;/k/b.gpg},main contrib,bookworm,false,")
	if err != nil {
		t.Fatal(err)
	}
	want := RepoTuple{Source: "http://deb.debian.org/debian", Type: "apt-deb", Alias: "debian", Priority: "42",
		ImageInclude: "true", PackageGPGCheck: "false", SigningKeys: []string{"/k/a.gpg", "/k/b.gpg"},
		Components: "main contrib", Distribution: "bookworm", RepoGPGCheck: "false"}
	if strings.Join(r.SigningKeys, ";") != strings.Join(want.SigningKeys, ";") {
		t.Errorf("keys %v", r.SigningKeys)
	}
	r.SigningKeys, want.SigningKeys = nil, nil
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	if r, err := ParseRepoTuple("http://x/y"); err != nil || r.Source != "http://x/y" {
		t.Errorf("source only: %+v %v", r, err)
	}
	for _, bad := range []string{"", ",apt-deb", "http://x,apt-deb,a,1,maybe", "http://x,{a", "a,b,c,d,e,f,g,h,i,j,k,l"} {
		if _, err := ParseRepoTuple(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

const overrideDesc = `<?xml version="1.0"?>
<image schemaversion="7.4" name="ov">
  <description type="system"><author>a</author><contact>c</contact><specification>s</specification></description>
  <preferences>
    <version>1.0.0</version>
    <packagemanager>apt</packagemanager>
    <type image="oem" filesystem="ext4" firmware="bios"/>
    <type image="kis" filesystem="ext4"/>
  </preferences>
  <repository type="apt-deb" alias="first" distribution="bookworm"><source path="http://a/debian"/></repository>
  <repository type="apt-deb" alias="second" distribution="bookworm"><source path="http://b/debian"/></repository>
  <packages type="image"><package name="vim"/></packages>
</image>
`

func loadOverrideDesc(t *testing.T) *Description {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(overrideDesc), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOverrideChangesTheDescriptionTree(t *testing.T) {
	d := loadOverrideDesc(t)
	set, _ := ParseRepoTuple("http://c/debian,apt-deb,third,,,,,main,trixie")
	add, _ := ParseRepoTuple("http://d/debian,apt-deb,fourth,,true")
	d2, err := d.Override(Overrides{
		SetRepo: &set, AddRepos: []RepoTuple{add},
		AddPackages: []string{"htop"}, AddBootstrapPackages: []string{"ca-certificates"}, DeletePackages: []string{"nano"},
		TypeAttrs: []string{"firmware=efi", "format=qcow2"}, ReleaseVersion: "12",
	}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var aliases []string
	for _, r := range d2.Repositories {
		aliases = append(aliases, r.Alias)
	}
	if got := strings.Join(aliases, ","); got != "third,second,fourth" {
		t.Errorf("repositories %s", got)
	}
	if d2.Type.Image != "oem" || d2.Type.Firmware != "efi" || d2.Type.Format != "qcow2" {
		t.Errorf("type %+v", d2.Type)
	}
	if got := strings.Join(d2.PackageNames("image"), ","); got != "vim,htop" {
		t.Errorf("image packages %s", got)
	}
	if d2.PackageNames("bootstrap")[0] != "ca-certificates" || d2.PackageNames("delete")[0] != "nano" {
		t.Errorf("bootstrap %v delete %v", d2.PackageNames("bootstrap"), d2.PackageNames("delete"))
	}
	if d2.Preferences.ReleaseVersion != "12" {
		t.Errorf("release version %q", d2.Preferences.ReleaseVersion)
	}
	// What is imported into the root says the same.
	xml := string(d2.XML())
	for _, want := range []string{`firmware="efi"`, `name="htop"`, `http://c/debian`, `<release-version>12</release-version>`} {
		if !strings.Contains(xml, want) {
			t.Errorf("processed XML lacks %s", want)
		}
	}
}

func TestOverrideRefusesBadValues(t *testing.T) {
	for _, o := range []Overrides{
		{TypeAttrs: []string{"firmware=bogus"}},
		{TypeAttrs: []string{"noequals"}},
		{TypeAttrs: []string{"image=iso"}},
	} {
		if _, err := loadOverrideDesc(t).Override(o, LoadOptions{}); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	d, err := loadOverrideDesc(t).Override(Overrides{IgnoreRepos: true}, LoadOptions{})
	if err != nil || len(d.Repositories) != 0 {
		t.Errorf("ignore repos: %v %v", d.Repositories, err)
	}
	// --ignore-repos-used-for-build keeps the imageonly repositories.
	dir := t.TempDir()
	desc := strings.Replace(overrideDesc, `alias="second"`, `alias="second" imageonly="true"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err = Load(dir, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err = d.Override(Overrides{IgnoreReposUsedForBuild: true, AddRepos: []RepoTuple{{Source: "http://c/debian", Type: "apt-deb", Alias: "added"}}}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var aliases []string
	for _, r := range d.Repositories {
		aliases = append(aliases, r.Alias)
	}
	if strings.Join(aliases, " ") != "second added" {
		t.Errorf("ignore repos used for build: %v, want the imageonly one and the added one", aliases)
	}
}

// TestOverrideContainerSettings: the container options set the tag and
// labels (adding KIWI's default containerconfig when there is none;
// replacing a label of the same name) and derived_from of a docker or
// oci type, and are refused for other types.
func TestOverrideContainerSettings(t *testing.T) {
	d := loadOverrideDesc(t)
	if _, err := d.Override(Overrides{ContainerTag: "2"}, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "no container image") {
		t.Errorf("a container option on an oem type: %v", err)
	}
	dir := t.TempDir()
	desc := strings.Replace(overrideDesc, `<type image="oem" filesystem="ext4" firmware="bios"/>`, `<type image="docker"><containerconfig name="app" tag="1"><labels><label name="a" value="old"/></labels></containerconfig></type>
    <type image="oci"/>`, 1)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"docker", "oci"} {
		d, err := Load(dir, LoadOptions{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		d2, err := d.Override(Overrides{ContainerTag: "2", ContainerLabels: []string{"a=new", "b=x=y"}, DerivedFrom: "docker://r/base:1"}, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cc := d2.Type.ContainerConfig
		if cc == nil || cc.Tag != "2" || d2.Type.DerivedFrom != "docker://r/base:1" || fmt.Sprint(cc.Labels) != "[{a new} {b x=y}]" {
			t.Errorf("%s: containerconfig %+v derived_from %q", typ, cc, d2.Type.DerivedFrom)
		}
		if typ == "oci" && cc.Name != "kiwi-container" {
			t.Errorf("oci without containerconfig: name %q, want KIWI's default kiwi-container", cc.Name)
		}
		if _, err := d.Override(Overrides{ContainerLabels: []string{"novalue"}}, LoadOptions{}); err == nil {
			t.Errorf("%s: a label without = was taken", typ)
		}
	}
}

func TestParseRepoCredentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("fromfile\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][2]string{"tux:s3cret": {"tux", "s3cret"}, "tux:a:b": {"tux", "a:b"}, "tux:" + file: {"tux", "fromfile"}} {
		u, p, err := ParseRepoCredentials(in)
		if err != nil || u != want[0] || p != want[1] {
			t.Errorf("%s: %s %s %v", in, u, p, err)
		}
	}
	for _, bad := range []string{"nocolon-s3cret", ":s3cret", "tux:"} {
		if _, _, err := ParseRepoCredentials(bad); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: %v (no error, or the secret in it)", bad, err)
		}
	}
	n := RepoTuple{Source: "http://x", Username: "tux", Password: "s3cret"}.node(Pos{})
	if n.get("username") != "tux" || n.get("password") != "s3cret" {
		t.Errorf("credentials not on the repository: %+v", n.Attrs)
	}
}

package pkgmanager

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
)

func TestAptRepoLines(t *testing.T) {
	no := false
	d := &description.Description{File: "/d/config.xml", Preferences: description.Preferences{PackageManager: "apt"}, Repositories: []description.Repository{
		{Source: "http://deb.debian.org/debian", Distribution: "bookworm", Components: "main contrib", RepositoryGPGCheck: &no},
		{Source: "/srv/repo"},
		{Source: "this://repo"},
	}}
	repos, err := repositories(d, "apt", managers["apt"])
	if err != nil {
		t.Fatal(err)
	}
	if l := aptRepoOf(repos[0]).line(); l != "deb [trusted=yes] http://deb.debian.org/debian bookworm main contrib\n" {
		t.Errorf("%q", l)
	}
	if r := aptRepoOf(repos[1]); r.line() != "deb file:///srv/repo ./\n" || r.alias != "repo2" {
		t.Errorf("flat repo %q alias %s", r.line(), r.alias)
	}
	if l := aptRepoOf(repos[2]).line(); l != "deb file:///d/repo ./\n" {
		t.Errorf("this:// repo %q", l)
	}
	for _, bad := range []description.Repository{{Source: "obs://Debian:12/standard"}, {Source: "obsrepositories:/"}, {Source: "ftp://x"}, {Source: "http://x", Type: "rpm-md"}, {Source: "this://../x", Alias: "a b"}} {
		d.Repositories = []description.Repository{bad}
		if err := Check(d); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestAptChangesAsKIWI: each /usr/share/doc dir with a
// changelog.Debian.gz, sorted, as "name|", the changelog and an empty
// line; a link to another package's docs is followed, one out of the
// root is not.
func TestAptChangesAsKIWI(t *testing.T) {
	root := t.TempDir()
	write := func(p string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		z.Write([]byte(s))
		z.Close()
		return b.Bytes()
	}
	write("var/lib/dpkg/status", nil)
	write("usr/share/doc/bash/changelog.Debian.gz", gz("bash (5.2) unstable\n  * change\n"))
	write("usr/share/doc/nolog/copyright", []byte("x"))
	if err := os.Symlink("bash", filepath.Join(root, "usr/share/doc/bash-doc")); err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "changelog.Debian.gz"), gz("the host's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(root, "usr/share/doc/escape")); err != nil {
		t.Fatal(err)
	}
	got, err := (&apt{root: root}).Changes(context.Background())
	want := "bash|\nbash (5.2) unstable\n  * change\n\nbash-doc|\nbash (5.2) unstable\n  * change\n\n"
	if err != nil || string(got) != want {
		t.Errorf("Changes = %q, %v; want %q", got, err, want)
	}
	if _, err := (&apt{root: t.TempDir()}).Changes(context.Background()); err != ErrNoDatabase {
		t.Errorf("no dpkg database: %v", err)
	}
}

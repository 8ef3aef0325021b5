package pkgmanager

import (
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

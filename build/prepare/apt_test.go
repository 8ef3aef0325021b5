package prepare

import (
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
)

func TestAptRepoLines(t *testing.T) {
	no := false
	r, err := aptRepoOf(description.Repository{Source: "http://deb.debian.org/debian", Distribution: "bookworm", Components: "main contrib", RepositoryGPGCheck: &no}, 0)
	if err != nil || r.line() != "deb [trusted=yes] http://deb.debian.org/debian bookworm main contrib\n" {
		t.Errorf("%q %v", r.line(), err)
	}
	if r, _ := aptRepoOf(description.Repository{Source: "/srv/repo"}, 1); r.line() != "deb file:///srv/repo ./\n" || r.alias != "repo2" {
		t.Errorf("flat repo %q alias %s", r.line(), r.alias)
	}
	for _, bad := range []description.Repository{{Source: "obs://Debian:12/standard"}, {Source: "ftp://x"}, {Source: "http://x", Type: "rpm-md"}} {
		if _, err := aptRepoOf(bad, 0); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

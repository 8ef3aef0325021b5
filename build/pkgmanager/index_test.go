package pkgmanager

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/build/description"
)

// TestRepositoryStateFollowsTheIndex: each manager's index is read where
// the manager reads it, a change to it changes the state, a change
// elsewhere does not, credentials go to the server but never into the
// log, and an unreadable repository is "unreadable", not an error.
func TestRepositoryStateFollowsTheIndex(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("deb/dists/stable/Release", "Date: 1\n")
	write("flat/Packages.gz", "p1")
	write("rpm/repodata/repomd.xml", "<repomd>1</repomd>")
	write("fedora/42/x86_64/repodata/repomd.xml", "<repomd>f</repomd>")
	write("rpms/a.rpm", "a")
	write("arch/core/os/x86_64/core.db", "db1")
	write("arch/extra/os/x86_64/extra.db", "db2")
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		auth = append(auth, u+":"+p)
		if r.URL.Path == "/private/repodata/repomd.xml" {
			w.Write([]byte("<repomd>private</repomd>"))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()

	cases := []struct {
		manager string
		repo    description.Repository
		change  string // a file whose change must change the state
		same    string // a file whose change must not
	}{
		{"apt", description.Repository{Alias: "deb", Source: "dir://" + dir + "/deb", Distribution: "stable", Components: "main"},
			"deb/dists/stable/Release", "deb/pool/x.deb"},
		{"apt", description.Repository{Alias: "flat", Source: "file://" + dir + "/flat"}, "flat/Packages.gz", "flat/x.deb"},
		{"zypper", description.Repository{Alias: "rpm", Source: dir + "/rpm"}, "rpm/repodata/repomd.xml", "rpm/x86_64/a.rpm"},
		{"zypper", description.Repository{Alias: "rpms", Source: dir + "/rpms"}, "rpms/b.rpm", ""},
		{"dnf", description.Repository{Alias: "fedora", Source: dir + "/fedora/$releasever/$basearch"}, "fedora/42/x86_64/repodata/repomd.xml", ""},
		{"pacman", description.Repository{Alias: "arch", Source: "file://" + dir + "/arch/$repo/os/$arch", Components: "core extra"},
			"arch/extra/os/x86_64/extra.db", "arch/core/os/x86_64/x.pkg.tar.zst"},
	}
	for _, c := range cases {
		d := &description.Description{File: "/desc/config.xml", TargetArch: "x86_64",
			Preferences:  description.Preferences{PackageManager: c.manager, ReleaseVersion: "42"},
			Repositories: []description.Repository{c.repo, {Alias: "only", Source: "http://127.0.0.1:1/x", ImageOnly: true}}}
		state := func() string {
			t.Helper()
			s, err := RepositoryState(context.Background(), d, nil)
			if err != nil || len(s) != 1 || strings.Contains(s[0], "unreadable") {
				t.Fatalf("%s %s: %q, %v", c.manager, c.repo.Alias, s, err)
			}
			return s[0]
		}
		before := state()
		if c.same != "" {
			write(c.same, "other")
			if after := state(); after != before {
				t.Errorf("%s %s: %s changed the state", c.manager, c.repo.Alias, c.same)
			}
		}
		write(c.change, "changed"+time.Now().String())
		if after := state(); after == before {
			t.Errorf("%s %s: a changed %s left the state %s", c.manager, c.repo.Alias, c.change, before)
		}
	}

	var log bytes.Buffer
	d := &description.Description{File: "/desc/config.xml", Preferences: description.Preferences{PackageManager: "dnf"},
		Repositories: []description.Repository{
			{Alias: "private", Source: srv.URL + "/private", Username: "u", Password: "s3cret"},
			{Alias: "gone", Source: srv.URL + "/gone", Username: "u", Password: "s3cret"},
			{Alias: "down", Source: "http://u:s3cret@127.0.0.1:1/x"},
		}}
	s, err := RepositoryState(context.Background(), d, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 || strings.Contains(s[0], "unreadable") || s[1] != "gone unreadable" || s[2] != "down unreadable" {
		t.Errorf("states %q", s)
	}
	if len(auth) == 0 || auth[0] != "u:s3cret" {
		t.Errorf("the server saw credentials %q", auth)
	}
	if strings.Contains(log.String(), "s3cret") || strings.Count(log.String(), "level=WARN") != 2 {
		t.Errorf("log:\n%s", log.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RepositoryState(ctx, d, nil); err == nil {
		t.Error("a cancelled context read the repositories")
	}
}

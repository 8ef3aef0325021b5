package prepare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
)

func TestArchivesAndFilesStayInsideTheDescription(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "root.tar.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link.tar")); err != nil {
		t.Fatal(err)
	}
	s := setup{d: &description.Description{Dir: dir}}
	pos := description.Pos{File: filepath.Join(dir, "config.xml"), Line: 7}
	for _, name := range []string{"../secret.tar", "/etc/shadow", "..", "a/../../x", "link.tar"} {
		_, err := s.inDescription(pos, name)
		if err == nil || !strings.Contains(err.Error(), "outside the description directory") || !strings.Contains(err.Error(), "config.xml:7") {
			t.Errorf("%q: %v", name, err)
		}
	}
	if p, err := s.inDescription(pos, "root.tar.gz"); err != nil || p != filepath.Join(dir, "root.tar.gz") {
		t.Errorf("root.tar.gz: %q %v", p, err)
	}
}

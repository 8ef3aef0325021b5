package build

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestFileSHA256Sparse(t *testing.T) {
	p := t.TempDir() + "/f"
	f, _ := os.Create(p)
	f.Truncate(50 << 20)
	f.WriteAt([]byte("hello"), 10<<20)
	f.WriteAt([]byte("end"), 50<<20-3)
	f.Close()
	got, err := fileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("sha256sum", p).Output()
	if !strings.HasPrefix(string(out), got) {
		t.Fatalf("%s vs %s", got, out)
	}
	os.Truncate(p, 60<<20)
	got, _ = fileSHA256(p)
	out, _ = exec.Command("sha256sum", p).Output()
	if !strings.HasPrefix(string(out), got) {
		t.Fatalf("trailing hole: %s vs %s", got, out)
	}
}

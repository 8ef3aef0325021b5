package chroot

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFunctionsDocumented: docs/scripts.md has a row for every function
// of the script library, naming its test.
func TestFunctionsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "scripts.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, m := range regexp.MustCompile(`(?m)^function ([A-Za-z]+)`).FindAllSubmatch(Functions, -1) {
		name := string(m[1])
		if !strings.Contains(doc, "| `"+name+"` |") || !strings.Contains(doc, "`TestKconfigFunctions/"+name+"`") {
			t.Errorf("%s has no row with its test in docs/scripts.md", name)
		}
	}
}

// TestFunctionsParse: the library is valid bash that defines its
// functions and nothing else runs when it is sourced.
func TestFunctionsParse(t *testing.T) {
	out, err := runBash(t, `. "$1"; declare -F | wc -l`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.TrimSpace(out) == "0" {
		t.Error("sourcing defined no functions")
	}
}

func runBash(t *testing.T, script string) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kconfig")
	if err := os.WriteFile(p, Functions, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "-euo", "pipefail", "-c", script, "bash", p).CombinedOutput()
	return string(out), err
}

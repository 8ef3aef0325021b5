package userns

import (
	"os"
	"strings"
	"testing"
)

func TestHostRootIsNotInside(t *testing.T) {
	if os.Geteuid() != 0 {
		if Inside() || HostRoot() {
			t.Fatalf("an ordinary user's process: Inside=%v HostRoot=%v, want false, false", Inside(), HostRoot())
		}
		return
	}
	// Run as root in the initial namespace (the tests' setting).
	if Inside() || !HostRoot() {
		t.Fatalf("root of the initial namespace: Inside=%v HostRoot=%v, want false, true", Inside(), HostRoot())
	}
}

func TestMissingSubordinateIDsNameTheFix(t *testing.T) {
	err := checkIDs("kiwi-test-no-such-user")
	if err == nil {
		t.Fatal("a user without subordinate ids passed the check")
	}
	for _, want := range []string{"usermod --add-subuids", "--add-subgids", "kiwi-test-no-such-user"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

package oci

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.podman.io/image/v5/docker"
)

// TestPolicyContextReadsTheUsersPolicy: a registry reference gets the
// user's policy.json (here one that rejects everything); a place without
// any policy file counts as none.
func TestPolicyContextReadsTheUsersPolicy(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	p := filepath.Join(home, ".config", "containers", "policy.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"default":[{"type":"reject"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if files := policyFiles(); files[0] != p || !anyFile(files) {
		t.Fatalf("policy files %v", files)
	}
	if anyFile([]string{filepath.Join(home, "none.json")}) {
		t.Error("a missing file was found")
	}
	ref, err := docker.ParseReference("//127.0.0.1:5000/kiwi/x:1")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := policyContext(ref, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	if reqs := pc.Policy.Default; len(reqs) != 1 || fmt.Sprintf("%T", reqs[0]) != "*signature.prReject" {
		t.Errorf("policy %+v, want the user's reject", pc.Policy)
	}
}

package oci

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
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

// TestRegistryLoginChecksTheCredentials: what auth.json holds for the
// registry is returned when the registry takes it; a registry that
// refuses it, or a file without it where a login is needed, fails naming
// the registry and never the password.
func TestRegistryLoginChecksTheCredentials(t *testing.T) {
	const user, secret = "tux", "s3cret-Pa55"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != secret {
			w.Header().Set("WWW-Authenticate", `Basic realm="kiwi-test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	named, err := reference.ParseNormalizedNamed(host + "/kiwi/results:1")
	if err != nil {
		t.Fatal(err)
	}
	authFile := func(password string) string {
		p := filepath.Join(t.TempDir(), "auth.json")
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
		if err := os.WriteFile(p, []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cred, err := CopyOptions{AuthFile: authFile(secret)}.RegistryLogin(context.Background(), named)
	if err != nil || cred.Username != user || cred.Password != secret {
		t.Fatalf("RegistryLogin = %q, %v; want the user and password of auth.json", cred.Username, err)
	}
	for name, file := range map[string]string{"wrong password": authFile("not-" + secret), "no entry": filepath.Join(t.TempDir(), "none.json")} {
		_, err := CopyOptions{AuthFile: file}.RegistryLogin(context.Background(), named)
		if err == nil || !strings.Contains(err.Error(), host) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: RegistryLogin error %v; want one naming %s without the password", name, err, host)
		}
	}
}

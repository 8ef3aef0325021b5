package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// imageConfig is what the tests read of an image config.
type imageConfig struct {
	Author string `json:"author"`
	Config struct {
		User         string              `json:"User"`
		WorkingDir   string              `json:"WorkingDir"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Volumes      map[string]struct{} `json:"Volumes"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		CreatedBy string `json:"created_by"`
		Author    string `json:"author"`
		Comment   string `json:"comment"`
		Created   string `json:"created"`
	} `json:"history"`
}

// inspectConfig reads the image config of ref with skopeo, and its
// digest (the image ID).
func inspectConfig(t *testing.T, ref string) (imageConfig, string) {
	t.Helper()
	raw := mustOutput(t, "skopeo", "inspect", "--tls-verify=false", "--raw", "--config", ref)
	var c imageConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatalf("config of %s: %v\n%s", ref, err, raw)
	}
	sum := mustOutput(t, "sh", "-c", `skopeo inspect --tls-verify=false --raw --config "$1" | sha256sum | cut -d" " -f1`, "sh", ref)
	return c, strings.TrimSpace(sum)
}

// containerDescription copies the debian-container test description
// with its base image set to base.
func containerDescription(t *testing.T, base string, edits ...[2]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "desc")
	if out, err := exec.Command("cp", "-a", filepath.Join(s.repo, "tests", "testdata", "debian-container"), dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	file := filepath.Join(dir, "config.xml")
	b := strings.ReplaceAll(mustRead(t, file), `derived_from="docker://localhost:5000/kiwi/ctbase:1"`, `derived_from="`+base+`"`)
	for _, e := range edits {
		if !strings.Contains(b, e[0]) {
			t.Fatalf("test description has no %q", e[0])
		}
		b = strings.Replace(b, e[0], e[1], 1)
	}
	if err := os.WriteFile(file, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestContainerImages is issue 17's end-to-end check on a Debian
// container derived from a stash pushed to a local registry: system
// build writes KIWI's docker archive that podman loads and runs as the
// configured user in the configured dir; skopeo shows the
// containerconfig; the image holds the base's layers unchanged plus one;
// it lands in local storage and is pushed; a build that runs every phase
// again with the same SOURCE_DATE_EPOCH gives the same image; create
// writes the oci type from the same root; bad input fails before any
// work.
func TestContainerImages(t *testing.T) {
	// The images this test makes hold the minbase root's layer; other
	// tests pull that layer and must find it missing (a pull that
	// copies nothing cannot be interrupted), so they go again.
	before := map[string]bool{}
	for _, id := range imageIDs(t) {
		before[id] = true
	}
	t.Cleanup(func() {
		for _, id := range imageIDs(t) {
			if !before[id] {
				command(t, "podman", "rmi", "--force", id)
			}
		}
	})
	addr := startRegistry(t)
	mustKiwi(t, "system", "stash", "--root", debianRoot(t), "--container-name", "ctbase", "--tag", "1",
		"--push", "docker://"+addr+"/kiwi/ctbase:1")
	base := "docker://" + addr + "/kiwi/ctbase:1"
	baseCfg, _ := inspectConfig(t, base)
	desc := containerDescription(t, base)
	work := t.TempDir()
	// Compression is tested by the create package; xz of a 200 MB
	// Debian image takes a minute on this machine.
	conf := filepath.Join(work, "kiwi.yml")
	if err := os.WriteFile(conf, []byte("container:\n  - compress: none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(work, "cache")
	env := append(slices.Clone(s.env), "SOURCE_DATE_EPOCH=1700000000")
	build := func(target string, extra ...string) result {
		args := append([]string{"--config", conf, "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", target}, extra...)
		r := kiwiEnv(t, env, args...)
		if r.err != nil {
			t.Fatalf("kiwi %s: %v\n%s", strings.Join(args, " "), r.err, tail(r.stderr, 3000))
		}
		return r
	}
	t1 := filepath.Join(work, "t1")
	build(t1, "--push", "docker://"+addr+"/kiwi/app:1.2")

	const name = "app.x86_64-1.2.3"
	archive := filepath.Join(t1, name+".docker.tar")
	for _, f := range []string{name + ".docker.tar", name + ".docker.tar.sha256", name + ".packages", name + ".verified", "kiwi.result.json"} {
		if _, err := os.Stat(filepath.Join(t1, f)); err != nil {
			t.Errorf("result %s: %v", f, err)
		}
	}
	var manifest map[string]struct {
		Filename string `json:"filename"`
		Shasum   bool   `json:"shasum"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(t1, "kiwi.result.json"))), &manifest); err != nil {
		t.Fatal(err)
	}
	if c := manifest["container"]; c.Filename != archive || !c.Shasum || manifest["image_packages"].Filename == "" || manifest["image_verified"].Filename == "" {
		t.Errorf("kiwi.result.json = %+v", manifest)
	}
	checkSHA256(t, archive, archive+".sha256")
	if pk := mustRead(t, filepath.Join(t1, name+".packages")); !strings.Contains(pk, "\nbash|None|") && !strings.HasPrefix(pk, "bash|None|") {
		t.Errorf(".packages does not list bash:\n%.300s", pk)
	}

	// podman loads the archive under the configured names and runs it as
	// the configured user in the configured dir.
	loaded := mustOutput(t, "podman", "load", "-i", archive)
	for _, n := range []string{"kiwi/app:1.2", "kiwi/app:latest", "other/app:1.2"} {
		if !strings.Contains(loaded, n) {
			t.Errorf("podman load did not name %s:\n%s", n, loaded)
		}
	}
	if out := mustOutput(t, "podman", "run", "--rm", "docker.io/kiwi/app:1.2"); out != "hello from kiwi\napp\n/srv/app\n" {
		t.Errorf("podman run printed %q, want the marker, user app and dir /srv/app", out)
	}
	// The image is in local storage at once, and KIWI's own files are
	// not in it.
	if out := mustOutput(t, "podman", "run", "--rm", "--entrypoint", "/bin/sh", "localhost/kiwi/app:1.2", "-c", "ls -d /image /.profile /tmp/* 2>/dev/null; cat /etc/marker"); out != "hello from kiwi\n" {
		t.Errorf("the image in local storage: got %q, want only the marker (no /image, /.profile or /tmp contents)", out)
	}

	cfg, digest := inspectConfig(t, "docker-archive:"+archive)
	c := cfg.Config
	if c.User != "app" || c.WorkingDir != "/srv/app" || !slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c"}) ||
		!slices.Equal(c.Cmd, []string{"cat /etc/marker; id -un; pwd"}) || !slices.Equal(c.Env, []string{"A_FIRST=1", "MODE=test"}) ||
		c.Labels["org.example.role"] != "demo" || len(c.ExposedPorts) != 2 || c.Volumes["/var/lib/app"] != struct{}{} {
		t.Errorf("image config does not say what the containerconfig does: %+v", c)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok {
		t.Errorf("exposed ports %v lack 53/udp", c.ExposedPorts)
	}
	if cfg.Author != "Tux Penguin <tux@example.org>" {
		t.Errorf("author %q, want the description's author and contact", cfg.Author)
	}
	h := cfg.History[len(cfg.History)-1]
	if h.CreatedBy != "kiwi e2e" || h.Author != "Builder <b@example.org>" || h.Comment != "the app layer" || h.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("history of the image's layer = %+v", h)
	}
	// The base's layers unchanged, then one layer (no bootstrap and no
	// package ran: nothing else changed).
	ids := cfg.RootFS.DiffIDs
	if len(ids) != len(baseCfg.RootFS.DiffIDs)+1 || !slices.Equal(ids[:len(baseCfg.RootFS.DiffIDs)], baseCfg.RootFS.DiffIDs) {
		t.Errorf("diff IDs %v: want the base's %v and one more", ids, baseCfg.RootFS.DiffIDs)
	}
	// Pushed to the registry: the base's blobs followed by the new one.
	var baseInfo, pushed struct{ Layers []string }
	json.Unmarshal([]byte(mustOutput(t, "skopeo", "inspect", "--tls-verify=false", base)), &baseInfo)
	json.Unmarshal([]byte(mustOutput(t, "skopeo", "inspect", "--tls-verify=false", "docker://"+addr+"/kiwi/app:1.2")), &pushed)
	if len(pushed.Layers) != len(baseInfo.Layers)+1 || !slices.Equal(pushed.Layers[:len(baseInfo.Layers)], baseInfo.Layers) {
		t.Errorf("pushed layers %v: want the base's %v and one more", pushed.Layers, baseInfo.Layers)
	}

	t.Run("Reproducible", func(t *testing.T) {
		// Every phase runs again (config.sh adds the user again); the
		// same SOURCE_DATE_EPOCH gives the same image.
		t2 := filepath.Join(work, "t2")
		r := build(t2, "--clear-cache")
		if !strings.Contains(r.stderr, "config.sh") {
			t.Fatalf("the second build did not run the configuration again:\n%s", tail(r.stderr, 2000))
		}
		again, digest2 := inspectConfig(t, "docker-archive:"+filepath.Join(t2, name+".docker.tar"))
		if digest2 != digest || !slices.Equal(again.RootFS.DiffIDs, ids) {
			t.Errorf("two builds with SOURCE_DATE_EPOCH differ: image %s vs %s, layers %v vs %v", digest, digest2, ids, again.RootFS.DiffIDs)
		}
	})

	t.Run("Prepare", func(t *testing.T) {
		// system prepare of the derived description puts the base under
		// the root too: its phases are the ones build made on the base.
		root := filepath.Join(work, "prepared")
		r := kiwiEnv(t, env, "--shared-cache-dir", cache, "system", "prepare", "--description", desc, "--root", root)
		if r.err != nil || !strings.Contains(r.stderr, "phases=bootstrap, packages, config") {
			t.Fatalf("prepare of the derived description: %v\n%s", r.err, tail(r.stderr, 2000))
		}
		if _, err := os.Stat(filepath.Join(root, "etc/os-release")); err != nil {
			t.Errorf("the prepared root lacks the base's files: %v", err)
		}
	})

	t.Run("CreateOCI", func(t *testing.T) {
		t3 := filepath.Join(work, "t3")
		mustKiwi(t, "--type", "oci", "--config", conf, "--shared-cache-dir", cache, "system", "create",
			"--root", filepath.Join(t1, "build", "image-root"), "--target-dir", t3)
		oci := filepath.Join(t3, name+".oci.tar")
		layout := filepath.Join(t.TempDir(), "layout")
		mustOutput(t, "skopeo", "copy", "oci-archive:"+oci+":kiwi/app:1.2-oci", "oci:"+layout+":app")
		got, _ := inspectConfig(t, "oci:"+layout+":app")
		if len(got.RootFS.DiffIDs) != len(baseCfg.RootFS.DiffIDs)+1 || !slices.Equal(got.RootFS.DiffIDs[:len(baseCfg.RootFS.DiffIDs)], baseCfg.RootFS.DiffIDs) {
			t.Errorf("oci image diff IDs %v: want the base's %v and one more", got.RootFS.DiffIDs, baseCfg.RootFS.DiffIDs)
		}
	})

	t.Run("Stackbuild", func(t *testing.T) {
		// The stash as the stack, the description built on it: the
		// image is the base's layers plus one, as KIWI makes it.
		t4 := filepath.Join(work, "t4")
		r := kiwiEnv(t, env, "--config", conf, "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "ctbase:1",
			"--description", desc, "--target-dir", t4, "--", "--set-container-tag", "stacked")
		if r.err != nil {
			t.Fatalf("stackbuild: %v\n%s", r.err, tail(r.stderr, 3000))
		}
		got, _ := inspectConfig(t, "docker-archive:"+filepath.Join(t4, name+".docker.tar"))
		if len(got.RootFS.DiffIDs) != len(baseCfg.RootFS.DiffIDs)+1 || !slices.Equal(got.RootFS.DiffIDs[:len(baseCfg.RootFS.DiffIDs)], baseCfg.RootFS.DiffIDs) {
			t.Errorf("stackbuild image diff IDs %v: want the base's %v and one more", got.RootFS.DiffIDs, baseCfg.RootFS.DiffIDs)
		}
		if out := mustOutput(t, "podman", "run", "--rm", "localhost/kiwi/app:stacked"); out != "hello from kiwi\napp\n/srv/app\n" {
			t.Errorf("podman run of the stackbuild image printed %q", out)
		}
	})

	t.Run("DeltaRoot", func(t *testing.T) {
		// delta_root (issue 18's last container hooks): config-overlay.sh
		// in the root after config.sh, then config-host-overlay.sh on
		// the host; the image is one layer of what the build changed on
		// the base, without whiteouts, /removed naming what went.
		desc := containerDescription(t, base, [2]string{`<type image="docker" derived_from=`, `<type image="docker" delta_root="true" derived_from=`})
		for name, body := range map[string]string{
			"config-overlay.sh":      "set -e\ntest -f /.kconfig\nrm /etc/motd\necho \"overlay:$(cat /etc/marker)\" > /etc/overlay-marker\n",
			"config-host-overlay.sh": "set -e\ntest -f etc/overlay-marker\necho \"host:${kiwi_iname}\" > etc/host-overlay-marker\n",
		} {
			if err := os.WriteFile(filepath.Join(desc, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t5 := filepath.Join(work, "t5")
		r := kiwiEnv(t, env, "--config", conf, "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", t5)
		if r.err != nil {
			t.Fatalf("delta_root build: %v\n%s", r.err, tail(r.stderr, 3000))
		}
		if _, err := os.Stat(filepath.Join(t5, name+".packages")); err == nil {
			t.Error("a delta root has a .packages (KIWI writes none: its packages are the base's)")
		}
		archive := filepath.Join(t5, name+".docker.tar")
		got, _ := inspectConfig(t, "docker-archive:"+archive)
		if len(got.RootFS.DiffIDs) != 1 {
			t.Fatalf("delta root diff IDs %v: want one layer", got.RootFS.DiffIDs)
		}
		dir := filepath.Join(t.TempDir(), "delta")
		mustOutput(t, "skopeo", "copy", "docker-archive:"+archive, "dir:"+dir)
		var m struct{ Layers []struct{ Digest string } }
		if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "manifest.json"))), &m); err != nil || len(m.Layers) != 1 {
			t.Fatalf("manifest of the delta root: %v %+v", err, m)
		}
		blob := filepath.Join(dir, strings.TrimPrefix(m.Layers[0].Digest, "sha256:"))
		list := strings.Fields(mustOutput(t, "tar", "-tf", blob))
		for _, want := range []string{"etc/overlay-marker", "etc/host-overlay-marker", "etc/marker", "removed"} {
			if !slices.Contains(list, want) && !slices.Contains(list, "./"+want) {
				t.Errorf("the delta layer lacks %s", want)
			}
		}
		for _, f := range list {
			if strings.Contains(f, ".wh.") || strings.HasSuffix(f, "usr/bin/bash") {
				t.Errorf("the delta layer holds %s (a whiteout or a file of the base)", f)
			}
		}
		for f, want := range map[string]string{"etc/overlay-marker": "overlay:hello from kiwi\n", "etc/host-overlay-marker": "host:app\n", "removed": "etc/motd\n"} {
			if got := mustOutput(t, "tar", "-xOf", blob, "--wildcards", "*"+f); got != want {
				t.Errorf("%s in the delta layer = %q, want %q", f, got, want)
			}
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			desc  string
			args  []string
			wants []string
		}{
			{"missing base", desc, []string{"--set-container-derived-from", "docker://" + addr + "/kiwi/nope:1"}, []string{"derived_from", "kiwi/nope"}},
			{"bad port", containerDescription(t, base, [2]string{`number="8080"`, `number="70000"`}), nil, []string{`port number="70000"`, "1 to 65535"}},
			{"port no number", containerDescription(t, base, [2]string{`number="8080"`, `number="http"`}), nil, []string{`port number="http"`}},
			{"bad label", containerDescription(t, base, [2]string{`name="org.example.role"`, `name="bad label"`}), nil, []string{`label name="bad label"`}},
			{"bad tag", desc, []string{"--set-container-tag", "Bad Tag!"}, []string{"Bad Tag!"}},
			{"obs base", desc, []string{"--set-container-derived-from", "obs://project/repo/image"}, []string{"obs://", "docker://registry.opensuse.org"}},
		} {
			target := filepath.Join(t.TempDir(), "out")
			args := append([]string{"--shared-cache-dir", cache, "system", "build", "--description", tc.desc, "--target-dir", target}, tc.args...)
			r := kiwi(t, args...)
			if r.err == nil {
				t.Errorf("%s: build succeeded", tc.name)
				continue
			}
			for _, w := range tc.wants {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("%s: error does not say %q:\n%s", tc.name, w, tail(r.stderr, 1500))
				}
			}
			if _, err := os.Stat(target); err == nil {
				t.Errorf("%s: the target dir was made", tc.name)
			}
		}
	})
}

// imageIDs lists the IDs of the images in the suite's storage.
func imageIDs(t *testing.T) []string {
	t.Helper()
	return strings.Fields(mustOutput(t, "podman", "images", "--all", "--no-trunc", "--quiet"))
}

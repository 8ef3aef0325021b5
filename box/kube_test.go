package box

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/containers/podman/v5/pkg/k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kiwi-go/kiwi/oci"
)

// testDescription is a description dir with what KIWI descriptions hold:
// text files, a script, a binary archive and an overlay tree with a link.
func testDescription(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	write := func(rel, data string, mode os.FileMode) {
		p := filepath.Join(d, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("config.xml", "<image name=\"x\"/>\n", 0o644)
	write("config.sh", "#!/bin/sh\necho hi\n", 0o755)
	write("root.tar.gz", "\x1f\x8b\x08\x00binary", 0o644)
	write("root/etc/motd", "hello\n", 0o600)
	if err := os.Symlink("motd", filepath.Join(d, "root", "etc", "issue")); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPackDescriptionKeepsTheTree(t *testing.T) {
	d := testDescription(t)
	files, err := PackDescription(d)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string]DescriptionFile{}
	for _, f := range files {
		names = append(names, f.Name)
		byName[f.Name] = f
	}
	if got := strings.Join(names, " "); got != "config.sh config.xml "+TreeFile+" root.tar.gz" {
		t.Fatalf("packed %s", got)
	}
	if !byName["config.xml"].Text || byName["root.tar.gz"].Text || byName["config.sh"].Mode != 0o755 {
		t.Errorf("text/binary or mode wrong: %+v", files)
	}
	tr := tar.NewReader(bytes.NewReader(byName[TreeFile].Data))
	seen := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		seen[h.Name] = string(rune(h.Typeflag)) + " " + os.FileMode(h.Mode).Perm().String() + " " + h.Linkname + string(b)
	}
	want := map[string]string{
		"root/":          "5 -rwxr-xr-x ",
		"root/etc/":      "5 -rwxr-xr-x ",
		"root/etc/motd":  "0 -rw------- hello\n",
		"root/etc/issue": "2 -rwxrwxrwx motd",
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("tree entry %s = %q, want %q", k, seen[k], v)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("tree holds %v", seen)
	}
	os.WriteFile(filepath.Join(d, TreeFile), nil, 0o644)
	if _, err := PackDescription(d); err == nil {
		t.Error("a description with a file named like the tree was packed")
	}
}

func TestKubeManifestsAreValidAndHaveNoHostPath(t *testing.T) {
	d := testDescription(t)
	files, err := PackDescription(d)
	if err != nil {
		t.Fatal(err)
	}
	builds := []KubeBuild{
		{Build: Build{Description: d, Args: []string{"--add-package=vim"}}, Name: KubeName("Debian_Build", "abc123"), Description: "debian-build", Type: "oem", Profiles: []string{"a", "b"}, Push: "127.0.0.1:5000/kiwi/r:1-a", Files: files},
		{Build: Build{Description: d}, Name: KubeName("other", "abc123"), Description: "other", Type: "iso", Push: "127.0.0.1:5000/kiwi/r:1-b", DescriptionRef: "127.0.0.1:5000/kiwi/r:1-b-description"},
	}
	for _, kind := range []string{KubeJob, KubePod} {
		out, err := KubeManifests(builds, KubeOptions{Kind: kind, Image: "localhost/box:1", KiwiVersion: "1.2.3", CacheClaim: "kiwi-cache", AuthConfig: []byte(`{"auths":{}}`), ID: "abc123"})
		if err != nil {
			t.Fatal(err)
		}
		docs := strings.Split(string(out), "\n---\n")
		// A Secret, then per build its ConfigMap (not for the pushed
		// description) and its Job.
		if len(docs) != 4 {
			t.Fatalf("%d documents, want 4:\n%s", len(docs), out)
		}
		var secret v1.Secret
		var cm v1.ConfigMap
		if err := yaml.UnmarshalStrict([]byte(docs[0]), &secret); err != nil || secret.Kind != "Secret" || string(secret.Type) != "kubernetes.io/dockerconfigjson" {
			t.Errorf("first document: %v %+v", err, secret)
		}
		if err := yaml.UnmarshalStrict([]byte(docs[1]), &cm); err != nil || cm.Kind != "ConfigMap" || cm.Data["config.xml"] == "" || cm.BinaryData["root.tar.gz"] == nil || cm.BinaryData[TreeFile] == nil {
			t.Errorf("ConfigMap: %v %+v", err, cm)
		}
		var pods []v1.PodSpec
		for _, doc := range []string{docs[2], docs[3]} {
			if kind == KubeJob {
				var j v1.Job
				if err := yaml.UnmarshalStrict([]byte(doc), &j); err != nil || j.Kind != "Job" || j.APIVersion != "batch/v1" || *j.Spec.BackoffLimit != 0 {
					t.Fatalf("Job: %v\n%s", err, doc)
				}
				pods = append(pods, j.Spec.Template.Spec)
			} else {
				var p v1.Pod
				if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil || p.Kind != "Pod" {
					t.Fatalf("Pod: %v\n%s", err, doc)
				}
				pods = append(pods, p.Spec)
			}
		}
		for i, p := range pods {
			env := map[string]string{}
			for _, e := range p.Containers[0].Env {
				env[e.Name] = e.Value
			}
			if env["KIWI_VERSION"] != "1.2.3" || env["KIWI_PUSH"] != builds[i].Push || env["KIWI_DESCRIPTION_REF"] != builds[i].DescriptionRef || env["REGISTRY_AUTH_FILE"] == "" {
				t.Errorf("build %d env %v", i, env)
			}
			vols := map[string]v1.Volume{}
			for _, v := range p.Volumes {
				if v.HostPath != nil {
					t.Errorf("build %d: volume %s is a hostPath", i, v.Name)
				}
				vols[v.Name] = v
			}
			if _, ok := vols["target"]; vols["cache"].PersistentVolumeClaim == nil || ok || vols["storage"].EmptyDir == nil {
				t.Errorf("build %d volumes %+v", i, p.Volumes)
			}
			if _, ok := vols["description"]; ok != (i == 0) {
				t.Errorf("build %d: description volume %v, want it only with a ConfigMap", i, ok)
			}
			if !*p.Containers[0].SecurityContext.Privileged || !strings.Contains(strings.Join(p.Containers[0].Command, " "), "--add-package=vim") == (i == 0) {
				t.Errorf("build %d container %+v", i, p.Containers[0])
			}
		}
		if !strings.Contains(docs[2], "kiwi-go.io/profiles: a_b") || !strings.Contains(docs[2], "kiwi-go.io/image-type: oem") || !strings.Contains(docs[2], "name: kiwi-debian-build-abc123") {
			t.Errorf("labels or name:\n%s", docs[2])
		}
	}
	out, err := KubeManifests(builds[:1], KubeOptions{Kind: KubeJob, Image: "i", TargetClaim: "results"})
	if err != nil || !strings.Contains(string(out), "subPath: "+builds[0].Name) || !strings.Contains(string(out), "claimName: results") {
		t.Errorf("target claim: %v\n%s", err, out)
	}
}

func TestValidateKubeRefuses(t *testing.T) {
	good, err := KubeManifests([]KubeBuild{{Name: "kiwi-x-1", Files: []DescriptionFile{{Name: "config.xml", Data: []byte("x"), Text: true}}}}, KubeOptions{Kind: KubeJob, Image: "i"})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]string{
		"hostPath":      {"emptyDir: {}", "hostPath: {path: /srv}"},
		"unknown field": {"backoffLimit: 0", "backoffLimit: 0\n  retries: 3"},
		"bad name":      {"  name: kiwi-x-1\n", "  name: Kiwi_X\n"},
		"mount":         {"name: storage\n", "name: storagex\n"},
	} {
		bad := strings.Replace(string(good), c[0], c[1], 1)
		if bad == string(good) {
			t.Fatalf("%s: %q not in\n%s", name, c[0], good)
		}
		if err := ValidateKube([]byte(bad)); err == nil {
			t.Errorf("%s was accepted:\n%s", name, bad)
		}
	}
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: " + strings.Repeat("x", ConfigMapLimit) + "\n"
	if err := ValidateKube([]byte(big)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("a ConfigMap over the limit: %v", err)
	}
}

func TestPushRef(t *testing.T) {
	for _, c := range [][3]string{
		{"127.0.0.1:5000/kiwi/r:1", "", "127.0.0.1:5000/kiwi/r:1"},
		{"127.0.0.1:5000/kiwi/r", "description", "127.0.0.1:5000/kiwi/r:latest-description"},
		{"registry.example.com/a/b:v2", "debian-build", "registry.example.com/a/b:v2-debian-build"},
	} {
		if got, err := PushRef(c[0], c[1]); err != nil || got != c[2] {
			t.Errorf("PushRef(%q, %q) = %q, %v; want %q", c[0], c[1], got, err, c[2])
		}
	}
	if _, err := PushRef("Not A Ref", ""); err == nil {
		t.Error("a bad reference was accepted")
	}
}

func TestPrepareKubeNamesEveryJob(t *testing.T) {
	d := testDescription(t)
	r := &KubeRequest{Builds: []KubeBuild{
		{Build: Build{Description: d}, Variant: "Cloud"},
		{Build: Build{Description: d}, Variant: "metal"},
		{Build: Build{Description: d}},
		{Build: Build{Description: d}},
	}}
	if _, err := prepareKube(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	base := dnsLabel(filepath.Base(d))
	seen := map[string]bool{}
	for i, want := range []string{base + "-cloud", base + "-metal", base, base + "-2"} {
		name := r.Builds[i].Name
		if !strings.HasPrefix(name, "kiwi-"+want+"-") || seen[name] || len(name) > 63 {
			t.Errorf("build %d named %q, want kiwi-%s-<id>, unique", i, name, want)
		}
		seen[name] = true
		if r.Builds[i].Files == nil {
			t.Errorf("build %d has no description files", i)
		}
	}
}

func TestPushedDescriptionComesBackWhole(t *testing.T) {
	d := testDescription(t)
	files, err := PackDescription(d)
	if err != nil {
		t.Fatal(err)
	}
	kb := KubeBuild{Build: Build{Description: d}, Files: files}
	ref := "oci:" + filepath.Join(t.TempDir(), "layout") + ":desc"
	if err := pushDescription(context.Background(), &kb, ref, t.TempDir(), oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if kb.Files != nil || kb.DescriptionRef != ref {
		t.Errorf("after the push: files %v, ref %q", kb.Files != nil, kb.DescriptionRef)
	}
	out := t.TempDir()
	if err := PullDescription(context.Background(), ref, out, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(out, f.Name))
		if err != nil || !bytes.Equal(b, f.Data) {
			t.Errorf("pulled %s: %v, equal %v", f.Name, err, bytes.Equal(b, f.Data))
		}
	}
	if err := PullDescription(context.Background(), ref, t.TempDir(), oci.CopyOptions{}); err != nil {
		t.Errorf("a second pull into a fresh dir: %v", err)
	}
}

// TestKubeEdgeNames: dot names travel in the tree (the Job's cp of *
// skips them), a long description name still gives DNS labels for the
// Job and its ConfigMap, and the Secret gets the run's id.
func TestKubeEdgeNames(t *testing.T) {
	d := filepath.Join(t.TempDir(), strings.Repeat("a-very-long-description-name", 3))
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "config.xml"), []byte("<image/>"), 0o644)
	os.WriteFile(filepath.Join(d, ".hidden"), []byte("x"), 0o644)
	files, err := PackDescription(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != "config.xml" || files[1].Name != TreeFile {
		t.Errorf("packed %+v, want config.xml and the tree holding .hidden", files)
	}
	r := &KubeRequest{Builds: []KubeBuild{{Build: Build{Description: d}}}}
	if _, err := prepareKube(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	r.Options.Kind, r.Options.Image, r.Options.AuthConfig = KubeJob, "i", []byte(`{"auths":{}}`)
	out, err := KubeManifests(r.Builds, r.Options)
	if err != nil {
		t.Fatalf("%v (name %s)", err, r.Builds[0].Name)
	}
	if !strings.Contains(string(out), "name: kiwi-registry-"+r.Options.ID+"\n") || r.Options.ID == "" {
		t.Errorf("the Secret is not named with the run's id %q:\n%.600s", r.Options.ID, out)
	}
}

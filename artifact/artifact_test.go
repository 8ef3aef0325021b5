package artifact

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"golang.org/x/crypto/bcrypt"

	"github.com/kiwi-go/kiwi/internal/fstest"
	"github.com/kiwi-go/kiwi/oci"
)

const testType = "application/vnd.kiwi-go.test.v1"

// testFiles writes a few files, one of several MB (more than one read
// buffer, so streaming and the digest check see many chunks), and
// returns them as an artifact's files.
func testFiles(t *testing.T) []File {
	t.Helper()
	dir := t.TempDir()
	big := make([]byte, 5<<20+123)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	contents := map[string][]byte{"disk.raw": big, "notes.txt": []byte("hello\n"), "empty": nil}
	var files []File
	for _, name := range []string{"disk.raw", "notes.txt", "empty"} {
		p := filepath.Join(dir, "src-"+name)
		if err := os.WriteFile(p, contents[name], 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: name, Path: p})
	}
	files[0].MediaType = "application/vnd.kiwi-go.disk.raw"
	files[0].Annotations = map[string]string{"io.kiwi-go.test": "big"}
	return files
}

// readLayoutManifest is the manifest a layout's index names first.
func readLayoutManifest(t *testing.T, dir string) (digest.Digest, imgspecv1.Manifest) {
	t.Helper()
	var index imgspecv1.Index
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %s %v", b, err)
	}
	d := index.Manifests[0].Digest
	var m imgspecv1.Manifest
	b, err = os.ReadFile(blobPath(dir, d))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return d, m
}

func blobPath(layoutDir string, d digest.Digest) string {
	return filepath.Join(layoutDir, "blobs", d.Algorithm().String(), d.Encoded())
}

func checkPulled(t *testing.T, files []File, pulled []Pulled, dir string) {
	t.Helper()
	if len(pulled) != len(files) {
		t.Fatalf("pulled %d files, pushed %d", len(pulled), len(files))
	}
	for i, f := range files {
		want, _ := os.ReadFile(f.Path)
		p := pulled[i]
		got, err := os.ReadFile(p.Path)
		if err != nil || !bytes.Equal(got, want) || p.Name != f.Name || p.Path != filepath.Join(dir, f.Name) ||
			p.Size != int64(len(want)) || p.Digest != digest.FromBytes(want) {
			t.Errorf("pulled %+v (%d bytes read, %v), want the %d bytes of %s", p, len(got), err, len(want), f.Name)
		}
		if st, err := os.Stat(p.Path); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, %v; want 0644", p.Path, st.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(files) {
		t.Errorf("%s has %d entries, want only the %d files", dir, len(entries), len(files))
	}
}

// TestPushPullLayout: the manifest is an OCI 1.1 artifact as ORAS writes
// it, and the files come back equal, into a dir Pull makes.
func TestPushPullLayout(t *testing.T) {
	ctx := context.Background()
	files := testFiles(t)
	layoutDir := filepath.Join(t.TempDir(), "layout")
	ref := "oci:" + layoutDir + ":v1"
	d, err := Push(ctx, ref, Artifact{Type: testType, Files: files, Annotations: map[string]string{"org.opencontainers.image.title": "test"}}, oci.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	md, m := readLayoutManifest(t, layoutDir)
	if md != d {
		t.Errorf("Push returned %s, the layout holds %s", d, md)
	}
	if m.SchemaVersion != 2 || m.MediaType != imgspecv1.MediaTypeImageManifest || m.ArtifactType != testType ||
		m.Config.MediaType != imgspecv1.MediaTypeEmptyJSON || m.Config.Digest != "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" ||
		m.Config.Size != 2 || m.Annotations["org.opencontainers.image.title"] != "test" || len(m.Layers) != 3 {
		t.Errorf("manifest %+v", m)
	}
	if b, err := os.ReadFile(blobPath(layoutDir, m.Config.Digest)); err != nil || string(b) != "{}" {
		t.Errorf("config blob %q %v", b, err)
	}
	for i, l := range m.Layers {
		wantMT := files[i].MediaType
		if wantMT == "" {
			wantMT = DefaultMediaType
		}
		if l.Annotations[TitleAnnotation] != files[i].Name || l.MediaType != wantMT {
			t.Errorf("layer %d: %+v", i, l)
		}
	}
	if m.Layers[0].Annotations["io.kiwi-go.test"] != "big" {
		t.Errorf("layer annotations %v", m.Layers[0].Annotations)
	}

	dir := filepath.Join(t.TempDir(), "new", "dir")
	pulled, err := Pull(ctx, ref, dir, testType, oci.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPulled(t, files, pulled, dir)

	// The same files again: the layout has the blobs and keeps them.
	if d2, err := Push(ctx, ref, Artifact{Type: testType, Files: files, Annotations: map[string]string{"org.opencontainers.image.title": "test"}}, oci.CopyOptions{}); err != nil || d2 != d {
		t.Errorf("second push: %s %v, want %s", d2, err, d)
	}
}

// TestPushRefusesBadNames: names that are no plain, unique file names
// are refused before anything is written.
func TestPushRefusesBadNames(t *testing.T) {
	files := testFiles(t)
	for _, c := range []struct{ name, want string }{
		{"a/b", "is a path"}, {"..", "is no file"}, {".", "is no file"}, {"", "empty file name"}, {"notes.txt", "twice"},
	} {
		layoutDir := filepath.Join(t.TempDir(), "layout")
		bad := append([]File{}, files...)
		bad[0].Name = c.name
		_, err := Push(context.Background(), "oci:"+layoutDir+":v1", Artifact{Type: testType, Files: bad}, oci.CopyOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("name %q: %v, want an error with %q", c.name, err, c.want)
		}
		if _, err := os.Stat(layoutDir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("name %q: the layout was written (%v)", c.name, err)
		}
	}
	if _, err := Push(context.Background(), "oci:"+t.TempDir()+":v1", Artifact{Files: files}, oci.CopyOptions{}); err == nil {
		t.Error("an artifact without a type was pushed")
	}
	missing := append([]File{}, files...)
	missing[1].Path = filepath.Join(t.TempDir(), "gone")
	if _, err := Push(context.Background(), "oci:"+t.TempDir()+"/l:v1", Artifact{Type: testType, Files: missing}, oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("missing file: %v", err)
	}
}

// TestPullRefusesOtherContent: another artifact type, and a container
// image, are refused saying what the reference holds.
func TestPullRefusesOtherContent(t *testing.T) {
	ctx := context.Background()
	layoutDir := filepath.Join(t.TempDir(), "layout")
	if _, err := Push(ctx, "oci:"+layoutDir+":v1", Artifact{Type: "application/vnd.other", Files: testFiles(t)}, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	_, err := Pull(ctx, "oci:"+layoutDir+":v1", dir, testType, oci.CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), "an artifact of type application/vnd.other, not a kiwi artifact of type "+testType) {
		t.Errorf("other type: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused pull made its dir (%v)", err)
	}

	imageDir, _ := fstest.OCILayout(t, filepath.Join(t.TempDir(), "image"), "latest", []byte{})
	if _, err := Pull(ctx, "oci:"+imageDir+":latest", dir, testType, oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "holds a container image, not a kiwi artifact") {
		t.Errorf("container image: %v", err)
	}
}

// TestPullRefusesTamperedBlobs: a blob whose content is not its digest's
// (same size, or shorter) fails the pull, which leaves no file behind.
func TestPullRefusesTamperedBlobs(t *testing.T) {
	ctx := context.Background()
	files := testFiles(t)
	for _, c := range []struct {
		name   string
		tamper func([]byte) []byte
		want   string
	}{
		{"same size", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, "does not match its digest"},
		{"shorter", func(b []byte) []byte { return b[:len(b)-1] }, "bytes, its layer says"},
		{"longer", func(b []byte) []byte { return append(b, 0) }, "more than"},
	} {
		layoutDir := filepath.Join(t.TempDir(), "layout")
		ref := "oci:" + layoutDir + ":v1"
		if _, err := Push(ctx, ref, Artifact{Type: testType, Files: files}, oci.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
		_, m := readLayoutManifest(t, layoutDir)
		// The big file is pulled first: the notes come after it and are
		// never written.
		p := blobPath(layoutDir, m.Layers[0].Digest)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, c.tamper(b), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		_, err = Pull(ctx, ref, dir, testType, oci.CopyOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "disk.raw") {
			t.Errorf("%s: %v, want an error with %q naming disk.raw", c.name, err, c.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: a failed pull left %d entries in its dir", c.name, len(entries))
		}
	}

	// A later file's damage removes the files already restored.
	layoutDir := filepath.Join(t.TempDir(), "layout")
	ref := "oci:" + layoutDir + ":v1"
	if _, err := Push(ctx, ref, Artifact{Type: testType, Files: files}, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	_, m := readLayoutManifest(t, layoutDir)
	if err := os.WriteFile(blobPath(layoutDir, m.Layers[1].Digest), []byte("HELLO\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "made")
	if _, err := Pull(ctx, ref, dir, testType, oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("damaged second file: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed pull left the dir it made (%v)", err)
	}
}

// TestPullRefusesExistingFiles: a file of that name in dir is an error
// before anything is downloaded, and the file stays as it was.
func TestPullRefusesExistingFiles(t *testing.T) {
	ctx := context.Background()
	layoutDir := filepath.Join(t.TempDir(), "layout")
	ref := "oci:" + layoutDir + ":v1"
	if _, err := Push(ctx, ref, Artifact{Type: testType, Files: testFiles(t)}, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mine := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(mine, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(ctx, ref, dir, testType, oci.CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), "exists already: pull into an empty or new dir") {
		t.Errorf("existing file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if b, _ := os.ReadFile(mine); len(entries) != 1 || string(b) != "mine" {
		t.Errorf("the refused pull changed the dir: %d entries, %q", len(entries), b)
	}
}

// TestPushVerifiesWhatItUploads: a file that changed between hashing and
// uploading is not stored under the old digest.
func TestPushVerifiesWhatItUploads(t *testing.T) {
	ctx := context.Background()
	layoutDir := t.TempDir()
	ref, err := layout.ParseReference(layoutDir + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	dest, err := ref.NewImageDestination(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	want := []byte("as hashed")
	desc := imgspecv1.Descriptor{MediaType: DefaultMediaType, Digest: digest.FromBytes(want), Size: int64(len(want))}
	for _, changed := range []string{"as HASHED", "as hashed, and more"} {
		if err := putBlob(ctx, dest, strings.NewReader(changed), desc, none.NoCache, false); err == nil || !strings.Contains(err.Error(), "changed since it was hashed") {
			t.Errorf("%q: %v", changed, err)
		}
		if _, err := os.Stat(blobPath(layoutDir, desc.Digest)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q was stored as %s (%v)", changed, desc.Digest, err)
		}
	}
}

// TestOtherTransports: an oci-archive and a dir: hold artifacts too.
func TestOtherTransports(t *testing.T) {
	files := testFiles(t)
	for _, ref := range []string{"oci-archive:" + filepath.Join(t.TempDir(), "a.tar") + ":v1", "dir:" + filepath.Join(t.TempDir(), "d")} {
		if _, err := Push(context.Background(), ref, Artifact{Type: testType, Files: files}, oci.CopyOptions{}); err != nil {
			t.Errorf("push to %s: %v", ref, err)
			continue
		}
		dir := t.TempDir()
		pulled, err := Pull(context.Background(), ref, dir, testType, oci.CopyOptions{})
		if err != nil {
			t.Errorf("pull from %s: %v", ref, err)
			continue
		}
		checkPulled(t, files, pulled, dir)
	}
}

// TestRefusedReferences: local storage and docker archives hold images
// only; other URL schemes are no transport.
func TestRefusedReferences(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "d.tar")
	if _, err := Push(context.Background(), "docker-archive:"+archive, Artifact{Type: testType, Files: testFiles(t)}, oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "holds Docker images") {
		t.Errorf("push to a docker-archive: %v", err)
	}
	if _, err := os.Stat(archive); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused push wrote %s (%v)", archive, err)
	}
	for _, ref := range []string{"containers-storage:x:1", "https://host/x:1", ""} {
		if _, err := Push(context.Background(), ref, Artifact{Type: testType, Files: testFiles(t)}, oci.CopyOptions{}); err == nil {
			t.Errorf("Push to %q worked", ref)
		}
		if _, err := Pull(context.Background(), ref, t.TempDir(), testType, oci.CopyOptions{}); err == nil {
			t.Errorf("Pull from %q worked", ref)
		}
	}
}

// testRegistry starts docker-registry (distribution) on a free loopback
// port with a temp storage dir and htpasswd auth (user kiwi, password
// secret), and returns its host:port and an auth file for it. It skips
// the test when docker-registry is not installed.
func testRegistry(t *testing.T) (host, authFile, password string) {
	t.Helper()
	const bin = "/usr/bin/docker-registry"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no " + bin + " (Debian's docker-registry package)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host = l.Addr().String()
	l.Close()
	dir := t.TempDir()
	password = "s3cret-kiwi-test-password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("kiwi:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	authFile = filepath.Join(dir, "auth.json")
	auth := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, base64.StdEncoding.EncodeToString([]byte("kiwi:"+password)))
	if err := os.WriteFile(authFile, []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	// Debian's config.yml asks for htpasswd auth (with a path that is a
	// dir): the env points it at this test's file.
	cmd := exec.Command(bin, "serve", "/etc/docker/registry/config.yml")
	cmd.Env = append(os.Environ(), "REGISTRY_HTTP_ADDR="+host,
		"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="+filepath.Join(dir, "storage"),
		"REGISTRY_AUTH_HTPASSWD_PATH="+filepath.Join(dir, "htpasswd"), "REGISTRY_AUTH_HTPASSWD_REALM=kiwi-test")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // it may have died already
		cmd.Wait()         //nolint:errcheck // killed: the error says so
		if t.Failed() {
			t.Logf("docker-registry's log:\n%s", log.String())
		}
	})
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("docker-registry does not answer on %s: %v\n%s", host, err, log.String())
		}
	}
	return host, authFile, password
}

// TestRegistry: a real registry (distribution 2.8) takes the artifact
// (artifactType, the empty config, custom layer types) and gives it back;
// credentials come from the auth file and appear in no error.
func TestRegistry(t *testing.T) {
	host, authFile, password := testRegistry(t)
	ctx := context.Background()
	files := testFiles(t)
	ref := host + "/kiwi/test:1"
	o := oci.CopyOptions{AuthFile: authFile}
	d, err := Push(ctx, ref, Artifact{Type: testType, Files: files}, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	pulled, err := Pull(ctx, "docker://"+ref, dir, testType, o)
	if err != nil {
		t.Fatal(err)
	}
	checkPulled(t, files, pulled, dir)
	// By digest, as push reports it.
	dir2 := filepath.Join(t.TempDir(), "out")
	if _, err := Pull(ctx, host+"/kiwi/test@"+d.String(), dir2, testType, o); err != nil {
		t.Errorf("pull by digest: %v", err)
	}

	// Without credentials, or with wrong ones: refused, and no password
	// in the error.
	bad := filepath.Join(t.TempDir(), "auth.json")
	wrong := "wrong-" + password
	if err := os.WriteFile(bad, fmt.Appendf(nil, `{"auths": {%q: {"auth": %q}}}`, host, base64.StdEncoding.EncodeToString([]byte("kiwi:"+wrong))), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Pull(ctx, ref, t.TempDir(), testType, oci.CopyOptions{AuthFile: bad})
	if err == nil || strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("kiwi:"+wrong))) {
		t.Errorf("pull with a wrong password: %v", err)
	}
	_, err = Push(ctx, host+"/kiwi/other:1", Artifact{Type: testType, Files: files}, oci.CopyOptions{AuthFile: bad})
	if err == nil || strings.Contains(err.Error(), wrong) {
		t.Errorf("push with a wrong password: %v", err)
	}
	t.Logf("refused as it should be: %v", err)
}

// TestOrasPull: `oras pull` restores the same files from what Push
// wrote (skipped without oras on PATH).
func TestOrasPull(t *testing.T) {
	oras, err := exec.LookPath("oras")
	if err != nil {
		t.Skip("no oras on PATH (hack/test.sh builds it into bin/tools)")
	}
	files := testFiles(t)
	layoutDir := filepath.Join(t.TempDir(), "layout")
	if _, err := Push(context.Background(), "oci:"+layoutDir+":v1", Artifact{Type: testType, Files: files}, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command(oras, "pull", "--oci-layout", layoutDir+":v1", "-o", dir).CombinedOutput(); err != nil {
		t.Fatalf("oras pull: %v\n%s", err, out)
	}
	for _, f := range files {
		want, _ := os.ReadFile(f.Path)
		if got, err := os.ReadFile(filepath.Join(dir, f.Name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("oras pulled %s: %d bytes, %v; want %d bytes", f.Name, len(got), err, len(want))
		}
	}
}

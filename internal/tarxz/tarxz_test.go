package tarxz

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"os/exec"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// archive builds a docker-archive-like tar: two layers named by their
// digests, a small one, a config and a manifest.
func archive(t *testing.T, layers ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range layers {
		sum := sha256.Sum256(l)
		add(hex.EncodeToString(sum[:])+".tar", l)
	}
	add("config.json", []byte(`{"a":1}`))
	if err := tw.WriteHeader(&tar.Header{Name: "x/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../y.tar"}); err != nil {
		t.Fatal(err)
	}
	add("manifest.json", []byte(`[]`))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func blob(n int, seed int64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewSource(seed))
	for i := range b {
		b[i] = byte('a' + r.Intn(4)) // compressible, not trivially
	}
	return b
}

func unxz(t *testing.T, b []byte) []byte {
	t.Helper()
	c := exec.Command("xz", "-dc")
	c.Stdin = bytes.NewReader(b)
	out, err := c.Output()
	if err != nil {
		t.Fatalf("xz -d: %v", err)
	}
	return out
}

// TestCompressIsAnXZOfTheArchive: the member-wise output decompresses to
// exactly the input; a second archive sharing a layer takes that layer
// from the cache, a member smaller than MinSize is compressed with the
// bytes around it, and the output stays exact.
func TestCompressIsAnXZOfTheArchive(t *testing.T) {
	cache := t.TempDir()
	o := Options{CacheDir: cache, MinSize: 100 << 10}
	shared, first, small := blob(300<<10, 1), blob(200<<10, 2), blob(1000, 3)
	in := archive(t, shared, first, small)
	var out bytes.Buffer
	st, err := Compress(context.Background(), bytes.NewReader(in), &out, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unxz(t, out.Bytes()), in) {
		t.Fatal("the output does not decompress to the archive")
	}
	if st.Compressed != 500<<10 || st.Reused != 0 {
		t.Errorf("first run: %+v", st)
	}
	second := archive(t, shared, blob(200<<10, 4))
	out.Reset()
	st, err = Compress(context.Background(), bytes.NewReader(second), &out, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unxz(t, out.Bytes()), second) {
		t.Fatal("the second output does not decompress to its archive")
	}
	if st.Reused != 300<<10 || st.Compressed != 200<<10 {
		t.Errorf("second run: %+v, want the shared layer reused", st)
	}
	// Without a cache the output is the same kind of file.
	out.Reset()
	if _, err := Compress(context.Background(), bytes.NewReader(in), &out, Options{MinSize: 100 << 10}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unxz(t, out.Bytes()), in) {
		t.Fatal("the uncached output does not decompress to the archive")
	}
}

// TestCompressChecksMemberDigests: a member whose content is not what its
// name says fails, cached or not, and nothing wrong is kept.
func TestCompressChecksMemberDigests(t *testing.T) {
	cache := t.TempDir()
	o := Options{CacheDir: cache, MinSize: 1, Run: runner.Runner{}}
	good := blob(4096, 5)
	in := archive(t, good)
	if _, err := Compress(context.Background(), bytes.NewReader(in), &bytes.Buffer{}, o); err != nil {
		t.Fatal(err)
	}
	// Same name, other bytes of the same length.
	bad := bytes.Replace(in, good[:64], bytes.Repeat([]byte("z"), 64), 1)
	_, err := Compress(context.Background(), bytes.NewReader(bad), &bytes.Buffer{}, o)
	if err == nil || !strings.Contains(err.Error(), "not the") {
		t.Fatalf("a member whose digest is wrong: %v", err)
	}
	_, err = Compress(context.Background(), bytes.NewReader(bad), &bytes.Buffer{}, Options{MinSize: 1})
	if err == nil || !strings.Contains(err.Error(), "not the") {
		t.Fatalf("a member whose digest is wrong, no cache: %v", err)
	}
}

func TestMemberDigest(t *testing.T) {
	d := strings.Repeat("ab", 32)
	for name, want := range map[string]string{
		d + ".tar": d, "./" + d + ".tar": d, "blobs/sha256/" + d: d,
		"x/" + d + ".tar": "", d + "/layer.tar": "", "manifest.json": "", "blobs/sha512/" + d: "",
	} {
		if got := memberDigest(name); got != want {
			t.Errorf("memberDigest(%q) = %q, want %q", name, got, want)
		}
	}
}

// Package tarxz compresses a tar stream to xz the way KIWI's container
// archives are compressed (xz --threads=0, level 6), but member by
// member: every large member named by its own sha256 digest (a layer of
// a docker-archive, <hex>.tar; a blob of an oci-archive,
// blobs/sha256/<hex>) becomes an xz stream of its own, kept in a cache
// under that digest, and the bytes between such members are compressed
// as streams of their own. The xz format allows concatenated streams and
// every decompressor reads them as one (xz, liblzma, Python's lzma, the
// Go readers containers/image uses), so the result is an ordinary
// .tar.xz; but a layer that an earlier build or another image already
// had is not compressed again.
package tarxz

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// Options tune Compress.
type Options struct {
	// CacheDir keeps the xz streams of members by digest; "" keeps
	// none (members are still compressed one by one).
	CacheDir string
	// MinSize is the smallest member that gets a stream of its own;
	// smaller ones go with the bytes around them.
	MinSize int64
	Run     runner.Runner
}

// Stats say what Compress did with the members it recognised.
type Stats struct {
	// Reused and Compressed are the bytes of members taken from the
	// cache and compressed now.
	Reused, Compressed int64
}

// flushAt bounds the bytes between recognised members held in memory.
const flushAt = 32 << 20

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// memberDigest is the sha256 a member's name says its content has, or "".
func memberDigest(name string) string {
	name = strings.TrimPrefix(name, "./")
	base := path.Base(name)
	switch {
	case strings.HasSuffix(base, ".tar") && hexDigest.MatchString(strings.TrimSuffix(base, ".tar")) && path.Dir(name) == ".":
		return strings.TrimSuffix(base, ".tar")
	case path.Dir(name) == "blobs/sha256" && hexDigest.MatchString(base):
		return base
	}
	return ""
}

// parseHeader reads a tar header block: name (with the ustar prefix),
// size (octal or base-256) and type. ok is false for a zero block (the
// end of the archive) and for anything that is no header.
func parseHeader(b []byte) (name string, size int64, typ byte, ok bool) {
	if bytes.Equal(b, make([]byte, 512)) {
		return "", 0, 0, false
	}
	cstr := func(s []byte) string {
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}
	name = cstr(b[0:100])
	if string(b[257:262]) == "ustar" {
		if p := cstr(b[345:500]); p != "" {
			name = p + "/" + name
		}
	}
	field := b[124:136]
	if field[0]&0x80 != 0 {
		// base-256 (GNU): big-endian after the marker bit.
		var n int64
		for i, c := range field {
			if i == 0 {
				c &= 0x7f
			}
			n = n<<8 | int64(c)
		}
		size = n
	} else {
		s := strings.TrimSpace(cstr(field))
		if s == "" {
			s = "0"
		}
		n, err := strconv.ParseInt(s, 8, 64)
		if err != nil || n < 0 {
			return "", 0, 0, false
		}
		size = n
	}
	return name, size, b[156], true
}

// Compress reads the tar stream r and writes its xz compression to w.
func Compress(ctx context.Context, r io.Reader, w io.Writer, o Options) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 1<<20)
	var raw bytes.Buffer
	flush := func() error {
		if raw.Len() == 0 {
			return nil
		}
		err := xz(ctx, o.Run, bytes.NewReader(raw.Bytes()), w)
		raw.Reset()
		return err
	}
	hdr := make([]byte, 512)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return st, fmt.Errorf("read archive: %w", err)
		}
		name, size, typ, ok := parseHeader(hdr)
		if !ok {
			// The end of the archive (or what follows it): as it is.
			raw.Write(hdr)
			if _, err := io.Copy(&raw, br); err != nil {
				return st, fmt.Errorf("read archive: %w", err)
			}
			break
		}
		padded := (size + 511) &^ 511
		digest := memberDigest(name)
		if (typ == '0' || typ == 0) && digest != "" && size >= o.MinSize {
			raw.Write(hdr)
			if err := flush(); err != nil {
				return st, err
			}
			reused, err := member(ctx, io.LimitReader(br, size), size, digest, w, o)
			if err != nil {
				return st, fmt.Errorf("archive member %s: %w", name, err)
			}
			if reused {
				st.Reused += size
			} else {
				st.Compressed += size
			}
			if _, err := io.CopyN(&raw, br, padded-size); err != nil {
				return st, fmt.Errorf("read archive: %w", err)
			}
			continue
		}
		raw.Write(hdr)
		if _, err := io.CopyN(&raw, br, padded); err != nil {
			return st, fmt.Errorf("read archive member %s: %w", name, err)
		}
		if raw.Len() >= flushAt {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	return st, flush()
}

// member writes the xz stream of one member: the cached one when the
// member's bytes (read through a hash while they are skipped) are what
// its name says, else a new one, which is then kept.
func member(ctx context.Context, r io.Reader, size int64, digest string, w io.Writer, o Options) (bool, error) {
	h := sha256.New()
	check := func() error {
		if got := hex.EncodeToString(h.Sum(nil)); got != digest {
			return fmt.Errorf("content has sha256 %s, not the %s its name says", got, digest)
		}
		return nil
	}
	cached := filepath.Join(o.CacheDir, digest+".xz")
	if o.CacheDir != "" {
		if f, err := os.Open(cached); err == nil {
			defer f.Close()
			if n, err := io.Copy(h, r); err != nil || n != size {
				return false, fmt.Errorf("read %d of %d bytes: %w", n, size, err)
			}
			if err := check(); err != nil {
				return false, err
			}
			if _, err := io.Copy(w, f); err != nil {
				return false, err
			}
			now := time.Now()
			_ = os.Chtimes(cached, now, now) // last use, for Prune
			return true, nil
		}
	}
	if o.CacheDir == "" {
		if err := xz(ctx, o.Run, io.TeeReader(r, h), w); err != nil {
			return false, err
		}
		return false, check()
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(o.CacheDir, ".tmp-*.xz")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := xz(ctx, o.Run, io.TeeReader(r, h), tmp); err != nil {
		return false, err
	}
	if err := check(); err != nil {
		return false, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	if _, err := io.Copy(w, tmp); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), cached); err != nil {
		return false, fmt.Errorf("keep compressed member: %w", err)
	}
	return false, nil
}

// xz compresses r into w as one xz stream, with KIWI's options.
func xz(ctx context.Context, run runner.Runner, r io.Reader, w io.Writer) error {
	if _, err := run.Run(ctx, runner.Cmd{Name: "xz", Args: []string{"--threads=0", "-c"}, Stdin: r, Stdout: w}); err != nil {
		return fmt.Errorf("xz: %w", err)
	}
	return nil
}

// Prune removes cached streams not used for maxAge, and temp files of
// runs that ended an hour ago or more.
func Prune(dir string, maxAge time.Duration) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		age := time.Since(fi.ModTime())
		if strings.HasPrefix(e.Name(), ".tmp-") && age > time.Hour || !strings.HasPrefix(e.Name(), ".tmp-") && age > maxAge {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

package create

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// TestConvertWritesEveryDiskFormat converts a small raw disk into each
// format KIWI's <type format=...> names and has qemu-img read it back.
func TestConvertWritesEveryDiskFormat(t *testing.T) {
	work := t.TempDir()
	raw := filepath.Join(work, "d.raw")
	if err := os.WriteFile(raw, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		format, options, file, qemuFormat string
	}{
		{"qcow2", "", "d.qcow2", "qcow2"},
		{"qcow2", "compat=0.10", "d.qcow2", "qcow2"},
		{"vmdk", "subformat=streamOptimized", "d.vmdk", "vmdk"},
		{"vdi", "", "d.vdi", "vdi"},
		{"vhdx", "", "d.vhdx", "vhdx"},
		{"vhd", "", "d.vhd", "vpc"},
		{"vhd-fixed", "", "d.vhdfixed", "vpc"},
	}
	for _, c := range cases {
		t.Run(c.format+c.options, func(t *testing.T) {
			var opts []string
			if c.options != "" {
				opts = []string{c.options}
			}
			name, err := convert(context.Background(), runner.Runner{}, raw, work, "d", c.format, opts)
			if err != nil {
				t.Fatal(err)
			}
			if name != c.file {
				t.Fatalf("result %s, want %s", name, c.file)
			}
			// A fixed VHD has only a footer, which qemu-img does not
			// probe for: name its format.
			out, err := exec.Command("qemu-img", "info", "-f", c.qemuFormat, "--output=json", filepath.Join(work, name)).Output()
			if err != nil {
				t.Fatalf("qemu-img info: %v", err)
			}
			var info struct {
				Format      string `json:"format"`
				VirtualSize int64  `json:"virtual-size"`
				Specific    struct {
					Data struct {
						Compat string `json:"compat"`
					} `json:"data"`
				} `json:"format-specific"`
			}
			if err := json.Unmarshal(out, &info); err != nil {
				t.Fatal(err)
			}
			if info.Format != c.qemuFormat || info.VirtualSize < 4<<20 {
				t.Errorf("qemu-img reads %s of %d bytes, want %s of 4 MiB", info.Format, info.VirtualSize, c.qemuFormat)
			}
			if c.options == "compat=0.10" && info.Specific.Data.Compat != "0.10" {
				t.Errorf("formatoptions compat=0.10 not honoured: compat %q", info.Specific.Data.Compat)
			}
		})
	}
	if _, err := convert(context.Background(), runner.Runner{}, raw, work, "d", "iso", nil); err == nil {
		t.Error("an unknown format must be refused")
	}
}

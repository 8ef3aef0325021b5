package create

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/checksum"
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
			name, err := convert(context.Background(), runner.Runner{}, DiskType{Format: c.format, FormatOptions: opts}, raw, work, "d", nil)
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
	if _, err := convert(context.Background(), runner.Runner{}, DiskType{Format: "iso"}, raw, work, "d", nil); err == nil {
		t.Error("an unknown format must be refused")
	}
}

// boxMembers lists the members of a tar.gz with their sizes.
func boxMembers(t *testing.T, p string) map[string]int64 {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	members := map[string]int64{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root's", h.Name, h.Uid, h.Gid)
		}
		members[h.Name] = h.Size
		order = append(order, h.Name)
	}
	t.Logf("%s: %v", filepath.Base(p), order)
	return members
}

// TestConvertGCEAndVagrant: format="gce" is KIWI's tar.gz of disk.raw
// (sparse, whole) with manifest.json naming the gcelicense; vagrant boxes
// hold metadata.json, a Vagrantfile and the provider's disk, named
// <base>.vagrant.<provider>.box.
func TestConvertGCEAndVagrant(t *testing.T) {
	work := t.TempDir()
	raw := filepath.Join(work, "d.raw")
	f, err := os.Create(raw)
	if err == nil {
		_, err = f.WriteAt([]byte("MBR"), 510)
	}
	if err == nil {
		err = f.Truncate(8 << 20)
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	name, err := convert(ctx, runner.Runner{}, DiskType{Format: "gce", GCELicense: "projects/p/global/licenses/l"}, raw, work, "d", nil)
	if err != nil || name != "d.tar.gz" {
		t.Fatalf("gce: %s %v", name, err)
	}
	m := boxMembers(t, filepath.Join(work, name))
	if m["disk.raw"] != 8<<20 || len(m) != 2 {
		t.Errorf("gce members %v, want manifest.json and disk.raw of 8 MiB", m)
	}
	out, err := exec.Command("tar", "-xOzf", filepath.Join(work, name), "manifest.json").Output()
	if err != nil || string(out) != `{"licenses":["projects/p/global/licenses/l"]}` {
		t.Errorf("manifest.json %q %v", out, err)
	}
	if _, err := os.Stat(raw); err != nil {
		t.Errorf("the raw disk must stay: %v", err)
	}

	own := filepath.Join(work, "Vagrantfile.own")
	if err := os.WriteFile(own, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v     VagrantConfig
		name  string
		disk  []string
		meta  string
		vfile string
	}{
		{VagrantConfig{Provider: "libvirt"}, "d.vagrant.libvirt.box", []string{"box.img"},
			`{"format":"qcow2","provider":"libvirt","virtual_size":42}`, "libvirt.driver = \"kvm\""},
		{VagrantConfig{Provider: "libvirt", VirtualSize: 20, Vagrantfile: own}, "d.vagrant.libvirt.box", []string{"box.img"},
			`{"format":"qcow2","provider":"libvirt","virtual_size":20}`, "# mine"},
		{VagrantConfig{Provider: "virtualbox"}, "d.vagrant.virtualbox.box", []string{"box.vmdk", "box.ovf"},
			`{"provider":"virtualbox"}`, "config.vm.base_mac = \"00163E"},
	} {
		t.Run(c.v.Provider, func(t *testing.T) {
			dt := DiskType{Format: "vagrant", Vagrant: &c.v, Name: "d", Version: "1.0", Specification: "a <test> box"}
			name, err := convert(ctx, runner.Runner{}, dt, raw, work, "d", nil)
			if err != nil || name != c.name {
				t.Fatalf("%s %v, want %s", name, err, c.name)
			}
			box := filepath.Join(work, name)
			m := boxMembers(t, box)
			for _, want := range append([]string{"metadata.json", "Vagrantfile"}, c.disk...) {
				if _, ok := m[want]; !ok {
					t.Errorf("no %s in the box: %v", want, m)
				}
			}
			meta, err := exec.Command("tar", "-xOzf", box, "metadata.json").Output()
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if json.Unmarshal(meta, &got) != nil || json.Unmarshal([]byte(c.meta), &want) != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("metadata.json %s, want %s", meta, c.meta)
			}
			vf, err := exec.Command("tar", "-xOzf", box, "Vagrantfile").Output()
			if err != nil || !strings.Contains(string(vf), c.vfile) {
				t.Errorf("Vagrantfile %q %v, want %q in it", vf, err, c.vfile)
			}
			dir := t.TempDir()
			if b, err := exec.Command("tar", "-xzf", box, "-C", dir).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, b)
			}
			qfmt := map[string]string{"box.img": "qcow2", "box.vmdk": "vmdk"}[c.disk[0]]
			info, err := exec.Command("qemu-img", "info", "--output=json", filepath.Join(dir, c.disk[0])).Output()
			var q struct {
				Format      string `json:"format"`
				VirtualSize int64  `json:"virtual-size"`
			}
			if err != nil || json.Unmarshal(info, &q) != nil || q.Format != qfmt || q.VirtualSize != 8<<20 {
				t.Errorf("%s: qemu-img reads %+v (%v), want %s of 8 MiB", c.disk[0], q, err, qfmt)
			}
			if c.v.Provider == "virtualbox" {
				ovf, err := os.ReadFile(filepath.Join(dir, "box.ovf"))
				if err != nil {
					t.Fatal(err)
				}
				var env struct {
					Files []struct {
						Href string `xml:"href,attr"`
					} `xml:"References>File"`
					Disks []struct {
						Capacity string `xml:"capacity,attr"`
					} `xml:"DiskSection>Disk"`
					Desc string `xml:"VirtualSystem>OperatingSystemSection>Description"`
				}
				if err := xml.Unmarshal(ovf, &env); err != nil {
					t.Fatalf("box.ovf is no XML: %v", err)
				}
				if len(env.Files) != 1 || env.Files[0].Href != "box.vmdk" || len(env.Disks) != 1 || env.Disks[0].Capacity != "42" || env.Desc != "a <test> box" {
					t.Errorf("box.ovf: %+v", env)
				}
				// The same input makes the same box.
				again, err := convert(ctx, runner.Runner{}, dt, raw, work, "e", nil)
				if err != nil {
					t.Fatal(err)
				}
				a, _ := exec.Command("tar", "-xOzf", box, "box.ovf", "Vagrantfile").Output()
				b, _ := exec.Command("tar", "-xOzf", filepath.Join(work, again), "box.ovf", "Vagrantfile").Output()
				if string(a) != string(b) {
					t.Error("two boxes of one input differ in box.ovf or Vagrantfile")
				}
			}
		})
	}
	bad := DiskType{Format: "vagrant", Vagrant: &VagrantConfig{Provider: "hyperv"}}
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "libvirt and virtualbox") {
		t.Errorf("provider hyperv: %v", err)
	}
	if err := (DiskType{Format: "vagrant", Filesystem: "ext4", Firmware: "bios"}).check(); err == nil || !strings.Contains(err.Error(), "vagrantconfig") {
		t.Errorf("vagrant without vagrantconfig: %v", err)
	}
}

// TestConvertWithEpochIsReproducible: the archives (gce, vagrant, ova)
// made a second apart are the same bytes with an epoch, and differ
// without (their members' times are the clock's).
func TestConvertWithEpochIsReproducible(t *testing.T) {
	work := t.TempDir()
	raw := filepath.Join(work, "d.raw")
	if err := os.WriteFile(raw, []byte(strings.Repeat("kiwi", 1<<18)), 0o644); err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(1700000000, 0)
	vm, _ := vmConfigOf(description.Type{})
	types := []DiskType{
		{Name: "d", Format: "gce", GCELicense: "l"},
		{Name: "d", Format: "vagrant", Vagrant: &VagrantConfig{Provider: "libvirt"}},
		{Name: "d", Format: "ova", Firmware: "bios", VM: vm},
	}
	round := func(e *time.Time) map[string]string {
		sums := map[string]string{}
		for _, dt := range types {
			name, err := convert(context.Background(), runner.Runner{}, dt, raw, work, "d", e)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := checksum.File(filepath.Join(work, name))
			if err != nil {
				t.Fatal(err)
			}
			sums[dt.Format] = sum
		}
		return sums
	}
	first, plain := round(&epoch), round(nil)
	time.Sleep(1100 * time.Millisecond)
	second, plainAgain := round(&epoch), round(nil)
	for _, dt := range types {
		if first[dt.Format] != second[dt.Format] {
			t.Errorf("%s: two archives with an epoch differ", dt.Format)
		}
		if plain[dt.Format] == plainAgain[dt.Format] {
			t.Errorf("%s: archives a second apart are equal without an epoch: the check above proves nothing", dt.Format)
		}
	}
}

// TestSetVMDKContentIDTakesAnyLength: qemu-img writes the CID with %x,
// so one time in sixteen it is shorter than 8 digits; the derived CID
// replaces it whatever its length, and qemu-img still reads the vmdk.
func TestSetVMDKContentIDTakesAnyLength(t *testing.T) {
	work := t.TempDir()
	raw, vmdk := filepath.Join(work, "d.raw"), filepath.Join(work, "d.vmdk")
	if err := os.WriteFile(raw, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	for _, cid := range []string{"5", "0123abcd", "1a"} {
		if err := setVMDKContentID(vmdk, cid); err != nil {
			t.Fatalf("CID %s: %v", cid, err)
		}
		b, err := os.ReadFile(vmdk)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b[:64<<10]), "\nCID="+cid+"\n") {
			t.Errorf("the descriptor does not hold CID=%s", cid)
		}
		if out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "vmdk", raw, vmdk).CombinedOutput(); err != nil {
			t.Errorf("after CID=%s qemu-img reads another disk: %v %s", cid, err, out)
		}
	}
}

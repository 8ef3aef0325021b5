package description

import (
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as a description in
// testdata/include (so this://include.xml resolves). It must never panic;
// a description it accepts must select without panicking for every
// profile and arch, and its processed XML must parse again.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(desc(basePrefs)))
	f.Add([]byte(desc(basePrefs + `<include from="this://include.xml"/>`)))
	f.Add([]byte(desc(`<profiles><profile name="a" description="a" import="true"><requires profile="b"/></profile><profile name="b" description="b" arch="aarch64"/></profiles>
<preferences profiles="a"><version>1.0.0</version><type image="oem" filesystem="ext4"><size unit="G">2</size><oemconfig><oem-resize>false</oem-resize></oemconfig></type></preferences>
<preferences profiles="b" arch="aarch64"><type image="iso" primary="true"/></preferences>
<packages type="image" profiles="a"><package name="p" arch="x86_64"/><archive name="a.tgz"/><file name="f" target="/t"/></packages>
<users><user name="root" password="x" id="0" groups="root,wheel:10"/></users>`)))
	f.Add([]byte(`<image schemaversion="7.3" name="old"/>`))
	f.Add([]byte("<image schemaversion=\"7.4\" name=\"x\">\n<description>\n</image>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := parseSource("testdata/include/fuzz.xml", data, func(Problem) {})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		out := src.XML()
		if _, err := parseTree("printed.xml", out); err != nil {
			t.Fatalf("processed XML does not parse: %v\n%s", err, out)
		}
		selections := [][]string{nil}
		for i, p := range src.Profiles() {
			if i == 8 {
				break
			}
			selections = append(selections, []string{p.Name})
		}
		for _, arch := range []string{"x86_64", "aarch64"} {
			for _, profiles := range selections {
				d, err := src.Select(LoadOptions{Profiles: profiles, TargetArch: arch})
				if err != nil {
					if !strings.Contains(err.Error(), "fuzz.xml") {
						t.Errorf("error without the file name: %v", err)
					}
					continue
				}
				if d.Type.Image == "" && len(d.TypeNames) == 0 {
					t.Errorf("selected no type without an error")
				}
			}
		}
	})
}

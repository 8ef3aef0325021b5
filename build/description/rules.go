package description

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// versionPattern is the Major.Minor.Release form KIWI documents for
// <version>.
var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// reservedPartitionNames may not be used as <partition name>: KIWI uses
// them for its own partitions.
var reservedPartitionNames = []string{"root", "readonly", "boot", "prep", "spare", "swap", "efi_csm", "efi"}

// checkRules applies the rules of KIWI's schematron and runtime checks
// that go beyond single values, to the whole processed description.
func checkRules(root *node, p *problems) {
	if n := len(root.elements("description")); n > 1 {
		p.errorf(root.elements("description")[1].Pos, "only one <description> section is allowed, found %d", n)
	}
	packageManagers := map[string]bool{}
	for _, pref := range root.elements("preferences") {
		for _, pm := range pref.elements("packagemanager") {
			packageManagers[pm.Text] = true
		}
		for _, v := range pref.elements("version") {
			if !versionPattern.MatchString(v.Text) {
				p.errorf(v.Pos, "<version>%s</version>: the image version must be Major.Minor.Release, e.g. 1.2.3", v.Text)
			}
		}
		checkTypes(pref, p)
	}
	for _, repo := range root.elements("repository") {
		if _, ok := repo.attr("architectures"); ok && repo.get("type") != "apt-deb" {
			p.errorf(repo.Pos, "<repository>: the architectures attribute is only available for repositories of type apt-deb")
		}
		if src := repo.first("source"); src != nil && strings.TrimSpace(src.get("path")) == "" {
			p.errorf(src.Pos, "<source> of a repository needs a non-empty path")
		}
	}
	for _, pk := range root.elements("packages") {
		typ := pk.get("type")
		if _, ok := pk.attr("bootstrap_package"); ok {
			if typ != "bootstrap" {
				p.errorf(pk.Pos, "<packages type=%q>: bootstrap_package is only available for the bootstrap packages", typ)
			} else if !packageManagers["apt"] {
				p.errorf(pk.Pos, "<packages>: bootstrap_package is only available for the apt packagemanager")
			}
		}
		for _, cm := range pk.elements("collectionModule") {
			if typ != "bootstrap" {
				p.errorf(cm.Pos, "<collectionModule> is only available in the bootstrap packages section")
			}
			if v, _ := parseBool(cm.get("enable")); !v {
				if _, ok := cm.attr("stream"); ok {
					p.errorf(cm.Pos, "<collectionModule>: the stream attribute is not allowed to disable a module")
				}
			}
		}
	}
	for _, users := range root.elements("users") {
		for _, u := range users.elements("user") {
			if strings.TrimSpace(u.get("name")) == "" {
				if _, ok := u.attr("name"); ok {
					p.errorf(u.Pos, "<user> name must not be empty")
				}
			}
		}
	}
	checkProfiles(root, p)
}

// checkTypes checks the <type> sections of one <preferences>.
func checkTypes(pref *node, p *problems) {
	seen := map[string]Pos{}
	primaries := 0
	for _, t := range pref.elements("type") {
		image := t.get("image")
		if first, dup := seen[image]; dup && image != "" {
			p.errorf(t.Pos, "<type image=%q> is defined twice in the same <preferences> (first at %s); --type could only ever select the first", image, first)
		} else {
			seen[image] = t.Pos
		}
		if v, _ := parseBool(t.get("primary")); v {
			primaries++
			if primaries == 2 {
				p.errorf(t.Pos, "more than one <type primary=\"true\"> in the same <preferences>")
			}
		}
		checkType(t, image, p)
	}
}

// checkType applies the per-type schematron rules.
func checkType(t *node, image string, p *problems) {
	for _, a := range t.Attrs {
		if images, ok := typeAttrImages[a.Name.Local]; ok && a.Name.Space == "" && image != "" && !slices.Contains(images, image) {
			p.errorf(t.Pos, "<type image=%q>: the %s attribute is only available for the image types %s", image, a.Name.Local, strings.Join(images, ", "))
		}
	}
	if image == "oem" {
		if _, ok := t.attr("filesystem"); !ok {
			p.errorf(t.Pos, "<type image=\"oem\"> needs the filesystem attribute")
		}
		if df, ok := t.attr("derived_from"); ok && df != "" {
			f := t.get("format")
			if !strings.HasPrefix(f, "oci:") && !strings.HasPrefix(f, "docker:") {
				p.errorf(t.Pos, "<type image=\"oem\">: derived_from can only be used with format=\"oci:<disk format>\" or format=\"docker:<disk format>\"")
			}
		}
	}
	if image == "appx" {
		if _, ok := t.attr("metadata_path"); !ok {
			p.errorf(t.Pos, "<type image=\"appx\"> needs the metadata_path attribute")
		}
	}
	if fs, ok := t.attr("filesystem"); ok && fs != "btrfs" {
		for _, a := range btrfsOnlyTypeAttrs {
			if _, set := t.attr(a); set {
				p.errorf(t.Pos, "<type>: the %s attribute is only supported with filesystem=\"btrfs\"", a)
			}
		}
	}
	requires := [][2]string{
		{"embed_verity_metadata", "verity_blocks"},
		{"embed_integrity_metadata", "standalone_integrity"},
		{"integrity_legacy_hmac", "standalone_integrity"},
	}
	for _, r := range requires {
		if _, ok := t.attr(r[0]); ok {
			if _, ok := t.attr(r[1]); !ok {
				p.errorf(t.Pos, "<type>: %s needs the %s attribute", r[0], r[1])
			}
		}
	}
	if t.get("format") == "vagrant" {
		if vc := t.first("vagrantconfig"); vc == nil || vc.get("provider") == "" {
			p.errorf(t.Pos, "<type format=\"vagrant\"> needs a <vagrantconfig provider=...> section")
		}
	}
	if t.first("luksformat") != nil {
		if _, ok := t.attr("luks"); !ok {
			p.errorf(t.first("luksformat").Pos, "<luksformat> needs the luks attribute in its <type>")
		}
	}
	if bl := t.first("bootloader"); bl != nil {
		if image != "oem" && image != "iso" {
			p.errorf(bl.Pos, "<bootloader> is only available for the image types oem, iso")
		}
		name := bl.get("name")
		for _, a := range bl.Attrs {
			if names, ok := bootloaderAttrNames[a.Name.Local]; ok && a.Name.Space == "" && !slices.Contains(names, name) {
				p.errorf(bl.Pos, "<bootloader name=%q>: the %s attribute is only available for the bootloaders %s", name, a.Name.Local, strings.Join(names, ", "))
			}
		}
	}
	if cc := t.first("containerconfig"); cc != nil {
		for _, a := range cc.Attrs {
			if images, ok := containerconfigAttrImages[a.Name.Local]; ok && a.Name.Space == "" && !slices.Contains(images, image) {
				p.errorf(cc.Pos, "<containerconfig>: the %s attribute is only available for the image types %s", a.Name.Local, strings.Join(images, ", "))
			}
		}
	}
	for _, s := range t.elements("size") {
		if u, ok := s.attr("unpartitioned"); ok {
			un, err1 := strconv.ParseUint(u, 10, 63)
			sz, err2 := strconv.ParseUint(s.Text, 10, 63)
			if err1 == nil && err2 == nil && un > sz {
				p.errorf(s.Pos, "<size>: unpartitioned (%d) must be smaller than or equal to the size (%d)", un, sz)
			}
		}
	}
	if parts := t.first("partitions"); parts != nil {
		for _, pt := range parts.elements("partition") {
			if slices.Contains(reservedPartitionNames, pt.get("name")) {
				p.errorf(pt.Pos, "<partition name=%q>: the name is reserved for KIWI's own partitions (%s)", pt.get("name"), strings.Join(reservedPartitionNames, ", "))
			}
		}
	}
}

// checkProfiles warns about profiles= that name no defined profile and
// reports <requires> of unknown profiles and duplicate profile names.
func checkProfiles(root *node, p *problems) {
	defined := map[string]bool{}
	for _, ps := range root.elements("profiles") {
		for _, pr := range ps.elements("profile") {
			name := pr.get("name")
			if defined[name] {
				p.errorf(pr.Pos, "profile %q is defined more than once", name)
			}
			defined[name] = true
		}
	}
	for _, ps := range root.elements("profiles") {
		for _, pr := range ps.elements("profile") {
			for _, rq := range pr.elements("requires") {
				if r := rq.get("profile"); r != "" && !defined[r] {
					p.errorf(rq.Pos, "profile %q requires the undefined profile %q", pr.get("name"), r)
				}
			}
		}
	}
	for _, c := range root.elements("") {
		v, ok := c.attr("profiles")
		if !ok {
			continue
		}
		for _, name := range splitList(v) {
			if !defined[name] {
				p.warnf(c.Pos, "<%s profiles=%q>: profile %q is not defined in <profiles>; the section is never used for it", c.Name, v, name)
			}
		}
	}
}

// splitList splits a comma separated attribute value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

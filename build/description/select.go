package description

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kiwi-go/kiwi/internal/arch"
)

// defaultPackageManager is what KIWI uses when no <packagemanager> applies.
const defaultPackageManager = "zypper"

// Select applies profiles, architecture and type selection, as KIWI does:
//   - profiles: without o.Profiles the profiles marked import="true";
//     with them exactly those, each followed by the profiles it
//     <requires> (recursively). Only profiles whose arch= matches the
//     target exist; asking for any other is an error naming the known
//     ones.
//   - a section without profiles= always applies; one with profiles=
//     applies when any selected profile is listed; arch= (a comma list)
//     must contain the target architecture.
//   - type: among the types of the <preferences> that apply, in
//     document order: the one whose image= is o.Type, else the first with
//     primary="true", else the first. None is an error.
//   - preferences: for each setting the first value that applies wins.
//
// The returned Description shares nothing with s.
func (s *Source) Select(o LoadOptions) (*Description, error) {
	target := o.TargetArch
	if target == "" {
		target = arch.Host()
	}
	profiles, err := s.selectProfiles(o.Profiles, target)
	if err != nil {
		return nil, err
	}
	root := s.root
	applies := func(n *node) bool { return profileMatches(n, profiles) && archMatches(n, target) }
	d := &Description{
		File: s.File, Dir: s.Dir, SchemaVersion: s.SchemaVersion,
		Name: root.get("name"), DisplayName: root.get("displayname"), ID: root.get("id"),
		TargetArch: target, Profiles: profiles, src: s,
		Packages: map[string]*Packages{},
	}
	if d.Profiles == nil {
		d.Profiles = []string{}
	}
	if info := root.first("description"); info != nil {
		d.Info = Info{
			Type: info.get("type"), Author: info.childText("author"), Contact: info.childText("contact"),
			Specification: info.childText("specification"), License: info.childText("license"),
		}
	}

	var prefs []*node
	for _, p := range root.elements("preferences") {
		if applies(p) {
			prefs = append(prefs, p)
		}
	}
	typeNode, names, err := s.selectType(prefs, o.Type, profiles, target)
	if err != nil {
		return nil, err
	}
	d.TypeNames = names
	d.Type = decodeType(typeNode, target)
	d.Version, d.Preferences = mergePreferences(prefs)
	if d.Version == "" {
		return nil, &InvalidError{File: s.File, Problems: []Problem{{Pos: root.Pos, Msg: fmt.Sprintf("no <version> in the <preferences> that apply to profiles [%s] on %s: the image version is required", strings.Join(profiles, ","), target)}}}
	}
	if d.Preferences.PackageManager == "" {
		d.Preferences.PackageManager = defaultPackageManager
		if o.Warn != nil {
			o.Warn(Problem{Pos: root.Pos, Msg: "no <packagemanager> in the <preferences> that apply; using " + defaultPackageManager + " as KIWI does"})
		}
	}

	d.Repositories = []Repository{}
	for _, r := range root.elements("repository") {
		if applies(r) {
			d.Repositories = append(d.Repositories, decodeRepository(r))
		}
	}
	sections := []string{"bootstrap", "image", "delete", "uninstall", "systemfiles", d.Type.Image}
	for _, pk := range root.elements("packages") {
		typ := pk.get("type")
		if !profileMatches(pk, profiles) || !slices.Contains(sections, typ) {
			continue
		}
		p := d.Packages[typ]
		if p == nil {
			p = &Packages{Type: typ}
			d.Packages[typ] = p
		}
		addPackages(p, pk, target)
	}
	d.Users = []User{}
	for _, us := range root.elements("users") {
		if !applies(us) {
			continue
		}
		for _, u := range us.elements("user") {
			d.Users = append(d.Users, decodeUser(u))
		}
	}
	for _, dr := range root.elements("drivers") {
		if !applies(dr) {
			continue
		}
		for _, f := range dr.elements("file") {
			if archMatches(f, target) {
				d.Drivers = append(d.Drivers, f.get("name"))
			}
		}
	}
	for _, st := range root.elements("strip") {
		if !applies(st) {
			continue
		}
		if d.Strip == nil {
			d.Strip = map[string][]string{}
		}
		for _, f := range st.elements("file") {
			if archMatches(f, target) {
				d.Strip[st.get("type")] = append(d.Strip[st.get("type")], f.get("name"))
			}
		}
	}
	for _, cs := range root.elements("containers") {
		if !applies(cs) {
			continue
		}
		for _, c := range cs.elements("container") {
			if archMatches(c, target) {
				d.Containers = append(d.Containers, Container{
					Source: cs.get("source"), Backend: cs.get("backend"), Name: c.get("name"),
					Tag: c.get("tag"), Path: c.get("path"), FetchOnly: boolAttr(c, "fetch_only"),
				})
			}
		}
	}
	for _, cs := range root.elements("certificates") {
		if !profileMatches(cs, profiles) {
			continue
		}
		if d.Certificates == nil {
			d.Certificates = &Certificates{TargetDistribution: cs.get("target_distribution")}
		}
		for _, c := range cs.elements("certificate") {
			d.Certificates.Names = append(d.Certificates.Names, c.get("name"))
		}
	}
	return d, nil
}

// selectProfiles resolves the requested profiles (or the import ones).
func (s *Source) selectProfiles(requested []string, arch string) ([]string, error) {
	all := s.Profiles()
	available := map[string]Profile{}
	var imports, known []string
	for _, p := range all {
		if len(p.Arch) > 0 && !slices.Contains(p.Arch, arch) {
			continue
		}
		available[p.Name] = p
		known = append(known, p.Name)
		if p.Import {
			imports = append(imports, p.Name)
		}
	}
	if len(requested) == 0 {
		return imports, nil
	}
	var selected []string
	var add func(name, by string) error
	add = func(name, by string) error {
		if _, ok := available[name]; !ok {
			where := ""
			if by != "" {
				where = fmt.Sprintf(" (required by profile %q)", by)
			}
			for _, q := range all {
				if q.Name == name {
					return fmt.Errorf("%s: profile %q%s is not available for arch %s (it is for %s)", q.Pos, name, where, arch, strings.Join(q.Arch, ","))
				}
			}
			if len(known) == 0 {
				return fmt.Errorf("%s: profile %q%s not found: the description defines no profiles", s.File, name, where)
			}
			return fmt.Errorf("%s: profile %q%s not found; known profiles: %s", s.File, name, where, strings.Join(known, ", "))
		}
		if slices.Contains(selected, name) {
			return nil
		}
		selected = append(selected, name)
		for _, rq := range s.requires(name, arch) {
			if err := add(rq, name); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range requested {
		if err := add(name, ""); err != nil {
			return nil, err
		}
	}
	return selected, nil
}

// requires lists the <requires profile> of profile name matching arch.
func (s *Source) requires(name, arch string) []string {
	var out []string
	for _, ps := range s.root.elements("profiles") {
		for _, p := range ps.elements("profile") {
			if p.get("name") != name || !archMatches(p, arch) {
				continue
			}
			for _, r := range p.elements("requires") {
				if archMatches(r, arch) {
					out = append(out, r.get("profile"))
				}
			}
		}
	}
	return out
}

// selectType picks the build type among the types of prefs.
func (s *Source) selectType(prefs []*node, want string, profiles []string, arch string) (*node, []string, error) {
	var types []*node
	var names []string
	for _, p := range prefs {
		for _, t := range p.elements("type") {
			types = append(types, t)
			names = append(names, t.get("image"))
		}
	}
	sel := fmt.Sprintf("profiles [%s] on %s", strings.Join(profiles, ","), arch)
	if want != "" {
		for _, t := range types {
			if t.get("image") == want {
				return t, names, nil
			}
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("%s: build type %q not found: no <type> applies to %s", s.File, want, sel)
		}
		return nil, nil, fmt.Errorf("%s: build type %q not found for %s; available types: %s", s.File, want, sel, strings.Join(uniq(names), ", "))
	}
	for _, t := range types {
		if boolAttr(t, "primary") {
			return t, names, nil
		}
	}
	if len(types) > 0 {
		return types[0], names, nil
	}
	hint := ""
	if len(profiles) == 0 && len(s.Profiles()) > 0 {
		hint = " (select a profile with --profile)"
	}
	return nil, nil, fmt.Errorf("%s: no build type: no <preferences> with a <type> applies to %s%s", s.File, sel, hint)
}

// mergePreferences takes for each setting the first value in prefs.
func mergePreferences(prefs []*node) (string, Preferences) {
	var version string
	var p Preferences
	set := map[string]bool{}
	first := func(n *node, name string) (string, bool) {
		if set[name] {
			return "", false
		}
		c := n.first(name)
		if c == nil {
			return "", false
		}
		set[name] = true
		return c.Text, true
	}
	for _, n := range prefs {
		if v, ok := first(n, "version"); ok {
			version = v
		}
		if v, ok := first(n, "packagemanager"); ok {
			p.PackageManager = v
		}
		if v, ok := first(n, "locale"); ok {
			p.Locale = splitList(v)
		}
		if v, ok := first(n, "keytable"); ok {
			p.Keytable = v
		}
		if v, ok := first(n, "timezone"); ok {
			p.Timezone = v
		}
		if v, ok := first(n, "bootsplash-theme"); ok {
			p.BootsplashTheme = v
		}
		if v, ok := first(n, "bootloader-theme"); ok {
			p.BootloaderTheme = v
		}
		if v, ok := first(n, "release-version"); ok {
			p.ReleaseVersion = v
		}
		if v, ok := first(n, "rpm-check-signatures"); ok {
			p.RPMCheckSignatures, _ = parseBool(v)
		}
		if v, ok := first(n, "rpm-excludedocs"); ok {
			p.RPMExcludeDocs, _ = parseBool(v)
		}
		if v, ok := first(n, "rpm-locale-filtering"); ok {
			p.RPMLocaleFiltering, _ = parseBool(v)
		}
		for _, l := range n.elements("showlicense") {
			p.ShowLicense = append(p.ShowLicense, l.Text)
		}
	}
	return version, p
}

// profileMatches reports whether section n applies to the selected
// profiles: no profiles= attribute, or one of its names selected.
func profileMatches(n *node, selected []string) bool {
	v := n.get("profiles")
	if strings.TrimSpace(v) == "" {
		return true
	}
	for _, name := range splitList(v) {
		if slices.Contains(selected, name) {
			return true
		}
	}
	return false
}

// archMatches reports whether n has no arch= or lists arch.
func archMatches(n *node, arch string) bool {
	v, ok := n.attr("arch")
	if !ok {
		return true
	}
	return slices.Contains(splitList(v), arch)
}

func uniq(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

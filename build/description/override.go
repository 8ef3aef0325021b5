package description

import (
	"fmt"
	"os"
	"strings"
)

// Overrides are the command line's changes to a description, as KIWI's
// prepare and build take them (--set-repo, --add-repo, --ignore-repos,
// --add-package, --add-bootstrap-package, --delete-package,
// --set-type-attr, --set-release-version). They are applied to the
// description tree itself, so the description imported into the root
// (root/image/config.xml) says what was built and create sees the same.
type Overrides struct {
	IgnoreRepos bool
	// IgnoreReposUsedForBuild drops the repositories the build installs
	// from, keeping the imageonly ones (which only go into the image).
	IgnoreReposUsedForBuild bool
	// SetRepo replaces the first repository; AddRepos are appended.
	SetRepo  *RepoTuple
	AddRepos []RepoTuple

	AddPackages          []string
	AddBootstrapPackages []string
	DeletePackages       []string
	// TypeAttrs are attr=value settings of the selected <type>, in order.
	TypeAttrs      []string
	ReleaseVersion string
	// Container images (--set-container-tag, --add-container-label
	// name=value, --set-container-derived-from). Unlike KIWI, which
	// warns and builds without them when the description has no
	// <containerconfig tag> or derived_from to replace, they are set
	// (a <containerconfig name="kiwi-container"> is added when missing),
	// and refused for types that are no container.
	ContainerTag    string
	ContainerLabels []string
	DerivedFrom     string
}

// Empty tells whether o changes nothing.
func (o Overrides) Empty() bool {
	return !o.IgnoreRepos && !o.IgnoreReposUsedForBuild && o.SetRepo == nil && len(o.AddRepos) == 0 && len(o.AddPackages) == 0 &&
		len(o.AddBootstrapPackages) == 0 && len(o.DeletePackages) == 0 && len(o.TypeAttrs) == 0 && o.ReleaseVersion == "" &&
		o.ContainerTag == "" && len(o.ContainerLabels) == 0 && o.DerivedFrom == ""
}

// RepoTuple is KIWI's repository argument:
// source,type,alias,priority,imageinclude,package_gpgcheck,{signing_keys},components,distribution,repo_gpgcheck,sourcetype
// Only source is required; empty fields are left unset. signing_keys are
// separated by ';' inside the braces.
type RepoTuple struct {
	Source, Type, Alias, Priority          string
	ImageInclude, PackageGPGCheck          string
	SigningKeys                            []string
	Components, Distribution, RepoGPGCheck string
	SourceType                             string
	// Username and Password are the repository's credentials
	// (--set-repo-credentials, --add-repo-credentials).
	Username, Password string
}

// ParseRepoCredentials reads KIWI's user:pass_or_filename: the password
// itself, or a file whose first line is the password. Errors never
// repeat the value (it holds a secret).
func ParseRepoCredentials(s string) (user, password string, err error) {
	user, rest, ok := strings.Cut(s, ":")
	if !ok || user == "" || rest == "" {
		return "", "", fmt.Errorf("credentials: use USER:PASSWORD or USER:FILE (a file holding the password)")
	}
	if fi, err := os.Stat(rest); err == nil && fi.Mode().IsRegular() {
		b, err := os.ReadFile(rest)
		if err != nil {
			return "", "", fmt.Errorf("credentials of %s: read the password file: %w", user, err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		if rest = strings.TrimSpace(first); rest == "" {
			return "", "", fmt.Errorf("credentials of %s: the password file is empty", user)
		}
	}
	return user, rest, nil
}

// ParseRepoTuple reads a --set-repo/--add-repo argument. Errors name the
// field and what it takes.
func ParseRepoTuple(s string) (RepoTuple, error) {
	var fields []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				fields = append(fields, s[start:i])
				start = i + 1
			}
		}
	}
	fields = append(fields, s[start:])
	if depth != 0 {
		return RepoTuple{}, fmt.Errorf("repository %q: unbalanced braces around the signing keys", s)
	}
	if len(fields) > 11 {
		return RepoTuple{}, fmt.Errorf("repository %q: %d fields, at most 11: source,type,alias,priority,imageinclude,package_gpgcheck,{keys;...},components,distribution,repo_gpgcheck,sourcetype", s, len(fields))
	}
	for len(fields) < 11 {
		fields = append(fields, "")
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	t := RepoTuple{
		Source: fields[0], Type: fields[1], Alias: fields[2], Priority: fields[3],
		ImageInclude: fields[4], PackageGPGCheck: fields[5],
		Components: fields[7], Distribution: fields[8], RepoGPGCheck: fields[9], SourceType: fields[10],
	}
	if t.Source == "" {
		return RepoTuple{}, fmt.Errorf("repository %q: the first field, the source URL, is required (e.g. http://deb.debian.org/debian,apt-deb,debian,,,,,main,bookworm)", s)
	}
	if keys := strings.Trim(fields[6], "{}"); keys != "" {
		for _, k := range strings.Split(keys, ";") {
			if k = strings.TrimSpace(k); k != "" {
				t.SigningKeys = append(t.SigningKeys, k)
			}
		}
	}
	for _, f := range [][2]string{{"imageinclude", t.ImageInclude}, {"package_gpgcheck", t.PackageGPGCheck}, {"repo_gpgcheck", t.RepoGPGCheck}} {
		if _, ok := parseBool(f[1]); f[1] != "" && !ok {
			return RepoTuple{}, fmt.Errorf("repository %q: %s is %q: use true or false", s, f[0], f[1])
		}
	}
	return t, nil
}

// node renders the tuple as a <repository> element.
func (t RepoTuple) node(pos Pos) *node {
	n := &node{Name: "repository", Pos: pos}
	for _, a := range [][2]string{
		{"type", t.Type}, {"alias", t.Alias}, {"priority", t.Priority}, {"imageinclude", t.ImageInclude},
		{"package_gpgcheck", t.PackageGPGCheck}, {"components", t.Components}, {"distribution", t.Distribution},
		{"repository_gpgcheck", t.RepoGPGCheck}, {"sourcetype", t.SourceType},
		{"username", t.Username}, {"password", t.Password},
	} {
		if a[1] != "" {
			n.set(a[0], a[1])
		}
	}
	src := &node{Name: "source", Pos: pos}
	src.set("path", t.Source)
	for _, k := range t.SigningKeys {
		sig := &node{Name: "signing", Pos: pos}
		sig.set("key", k)
		src.Children = append(src.Children, sig)
	}
	n.Children = []*node{src}
	return n
}

// Override applies o to the description's tree and selects again with the
// same profiles, type and architecture. The result is checked like a
// loaded description: a value outside the allowed set (--set-type-attr
// firmware=bogus) is an error naming the option.
func (d *Description) Override(o Overrides, lo LoadOptions) (*Description, error) {
	if o.Empty() {
		return d, nil
	}
	root := d.src.root
	cli := Pos{File: "command line"}
	if o.IgnoreRepos {
		root.Children = removeNodes(root.Children, "repository")
	}
	if o.IgnoreReposUsedForBuild {
		kept := root.Children[:0]
		for _, n := range root.Children {
			if n.Name != "repository" || boolAttr(n, "imageonly") {
				kept = append(kept, n)
			}
		}
		root.Children = kept
	}
	if o.SetRepo != nil {
		repos := root.elements("repository")
		if len(repos) == 0 {
			root.Children = append(root.Children, o.SetRepo.node(cli))
		} else {
			*repos[0] = *o.SetRepo.node(cli)
		}
	}
	for _, r := range o.AddRepos {
		root.Children = append(root.Children, r.node(cli))
	}
	addSection := func(typ string, names []string) {
		if len(names) == 0 {
			return
		}
		sec := &node{Name: "packages", Pos: cli}
		sec.set("type", typ)
		for _, n := range names {
			p := &node{Name: "package", Pos: cli}
			p.set("name", n)
			sec.Children = append(sec.Children, p)
		}
		root.Children = append(root.Children, sec)
	}
	addSection("image", o.AddPackages)
	addSection("bootstrap", o.AddBootstrapPackages)
	addSection("delete", o.DeletePackages)
	if len(o.TypeAttrs) > 0 {
		t := d.typeNode()
		if t == nil {
			return nil, fmt.Errorf("type attributes: the selected type %q was not found in %s", d.Type.Image, d.File)
		}
		for _, kv := range o.TypeAttrs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("type attribute %q: use attribute=value", kv)
			}
			if k == "image" {
				return nil, fmt.Errorf("type attribute %q: the image type is not an attribute to set; select the type instead", kv)
			}
			t.set(k, v)
		}
	}
	if err := d.overrideContainer(o, cli); err != nil {
		return nil, err
	}
	if o.ReleaseVersion != "" {
		prefs := root.first("preferences")
		if prefs == nil {
			return nil, fmt.Errorf("release version: %s has no <preferences>", d.File)
		}
		rv := prefs.first("release-version")
		if rv == nil {
			rv = &node{Name: "release-version", Pos: cli}
			prefs.Children = append([]*node{rv}, prefs.Children...)
		}
		rv.Text = o.ReleaseVersion
	}
	p := &problems{}
	checkSchema(root, p)
	checkRules(root, p)
	if err := p.err(d.File + " with the command line's changes"); err != nil {
		return nil, err
	}
	if lo.Type == "" {
		lo.Type = d.Type.Image
	}
	if len(lo.Profiles) == 0 {
		lo.Profiles = d.Profiles
	}
	if lo.TargetArch == "" {
		lo.TargetArch = d.TargetArch
	}
	return d.src.Select(lo)
}

// typeNode finds the selected <type> element in the tree by its position.
func (d *Description) typeNode() *node {
	var found *node
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.Children {
			if c.Name == "type" && c.Pos == d.Type.Pos {
				found = c
				return
			}
			walk(c)
		}
	}
	walk(d.src.root)
	return found
}

func removeNodes(nodes []*node, name string) []*node {
	out := nodes[:0]
	for _, n := range nodes {
		if n.Name != name {
			out = append(out, n)
		}
	}
	return out
}

// overrideContainer applies the container options of o to the selected
// <type>.
func (d *Description) overrideContainer(o Overrides, cli Pos) error {
	if o.ContainerTag == "" && len(o.ContainerLabels) == 0 && o.DerivedFrom == "" {
		return nil
	}
	if d.Type.Image != "docker" && d.Type.Image != "oci" {
		return fmt.Errorf("container options (--set-container-tag, --add-container-label, --set-container-derived-from): the selected type %q is no container image; select a docker or oci type", d.Type.Image)
	}
	t := d.typeNode()
	if t == nil {
		return fmt.Errorf("container options: the selected type %q was not found in %s", d.Type.Image, d.File)
	}
	if o.DerivedFrom != "" {
		t.set("derived_from", o.DerivedFrom)
	}
	if o.ContainerTag == "" && len(o.ContainerLabels) == 0 {
		return nil
	}
	cc := t.first("containerconfig")
	if cc == nil {
		cc = &node{Name: "containerconfig", Pos: cli}
		cc.set("name", "kiwi-container")
		t.Children = append(t.Children, cc)
	}
	if o.ContainerTag != "" {
		cc.set("tag", o.ContainerTag)
	}
	for _, kv := range o.ContainerLabels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("container label %q: use name=value", kv)
		}
		labels := cc.first("labels")
		if labels == nil {
			labels = &node{Name: "labels", Pos: cli}
			cc.Children = append(cc.Children, labels)
		}
		var label *node
		for _, l := range labels.elements("label") {
			if l.get("name") == k {
				label = l
			}
		}
		if label == nil {
			label = &node{Name: "label", Pos: cli}
			label.set("name", k)
			labels.Children = append(labels.Children, label)
		}
		label.set("value", v)
	}
	return nil
}

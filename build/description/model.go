package description

// Description is a KIWI image description with profiles, architecture and
// build type selected: everything later stages (prepare, create) need, as
// plain values. Sections that do not apply to the selected profiles or
// target architecture are already left out. Load returns it.
type Description struct {
	File          string `json:"file"` // the description file read
	Dir           string `json:"dir"`  // its directory: base of this://, scripts, root/
	SchemaVersion string `json:"schemaversion"`

	Name        string `json:"name"`
	DisplayName string `json:"displayname,omitempty"`
	ID          string `json:"id,omitempty"`
	Version     string `json:"version"`
	Info        Info   `json:"description"`

	// TargetArch is the KIWI architecture name (x86_64, aarch64, ...)
	// the arch= filters were applied for.
	TargetArch string `json:"target_arch"`
	// Profiles are the selected profiles in resolution order: the
	// requested ones each followed by what they require.
	Profiles []string `json:"profiles"`
	// Type is the selected build type; TypeNames are the image names of
	// all types available for the selected profiles, in order.
	Type      Type     `json:"type"`
	TypeNames []string `json:"types"`

	Preferences  Preferences          `json:"preferences"`
	Repositories []Repository         `json:"repositories"`
	Packages     map[string]*Packages `json:"packages"`
	Users        []User               `json:"users"`
	Drivers      []string             `json:"drivers,omitempty"`
	// Strip holds the <strip> file lists by type (delete, tools, libs).
	Strip        map[string][]string `json:"strip,omitempty"`
	Containers   []Container         `json:"containers,omitempty"`
	Certificates *Certificates       `json:"certificates,omitempty"`

	src *Source
}

// Info is the <description> section.
type Info struct {
	Type          string `json:"type"` // system or boot
	Author        string `json:"author"`
	Contact       string `json:"contact"`
	Specification string `json:"specification"`
	License       string `json:"license,omitempty"`
}

// Preferences are the <preferences> settings that apply, merged: for
// each setting the first value found in document order wins, as in KIWI.
type Preferences struct {
	PackageManager     string   `json:"packagemanager"`
	Locale             []string `json:"locale,omitempty"`
	Keytable           string   `json:"keytable,omitempty"`
	Timezone           string   `json:"timezone,omitempty"`
	BootsplashTheme    string   `json:"bootsplash_theme,omitempty"`
	BootloaderTheme    string   `json:"bootloader_theme,omitempty"`
	ReleaseVersion     string   `json:"release_version,omitempty"`
	RPMCheckSignatures bool     `json:"rpm_check_signatures"`
	RPMExcludeDocs     bool     `json:"rpm_excludedocs"`
	RPMLocaleFiltering bool     `json:"rpm_locale_filtering"`
	ShowLicense        []string `json:"showlicense,omitempty"`
}

// Repository is one <repository>.
type Repository struct {
	Pos           Pos    `json:"pos"`
	Type          string `json:"type,omitempty"` // rpm-md, apt-deb, ...; "" lets the package manager decide
	Alias         string `json:"alias,omitempty"`
	Priority      int    `json:"priority,omitempty"` // 0: not set
	ImageInclude  bool   `json:"imageinclude"`
	ImageOnly     bool   `json:"imageonly"`
	Components    string `json:"components,omitempty"`
	Distribution  string `json:"distribution,omitempty"`
	Architectures string `json:"architectures,omitempty"`
	SourceType    string `json:"sourcetype,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Customize     string `json:"customize,omitempty"`
	PreferLicense bool   `json:"prefer_license,omitempty"`
	// RepositoryGPGCheck and PackageGPGCheck are nil when not set: then
	// nothing is written into the repository configuration.
	RepositoryGPGCheck *bool             `json:"repository_gpgcheck,omitempty"`
	PackageGPGCheck    *bool             `json:"package_gpgcheck,omitempty"`
	Source             string            `json:"source"`
	SigningKeys        []string          `json:"signing_keys,omitempty"`
	Attr               map[string]string `json:"attributes"`
}

// Packages is the merged content of all <packages> sections of one type
// (bootstrap, image, delete, uninstall, systemfiles or the selected image
// type) that apply, with arch= already applied to each entry.
type Packages struct {
	Type             string             `json:"type"`
	PatternType      string             `json:"patternType,omitempty"`
	BootstrapPackage string             `json:"bootstrap_package,omitempty"`
	Packages         []Package          `json:"packages,omitempty"`
	Collections      []string           `json:"collections,omitempty"`
	Products         []string           `json:"products,omitempty"`
	Archives         []Archive          `json:"archives,omitempty"`
	Files            []File             `json:"files,omitempty"`
	Ignore           []string           `json:"ignore,omitempty"`
	Modules          []CollectionModule `json:"collection_modules,omitempty"`
}

// Names returns the package names in order.
func (p *Packages) Names() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.Packages))
	for _, pk := range p.Packages {
		out = append(out, pk.Name)
	}
	return out
}

// Package is one <package>.
type Package struct {
	Name        string `json:"name"`
	BootInclude bool   `json:"bootinclude,omitempty"`
	BootDelete  bool   `json:"bootdelete,omitempty"`
	Pos         Pos    `json:"-"`
}

// Archive is one <archive>: a tarball unpacked into the root.
type Archive struct {
	Name        string `json:"name"`
	TargetDir   string `json:"target_dir,omitempty"`
	BootInclude bool   `json:"bootinclude,omitempty"`
	Pos         Pos    `json:"-"`
}

// File is one <file> of a packages section: copied into the root.
type File struct {
	Name        string `json:"name"`
	Target      string `json:"target,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Permissions string `json:"permissions,omitempty"`
	Pos         Pos    `json:"-"`
}

// CollectionModule is one <collectionModule> (dnf modules).
type CollectionModule struct {
	Name   string `json:"name"`
	Stream string `json:"stream,omitempty"`
	Enable bool   `json:"enable"`
}

// User is one <user>.
type User struct {
	Name      string   `json:"name"`
	Groups    []string `json:"groups,omitempty"` // first: login group; "name:gid" sets a group id
	Home      string   `json:"home,omitempty"`
	ID        *int     `json:"id,omitempty"`
	Password  string   `json:"password,omitempty"`
	PwdFormat string   `json:"pwdformat,omitempty"` // encrypted (default) or plain
	RealName  string   `json:"realname,omitempty"`
	Shell     string   `json:"shell,omitempty"`
	Pos       Pos      `json:"-"`
}

// Container is one <container> of a <containers> section: an image to
// fetch into the root.
type Container struct {
	Source    string `json:"source"`
	Backend   string `json:"backend"`
	Name      string `json:"name"`
	Tag       string `json:"tag,omitempty"`
	Path      string `json:"path,omitempty"`
	FetchOnly bool   `json:"fetch_only,omitempty"`
}

// Certificates is the <certificates> section.
type Certificates struct {
	TargetDistribution string   `json:"target_distribution"`
	Names              []string `json:"names"`
}

// Element is any XML element in generic form, for the parts of a type
// no stage reads through typed fields yet (machine, vagrantconfig,
// installmedia, initrd, luksformat...).
type Element struct {
	Name     string            `json:"name"`
	Attr     map[string]string `json:"attributes,omitempty"`
	Text     string            `json:"text,omitempty"`
	Children []*Element        `json:"children,omitempty"`
}

// Profile is one <profile> of the description.
type Profile struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Import      bool     `json:"import"`
	Arch        []string `json:"arch,omitempty"`
	Requires    []string `json:"requires,omitempty"`
	Pos         Pos      `json:"-"`
}

// PackageNames returns the names of the sections' packages, in order,
// without duplicates.
func (d *Description) PackageNames(sections ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, sec := range sections {
		for _, n := range d.Packages[sec].Names() {
			if n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/build/prepare"
)

// prepareFlags are the options system prepare and system build share
// (KIWI's names), also accepted after -- by stackbuild --description.
type prepareFlags struct {
	allowExistingRoot bool
	clearCache        bool
	ignoreRepos       bool
	setRepo           string
	addRepos          []string
	// setRepoCredentials and addRepoCredentials are USER:PASSWORD or
	// USER:FILE for the --set-repo and --add-repo repositories.
	setRepoCredentials string
	addRepoCredentials []string
	addPackages        []string
	addBootstrap       []string
	deletePackages     []string
	signingKeys        []string
	typeAttrs          []string
	releaseVersion     string
	containerTag       string
	containerLabels    []string
	derivedFrom        string
	noContainer        bool

	ignoreReposUsedForBuild bool
}

func (p *prepareFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&p.allowExistingRoot, "allow-existing-root", false, "build on an existing root tree instead of refusing it")
	f.BoolVar(&p.clearCache, "clear-cache", false, "run every phase again and refresh the repository lists, ignoring what is cached")
	f.BoolVar(&p.ignoreRepos, "ignore-repos", false, "ignore the description's repositories (use --add-repo)")
	f.BoolVar(&p.ignoreReposUsedForBuild, "ignore-repos-used-for-build", false, "ignore the description's repositories but the imageonly ones (use --add-repo)")
	f.StringVar(&p.setRepo, "set-repo", "", "replace the first repository: source,type,alias,priority,imageinclude,package_gpgcheck,{keys;...},components,distribution,repo_gpgcheck,sourcetype")
	f.StringArrayVar(&p.addRepos, "add-repo", nil, "add a repository (same fields as --set-repo; repeatable)")
	f.StringVar(&p.setRepoCredentials, "set-repo-credentials", "", "credentials of the --set-repo repository: USER:PASSWORD or USER:FILE (zypper, dnf)")
	f.StringArrayVar(&p.addRepoCredentials, "add-repo-credentials", nil, "credentials of the --add-repo repositories, in their order: USER:PASSWORD or USER:FILE (repeatable)")
	f.StringArrayVar(&p.addPackages, "add-package", nil, "install this package too (repeatable)")
	f.StringArrayVar(&p.addBootstrap, "add-bootstrap-package", nil, "bootstrap this package too (repeatable)")
	f.StringArrayVar(&p.deletePackages, "delete-package", nil, "delete this package from the image (repeatable)")
	f.StringArrayVar(&p.signingKeys, "signing-key", nil, "repository signing key file to trust (repeatable)")
	f.StringArrayVar(&p.typeAttrs, "set-type-attr", nil, "set an attribute of the selected <type>: attr=value (repeatable)")
	f.StringVar(&p.releaseVersion, "set-release-version", "", "set <release-version> of the description")
	f.StringVar(&p.containerTag, "set-container-tag", "", "set the tag of a docker or oci image (<containerconfig tag>)")
	f.StringArrayVar(&p.containerLabels, "add-container-label", nil, "add or replace a label of a docker or oci image: name=value (repeatable)")
	f.StringVar(&p.derivedFrom, "set-container-derived-from", "", "set the base image of a docker or oci image (derived_from): docker://..., oci:..., a stash name, ...")
}

// parseBuildArgs checks args given after -- as system build options: the
// options prepare and build share, plus those extra registers. It runs
// before any work, so a wrong argument changes nothing.
func parseBuildArgs(args []string, p *prepareFlags, extra func(*pflag.FlagSet)) (*pflag.FlagSet, error) {
	fs := pflag.NewFlagSet("build arguments after --", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	p.register(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("arguments after --: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("arguments after --: unexpected %q", strings.Join(fs.Args(), " "))
	}
	return fs, nil
}

// overrides turns the flags into the description changes they ask for.
func (p *prepareFlags) overrides() (description.Overrides, error) {
	o := description.Overrides{
		IgnoreRepos: p.ignoreRepos, IgnoreReposUsedForBuild: p.ignoreReposUsedForBuild, AddPackages: p.addPackages, AddBootstrapPackages: p.addBootstrap,
		DeletePackages: p.deletePackages, TypeAttrs: p.typeAttrs, ReleaseVersion: p.releaseVersion,
		ContainerTag: p.containerTag, ContainerLabels: p.containerLabels, DerivedFrom: p.derivedFrom,
	}
	if p.setRepo != "" {
		t, err := description.ParseRepoTuple(p.setRepo)
		if err != nil {
			return o, fmt.Errorf("--set-repo: %w", err)
		}
		o.SetRepo = &t
	}
	if p.setRepoCredentials != "" {
		if o.SetRepo == nil {
			return o, fmt.Errorf("--set-repo-credentials: it is for the repository of --set-repo, and there is none")
		}
		var err error
		if o.SetRepo.Username, o.SetRepo.Password, err = description.ParseRepoCredentials(p.setRepoCredentials); err != nil {
			return o, fmt.Errorf("--set-repo-credentials: %w", err)
		}
	}
	if len(p.addRepoCredentials) > len(p.addRepos) {
		return o, fmt.Errorf("--add-repo-credentials: %d given for %d --add-repo repositories; give one per repository, in their order", len(p.addRepoCredentials), len(p.addRepos))
	}
	for i, r := range p.addRepos {
		t, err := description.ParseRepoTuple(r)
		if err != nil {
			return o, fmt.Errorf("--add-repo: %w", err)
		}
		if i < len(p.addRepoCredentials) {
			if t.Username, t.Password, err = description.ParseRepoCredentials(p.addRepoCredentials[i]); err != nil {
				return o, fmt.Errorf("--add-repo-credentials: %w", err)
			}
		}
		o.AddRepos = append(o.AddRepos, t)
	}
	for _, k := range p.signingKeys {
		if _, err := os.Stat(k); err != nil {
			return o, fmt.Errorf("--signing-key %s: %w", k, err)
		}
	}
	return o, nil
}

// loadForBuild reads the description with the global options and the
// command line's changes applied.
func loadForBuild(g *globals, dir string, p *prepareFlags) (*description.Description, error) {
	if dir == "" {
		return nil, fmt.Errorf("no description given: use --description DIR")
	}
	ov, err := p.overrides()
	if err != nil {
		return nil, err
	}
	lo := description.LoadOptions{Profiles: g.profiles, Type: g.types, TargetArch: g.targetArch, KiwiFile: g.kiwiFile, Warn: description.WarnLog(g.log)}
	d, err := build.Load(dir, lo, ov)
	switch {
	case errors.Is(err, description.ErrNoDescription) && g.kiwiFile != "":
		return nil, fmt.Errorf("--description with --kiwi-file %s: %w", g.kiwiFile, err)
	case errors.Is(err, description.ErrNoDescription):
		return nil, fmt.Errorf("--description: %w (--kiwi-file names another file)", err)
	case err != nil:
		return nil, fmt.Errorf("--description: %w", err)
	}
	return d, nil
}

// flagHint adds to a library error the command-line option that fixes
// it, where there is one.
func flagHint(err error) error {
	switch {
	case errors.Is(err, prepare.ErrRootExists):
		return fmt.Errorf("%w (--allow-existing-root builds on it)", err)
	}
	return err
}

// prepareOptions are the build library's options for a root made from
// the command line's flags.
func prepareOptions(g *globals, root string, p *prepareFlags) (build.Options, error) {
	o, err := buildOptions(g)
	if err != nil {
		return o, err
	}
	o.Prepare.Root, o.Prepare.AllowExistingRoot = root, p.allowExistingRoot
	o.Prepare.ClearCache, o.Prepare.SigningKeys = p.clearCache, p.signingKeys
	o.Container = !p.noContainer
	return o, nil
}

func newPrepareCommand(g *globals) *cobra.Command {
	var p prepareFlags
	var desc, root string
	c := &cobra.Command{
		Use:   "prepare --description DIR --root DIR",
		Short: "Make a root tree (and a container) from a description",
		Long: `prepare bootstraps an empty root with the description's bootstrap packages,
installs its image packages with the root's own package manager, and
configures it (overlay files, archives, users, keytable/locale/timezone,
config.sh), in KIWI's order. The root is also committed as the container
localhost/<name>:<version> in podman's storage, one layer per phase; an
unchanged phase is taken from its layer on the next prepare.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if root == "" {
				return fmt.Errorf("prepare needs --root DIR")
			}
			release, err := claim(g, commandLine(), map[string]string{root: "--root"}, []string{root})
			if err != nil {
				return err
			}
			defer release()
			d, err := loadForBuild(g, desc, &p)
			if err != nil {
				return err
			}
			o, err := prepareOptions(g, root, &p)
			if err != nil {
				return err
			}
			_, err = build.Prepare(cmd.Context(), d, o)
			return flagHint(err)
		},
	}
	f := c.Flags()
	f.StringVar(&desc, "description", "", "image description directory")
	f.StringVar(&root, "root", "", "root tree to make")
	f.BoolVar(&p.noContainer, "no-container", false, "do not commit the root as a container (and reuse no cached phase)")
	p.register(f)
	return c
}

func newBuildCommand(g *globals) *cobra.Command {
	var p prepareFlags
	var cf containerFlags
	var desc, target string
	c := &cobra.Command{
		Use:   "build --description DIR --target-dir DIR",
		Short: "Prepare a root tree from a description and create the image",
		Long: `build is prepare into DIR/build/image-root followed by create into DIR:
the root is made (and kept as a container, as prepare does) and the type
selected in the description is built from it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" {
				return fmt.Errorf("build needs --target-dir DIR")
			}
			release, err := claim(g, commandLine(), map[string]string{target: "--target-dir", filepath.Join(target, "build", "image-root"): "--root"},
				[]string{filepath.Join(target, "build", "image-root")})
			if err != nil {
				return err
			}
			defer release()
			d, err := loadForBuild(g, desc, &p)
			if err != nil {
				return err
			}
			o, err := prepareOptions(g, build.Root(target), &p)
			if err != nil {
				return err
			}
			cf.apply(&o)
			o.TargetDir = target
			results, err := build.Build(cmd.Context(), d, o)
			if err != nil {
				return flagHint(err)
			}
			logResults(g, results)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&desc, "description", "", "image description directory")
	f.StringVar(&target, "target-dir", "", "directory for the root (build/image-root) and the results")
	f.BoolVar(&p.noContainer, "no-container", false, "do not commit the root as a container (and reuse no cached phase)")
	p.register(f)
	cf.register(f)
	return c
}

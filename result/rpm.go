package result

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// rpmName is the package name of --package-as-rpm: the expanded bundle
// format (the command line's or the type's), else the image name.
func rpmName(r *Results, o BundleOptions) string {
	pattern := r.Format.Pattern
	if o.Format != "" {
		pattern = o.Format
	}
	if pattern != "" {
		return expand(r.Format.Tags, pattern, o.ID)
	}
	return r.Format.Tags.Name
}

// rpmNameAndVersion refuses what rpm cannot take as a name and version,
// before anything is bundled.
func rpmNameAndVersion(name, version string) error {
	if name == "" || strings.ContainsAny(name, " \t\n/%") {
		return fmt.Errorf("package name %q: a bundle_format or image name without blanks, '/' or '%%' is needed", name)
	}
	if version == "" || strings.ContainsAny(version, "- \t\n/%") {
		return fmt.Errorf("version %q: rpm needs a version without '-' or blanks (the image's <version>, e.g. 1.15.3)", version)
	}
	return nil
}

// rpmSpec is the package of a bundle: its files, hard-linked from the
// stage, in /var/tmp/<name>, owned by root.
const rpmSpec = `Name:      %[1]s
Version:   %[2]s
Release:   0
Summary:   %[1]s
License:   GPL-3.0-or-later
BuildArch: noarch

%%description
The image files of %[1]s %[2]s, bundled by kiwi result bundle.

%%install
install -d -m 755 %%{buildroot}/var/tmp/%[1]s
%[3]s

%%files
%%defattr(-, root, root)
/var/tmp/%[1]s
`

// packageRPM builds <name>-<version>-0.noarch.rpm in stage from the
// bundle's files there (which it removes) with rpmbuild, and returns its
// name. rpmbuild works in a directory of its own inside stage; the
// payload is xz at level 2 on every core: the files are mostly
// compressed already, and xz payloads are read by every rpm in use.
func packageRPM(ctx context.Context, run runner.Runner, stage string, files []string, name, version string) (string, error) {
	top, err := os.MkdirTemp(stage, ".rpmbuild-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(top)
	var install []string
	for _, f := range files {
		install = append(install, fmt.Sprintf("cp -l %%{_sourcedir}/%s %%{buildroot}/var/tmp/%s/", f, name))
	}
	spec := filepath.Join(top, name+".spec")
	if err := os.WriteFile(spec, []byte(fmt.Sprintf(rpmSpec, name, version, strings.Join(install, "\n"))), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(top, "out")
	args := []string{"-bb", "--nodeps", "--nocheck",
		"--define", "_topdir " + top, "--define", "_sourcedir " + stage, "--define", "_rpmdir " + out,
		"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
		"--define", "_binary_payload w2T.xzdio",
		// No post-install processing: the files are images, not programs.
		"--define", "__os_install_post %{nil}", "--define", "debug_package %{nil}", "--define", "_build_id_links none",
		spec}
	if _, err := run.Run(ctx, runner.Cmd{Name: "rpmbuild", Args: args}); err != nil {
		return "", err
	}
	rpm := fmt.Sprintf("%s-%s-0.noarch.rpm", name, version)
	if err := os.Rename(filepath.Join(out, rpm), filepath.Join(stage, rpm)); err != nil {
		return "", fmt.Errorf("rpmbuild made no %s: %w", rpm, err)
	}
	for _, f := range files {
		if err := os.Remove(filepath.Join(stage, f)); err != nil {
			return "", err
		}
	}
	return rpm, nil
}

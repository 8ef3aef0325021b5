package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/internal/timing"
	"github.com/kiwi-go/kiwi/internal/userns"
)

// globals are KIWI's global options; they stand before the command group
// (kiwi --profile X system build ...) and are read by every command.
type globals struct {
	types          string
	profiles       []string
	debug          bool
	logfile        string
	color          bool
	config         string
	targetArch     string
	kiwiFile       string
	sharedCacheDir string
	tempDir        string
	setenv         []string

	version string
	log     *slog.Logger
	// timing collects the phases of the command (in its context).
	timing   *timing.Record
	closeLog func()
	// runtime is what was read of KIWI's runtime config (kiwi.yml).
	runtime build.RuntimeConfig
}

func newRootCommand(name, version string) *cobra.Command {
	g := &globals{version: version}
	root := &cobra.Command{
		Use:           name,
		Short:         "Build appliance images from KIWI descriptions, OCI-native",
		Long:          "kiwi builds appliance images (disks, live ISOs, kernel+initrd+rootfs sets) from KIWI\nimage descriptions and keeps every root tree as an OCI layer stack in podman's storage.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup(cmd)
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			// The phases' times, after a command that had any.
			if line := g.timing.Summary(); line != "" {
				g.log.Info(line)
			}
			if g.closeLog != nil {
				g.closeLog()
			}
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.types, "type", "", "image type to build, overriding the description's primary type")
	f.StringArrayVar(&g.profiles, "profile", nil, "profile to use (repeatable)")
	f.BoolVar(&g.debug, "debug", false, "print debug messages, including every external command")
	f.StringVar(&g.logfile, "logfile", "", `write the log to this file ("stdout" for standard output)`)
	f.BoolVar(&g.color, "color-output", false, "colour the log levels")
	f.StringVar(&g.config, "config", "", "runtime configuration file")
	f.StringVar(&g.targetArch, "target-arch", "", "architecture of the image (default: the host's; another one is built through qemu-user-static's binfmt_misc handler)")
	f.StringVar(&g.kiwiFile, "kiwi-file", "", "name of the description file in the description directory")
	f.StringVar(&g.sharedCacheDir, "shared-cache-dir", defaultCacheDir(), "cache shared between builds (packages, layers, stash state)")
	f.StringVar(&g.tempDir, "temp-dir", "/var/tmp", "directory for temporary data")
	f.StringArrayVar(&g.setenv, "setenv", nil, "set VAR=value in the environment of the build (repeatable)")
	root.AddCommand(newSystemCommand(g))
	root.AddCommand(newImageCommand(g))
	root.AddCommand(newResultCommand(g))
	root.AddCommand(newBoxCommand(g))
	return root
}

// userNamespace is the annotation of the commands that write root trees,
// images or local storage: an ordinary user runs them in a user namespace.
const userNamespace = "kiwi/user-namespace"

// asUser marks c as a command an ordinary user runs in a user namespace
// (internal/userns), where the files it makes can have any owner.
func asUser(c *cobra.Command) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[userNamespace] = "yes"
	return c
}

// setup opens the log and applies --setenv before any command runs.
func (g *globals) setup(cmd *cobra.Command) error {
	if cmd.Annotations[userNamespace] != "" {
		// First of all: the copy in the namespace does everything
		// below itself, and this process only waits for it.
		if err := userns.Enter(); err != nil {
			return err
		}
	}
	for _, kv := range g.setenv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--setenv %q: use VAR=value", kv)
		}
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("--setenv %q: %w", kv, err)
		}
	}
	if g.types == "vmx" {
		fmt.Fprintln(cmd.ErrOrStderr(), "kiwi: warning: --type vmx is the old name of oem; using oem")
		g.types = "oem"
	}
	var w io.Writer = cmd.ErrOrStderr()
	switch g.logfile {
	case "":
	case "stdout":
		w = cmd.OutOrStdout()
	default:
		f, err := os.OpenFile(g.logfile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--logfile: %w", err)
		}
		w = io.MultiWriter(cmd.ErrOrStderr(), f)
		g.closeLog = func() { f.Close() }
	}
	level := slog.LevelInfo
	// The containers libraries log through logrus; their info lines
	// ("using prior storage driver") are noise unless debugging.
	logrus.SetLevel(logrus.WarnLevel)
	if g.debug {
		level = slog.LevelDebug
		logrus.SetLevel(logrus.DebugLevel)
	}
	g.log = slog.New(newLogHandler(w, level, g.color))
	g.timing = timing.New(g.log)
	cmd.SetContext(timing.With(cmd.Context(), g.timing))
	home, _ := os.UserHomeDir()
	rc, err := build.ReadRuntimeConfig(build.RuntimeConfigFile(g.config, home))
	if err != nil {
		if g.config != "" {
			return fmt.Errorf("--config: %w", err)
		}
		return err
	}
	if len(rc.Unused) > 0 {
		// Settings of tools this kiwi does not run: say so rather than
		// pretend.
		g.log.Warn("runtime config: settings this kiwi does not use (it reads container.compress, bundle.compress, bundle.has_package_changes, xz.options)", "file", rc.File, "unused", strings.Join(rc.Unused, ", "))
	}
	g.runtime = rc
	return nil
}

// progress is where progress bars go: the terminal, or nowhere, so logs
// and CI output stay readable.
func progress() io.Writer {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return os.Stderr
	}
	return nil
}

// progressEvery is how often a long external command (dracut, mkfs,
// qemu-img, apt) reports that it is still running.
const progressEvery = 15 * time.Second

package oci

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// CopyOptions tune Copy.
type CopyOptions struct {
	// Progress receives progress bars; nil copies quietly. Pass a terminal
	// only: containers/image prints one line per blob to anything else.
	Progress io.Writer
	// Insecure allows plain HTTP and unverified TLS for every registry;
	// registries on loopback are always allowed without it.
	Insecure bool
	// AuthFile is the registry credentials file (auth.json); empty means
	// the containers default ($REGISTRY_AUTH_FILE, then the usual paths).
	AuthFile string
	// ArchiveTags are further names of the image in a docker-archive
	// destination (its RepoTags), after the reference's own.
	ArchiveTags []reference.NamedTagged
}

// SystemContext is the containers/image context for talking to ref.
func (o CopyOptions) SystemContext(ref types.ImageReference) *types.SystemContext {
	sys := &types.SystemContext{AuthFilePath: o.AuthFile, DockerArchiveAdditionalTags: o.ArchiveTags}
	if sys.AuthFilePath == "" {
		sys.AuthFilePath = os.Getenv("REGISTRY_AUTH_FILE")
	}
	if o.Insecure || IsLoopbackRegistry(ref) {
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
		sys.OCIInsecureSkipTLSVerify = true
	}
	return sys
}

// RegistryLogin is what the user's credentials file (podman login) holds
// for named's registry, checked against the registry: it must answer and
// accept them (or, with none, let anyone in). The error names what failed
// and never holds the password.
func (o CopyOptions) RegistryLogin(ctx context.Context, named reference.Named) (types.DockerAuthConfig, error) {
	host := reference.Domain(named)
	probe, err := docker.ParseReference("//" + host + "/kiwi/probe:latest")
	if err != nil {
		return types.DockerAuthConfig{}, fmt.Errorf("registry %q: %w", host, err)
	}
	sys := o.SystemContext(probe)
	cred, err := config.GetCredentialsForRef(sys, named)
	if err != nil {
		return types.DockerAuthConfig{}, fmt.Errorf("registry %s: read the credentials: %w", host, err)
	}
	if err := docker.CheckAuth(ctx, sys, cred.Username, cred.Password, host); err != nil {
		return types.DockerAuthConfig{}, fmt.Errorf("registry %s cannot be reached, or refuses these credentials: %w", host, err)
	}
	return cred, nil
}

// Copy copies the image at src to dst with containers/image and returns the
// manifest written. Copies between local places (storage, layouts,
// archives) accept any image; copies that touch a registry follow the
// user's signature policy (policy.json).
func Copy(ctx context.Context, src, dst types.ImageReference, o CopyOptions) ([]byte, error) {
	pc, err := policyContext(src, dst)
	if err != nil {
		return nil, err
	}
	defer pc.Destroy() //nolint:errcheck // nothing to report: it frees memory only
	manifest, err := copy.Image(ctx, pc, dst, src, &copy.Options{
		ReportWriter:   o.Progress,
		SourceCtx:      o.SystemContext(src),
		DestinationCtx: o.SystemContext(dst),
	})
	if err != nil {
		return nil, fmt.Errorf("copy %s to %s: %w", transportName(src), transportName(dst), err)
	}
	return manifest, nil
}

// CheckPolicy tells whether the user's signature policy (policy.json)
// allows reading src when something other than Copy reads it, e.g. an
// artifact's blobs: registries follow the policy, local places accept
// anything, as in Copy.
func CheckPolicy(ctx context.Context, src types.ImageSource) error {
	pc, err := policyContext(src.Reference(), src.Reference())
	if err != nil {
		return err
	}
	defer pc.Destroy() //nolint:errcheck // nothing to report: it frees memory only
	if ok, err := pc.IsRunningImageAllowed(ctx, image.UnparsedInstance(src, nil)); !ok {
		return fmt.Errorf("%s is refused by the signature policy (policy.json): %w", transportName(src.Reference()), err)
	}
	return nil
}

func transportName(ref types.ImageReference) string {
	return ref.Transport().Name() + ":" + ref.StringWithinTransport()
}

func isRemote(ref types.ImageReference) bool {
	return ref.Transport().Name() == "docker"
}

func policyContext(src, dst types.ImageReference) (*signature.PolicyContext, error) {
	policy := &signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}}
	if (isRemote(src) || isRemote(dst)) && anyFile(policyFiles()) {
		// Without any policy.json (a box image, a minimal container)
		// the default stays: like skopeo with --insecure-policy, but
		// only for lack of any policy at all. containers/image's own
		// "no policy.json found" error wraps no fs.ErrNotExist to tell.
		p, err := signature.DefaultPolicy(nil)
		if err != nil {
			return nil, fmt.Errorf("read image signature policy (policy.json): %w", err)
		}
		policy = p
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return nil, fmt.Errorf("image signature policy: %w", err)
	}
	return pc, nil
}

// policyFiles are where containers/image looks for policy.json, in its
// order: the user's, then the system's.
func policyFiles() []string {
	var files []string
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".config", "containers", "policy.json"))
	}
	return append(files, "/etc/containers/policy.json")
}

// anyFile tells whether one of paths exists.
func anyFile(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

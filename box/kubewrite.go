package box

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containers/podman/v5/pkg/bindings/images"
	"go.podman.io/image/v5/docker/reference"

	"github.com/kiwi-go/kiwi/artifact"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
)

// DescriptionArtifactType is the artifact type of a description pushed
// for a Job (one layer per DescriptionFile).
const DescriptionArtifactType = "application/vnd.kiwi-go.description.v1"

// KubeRequest is what --kube-yaml writes.
type KubeRequest struct {
	// File receives the manifests.
	File string
	// Builds are the Jobs; their Name, Push, Files and DescriptionRef
	// are filled in by writeKubeBuilds.
	Builds []KubeBuild
	// Push is where the results go (kiwi result push): with several
	// builds each its own tag, Push's tag plus -NAME (the description's
	// name as a DNS label, made unique); "" keeps them in the target
	// volume (a claim).
	Push string
	// Options: Kind, KiwiVersion, the claims; Image, AuthConfig and ID
	// are filled in by writeKubeBuilds.
	Options KubeOptions
	// BoxImage is a box image that already carries this kiwi (checked);
	// "" adds this kiwi (Kiwi) to the box's image (WithKiwi).
	BoxImage string
	Kiwi     string
	// Copy holds the TLS and credentials settings for the pushes.
	Copy oci.CopyOptions
}

// PushRef is ref with "-"+suffix added to its tag (":latest" when it has
// none): where each of several Jobs pushes (suffix: its name part), and
// where a Job's description goes (suffix "description"). A reference by digest or
// with a transport is refused: a push needs a registry tag.
func PushRef(ref, suffix string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", inputError(InputKubePush, "push reference %q: %w (give registry/repository:tag)", ref, err)
	}
	if _, ok := named.(reference.Digested); ok {
		return "", inputError(InputKubePush, "push reference %q names a digest: give registry/repository:tag", ref)
	}
	named = reference.TagNameOnly(named)
	if suffix == "" {
		return named.String(), nil
	}
	tagged, err := reference.WithTag(reference.TrimNamed(named), named.(reference.Tagged).Tag()+"-"+suffix)
	if err != nil {
		return "", inputError(InputKubePush, "push reference %q with -%s: %w", ref, suffix, err)
	}
	return tagged.String(), nil
}

// prepareKube checks and packs everything of r that needs no service:
// each description into the files of a ConfigMap, or, when they exceed
// one, an artifact to push next to the build's results; every push
// target must be reachable with the credentials at hand. Nothing is
// pushed or written yet.
func prepareKube(ctx context.Context, r *KubeRequest) (descs map[int]string, err error) {
	descs = map[int]string{}
	// One reference per registry: its credentials (podman login may have
	// scoped them to a repository) are those of the Jobs' pushes.
	registries := map[string]reference.Named{}
	id := randomID()[:6]
	r.Options.ID = id
	taken := map[string]bool{}
	for i := range r.Builds {
		kb := &r.Builds[i]
		base := dnsLabel(filepath.Base(kb.Build.Description))
		if kb.Variant != "" {
			base = strings.Trim(base+"-"+dnsLabel(kb.Variant), "-")
		}
		// Unique names, and push tags: the same description twice gets
		// -2, -3, ... (never a name another one already has).
		suffix := base
		for n := 2; suffix == "" || taken[suffix] || strings.HasSuffix(suffix, "-description"); n++ {
			suffix = strings.TrimSuffix(fmt.Sprintf("%s-%d", base, n), "-")
		}
		taken[suffix] = true
		kb.Name = KubeName(suffix, id)
		if r.Push != "" {
			if len(r.Builds) == 1 {
				suffix = ""
			}
			if kb.Push, err = PushRef(r.Push, suffix); err != nil {
				return nil, err
			}
		}
		files, err := PackDescription(kb.Build.Description)
		if err != nil {
			return nil, err
		}
		kb.Files = files
		if n := ConfigMapSize(files); n > ConfigMapLimit {
			if kb.Push == "" {
				return nil, inputError(InputKubePush, "description %s packs to %d bytes, more than a Kubernetes ConfigMap holds (%d): with a push reference for the results, it travels to that registry as an OCI artifact (the reference's tag plus -description) the Job pulls", kb.Build.Description, n, ConfigMapLimit)
			}
			ref, err := PushRef(kb.Push, "description")
			if err != nil {
				return nil, err
			}
			descs[i] = ref
		}
		if kb.Push != "" {
			named, err := reference.ParseNormalizedNamed(kb.Push)
			if err != nil {
				return nil, inputError(InputKubePush, "push reference %q: %w", kb.Push, err)
			}
			registries[reference.Domain(named)] = named
		}
	}
	var auths map[string]any
	for host, named := range registries {
		cred, err := r.Copy.RegistryLogin(ctx, named)
		if err != nil {
			return nil, inputError(InputKubePush, "%w (the Jobs push there: check --kube-push, and log in with podman login %s)", err, host)
		}
		if cred.Username != "" || cred.IdentityToken != "" {
			if auths == nil {
				auths = map[string]any{}
			}
			entry := map[string]string{}
			if cred.Username != "" {
				entry["auth"] = base64.StdEncoding.EncodeToString([]byte(cred.Username + ":" + cred.Password))
			}
			if cred.IdentityToken != "" {
				entry["identitytoken"] = cred.IdentityToken
			}
			auths[host] = entry
		}
	}
	if auths != nil {
		b, err := json.Marshal(map[string]any{"auths": auths})
		if err != nil {
			return nil, err
		}
		r.Options.AuthConfig = b
	}
	return descs, nil
}

// pushDescription pushes kb's description files to ref as an artifact
// the Job pulls (kiwi box pull-description), and leaves the ConfigMap out.
func pushDescription(ctx context.Context, kb *KubeBuild, ref, tempDir string, o oci.CopyOptions) error {
	dir, err := os.MkdirTemp(tempDir, journal.TempPattern("kiwi-box-"))
	if err != nil {
		return fmt.Errorf("push description %s: %w", kb.Build.Description, err)
	}
	defer os.RemoveAll(dir)
	var files []artifact.File
	for _, f := range kb.Files {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("push description %s: %w", kb.Build.Description, err)
		}
		mt := "application/octet-stream"
		if f.Text {
			mt = "text/plain"
		}
		if f.Name == TreeFile {
			mt = "application/x-tar"
		}
		files = append(files, artifact.File{Name: f.Name, Path: p, MediaType: mt})
	}
	if _, err := artifact.Push(ctx, ref, artifact.Artifact{Type: DescriptionArtifactType, Files: files,
		Annotations: map[string]string{"org.opencontainers.image.title": filepath.Base(kb.Build.Description)}}, o); err != nil {
		return fmt.Errorf("push description %s to %s: %w", kb.Build.Description, ref, err)
	}
	kb.Files, kb.DescriptionRef = nil, ref
	return nil
}

// PullDescription restores a description pushed for a Job into dir.
func PullDescription(ctx context.Context, ref, dir string, o oci.CopyOptions) error {
	_, err := artifact.Pull(ctx, ref, dir, DescriptionArtifactType, o)
	return err
}

// writeKube writes the manifests of r, replacing r.File in one step;
// with registry credentials in them, readable by the owner only (a new
// temp file, never an old one with its mode, is renamed into place).
func writeKube(r *KubeRequest) error {
	manifests, err := KubeManifests(r.Builds, r.Options)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if r.Options.AuthConfig != nil {
		mode = 0o600
	}
	f, err := os.CreateTemp(filepath.Dir(r.File), "."+filepath.Base(r.File)+".*")
	if err != nil {
		return inputError(InputKubeFile, "kube manifest %s: %w", r.File, err)
	}
	_, err = f.Write(manifests)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), mode)
	}
	if err == nil {
		err = os.Rename(f.Name(), r.File)
	}
	if err != nil {
		os.Remove(f.Name())
		return inputError(InputKubeFile, "kube manifest %s: %w", r.File, err)
	}
	return nil
}

// checkKubeFile tells before any work whether r.File can be written:
// its directory takes a file.
func checkKubeFile(r *KubeRequest) error {
	f, err := os.CreateTemp(filepath.Dir(r.File), "."+filepath.Base(r.File)+".*")
	if err != nil {
		return inputError(InputKubeFile, "kube manifest %s: %w", r.File, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// writeKubeBuilds writes o.Kube's manifests: every input is checked and
// every description packed first (prepareKube), then the box image with
// this kiwi is made (or the given one checked), descriptions too big for
// a ConfigMap pushed, and the file written.
func writeKubeBuilds(ctx context.Context, o ContainerOptions) error {
	src, r := o.Source, o.Kube
	if r.Options.Kind == "" {
		r.Options.Kind = KubeJob
	}
	if err := CheckKubeKind(r.Options.Kind); err != nil {
		return err
	}
	descs, err := prepareKube(ctx, r)
	if err != nil {
		return err
	}
	if err := checkKubeFile(r); err != nil {
		return err
	}
	// The manifests as they will be (with a stand-in image, the big
	// descriptions as references) are checked before the box image is
	// made or anything pushed.
	dry := append([]KubeBuild(nil), r.Builds...)
	for i, ref := range descs {
		dry[i].Files, dry[i].DescriptionRef = nil, ref
	}
	opts := r.Options
	opts.Image = "localhost/kiwi-box:check"
	if _, err := KubeManifests(dry, opts); err != nil {
		return err
	}
	svc, err := Connect(ctx, o.Connection, src.TempDir, runner.Runner{Log: src.Log}, src.Log)
	if err != nil {
		return err
	}
	defer svc.Close()
	if r.BoxImage != "" {
		sum, err := checksum.File(r.Kiwi)
		if err != nil {
			return fmt.Errorf("kiwi binary %s: %w", r.Kiwi, err)
		}
		if _, err := images.Pull(svc.Conn, r.BoxImage, new(images.PullOptions).WithPolicy("missing").WithQuiet(true)); err != nil {
			return inputError(InputBoxImage, "box image %s: %w", r.BoxImage, err)
		}
		if err := svc.CheckKiwiImage(r.BoxImage, r.Options.KiwiVersion, sum); err != nil {
			return err
		}
		r.Options.Image = r.BoxImage
	} else {
		image, err := ProvideContainer(ctx, svc, src)
		if err != nil {
			return err
		}
		if r.Options.Image, err = svc.WithKiwi(ctx, src.Box.Name, image, r.Kiwi, r.Options.KiwiVersion, src.TempDir, src.Log); err != nil {
			return err
		}
	}
	for i, ref := range descs {
		if err := pushDescription(ctx, &r.Builds[i], ref, src.TempDir, r.Copy); err != nil {
			return err
		}
		src.Log.Info("pushed the description for its Job", "description", r.Builds[i].Build.Description, "ref", ref)
	}
	if err := writeKube(r); err != nil {
		return err
	}
	for _, kb := range r.Builds {
		src.Log.Info("wrote the Kubernetes manifests of a build", "file", r.File, "kind", r.Options.Kind, "name", kb.Name, "description", kb.Build.Description, "push", kb.Push)
	}
	src.Log.Info("the Jobs run the box image "+r.Options.Image+"; for a cluster, push it to a registry the cluster pulls from and give that reference as --kube-box-image", "image", r.Options.Image)
	return nil
}

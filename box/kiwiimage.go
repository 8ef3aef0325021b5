package box

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	buildahDefine "github.com/containers/buildah/define"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/domain/entities/types"

	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// Labels of a box image that carries kiwi (WithKiwi): the version and the
// sha256 of its binary, so a Job (and CheckKiwiImage) can tell it runs
// the kiwi it was written for.
const (
	LabelKiwiVersion = "io.kiwi-go.kiwi.version"
	LabelKiwiSum     = "io.kiwi-go.kiwi.sha256"
)

// WithKiwi makes the box image image carry the kiwi binary kiwi (of
// version version) at the path a container box mounts it, as one more
// layer built by the podman service, and returns its reference: a Job
// then needs no host path for kiwi. The tag names the box image and the
// binary, so an unchanged pair is built once.
func (s *Service) WithKiwi(ctx context.Context, box, image, kiwi, version, tempDir string, log *slog.Logger) (string, error) {
	sum, err := checksum.File(kiwi)
	if err != nil {
		return "", inputError(InputBoxKiwi, "kiwi binary %s: %w", kiwi, err)
	}
	base, err := images.GetImage(s.Conn, image, nil)
	if err != nil {
		return "", fmt.Errorf("box %s: inspect %s: %w", box, image, err)
	}
	id := strings.TrimPrefix(base.ID, "sha256:")
	ref := fmt.Sprintf("localhost/kiwi-box-%s:%.12s-kiwi-%.12s", box, id, sum)
	if ok, err := images.Exists(s.Conn, ref, nil); err != nil {
		return "", fmt.Errorf("box %s: look up %s: %w", box, ref, err)
	} else if !ok {
		logger(log).Info("adding this kiwi to the box image", "box", box, "image", ref)
		if err := s.buildWithKiwi(ctx, base.ID, ref, kiwi, version, sum, tempDir); err != nil {
			return "", fmt.Errorf("box %s: add kiwi to %s: %w", box, image, err)
		}
	}
	if err := s.CheckKiwiImage(ref, version, sum); err != nil {
		return "", err
	}
	return ref, nil
}

// buildWithKiwi builds ref: the image baseID, kiwi copied in, labelled.
func (s *Service) buildWithKiwi(ctx context.Context, baseID, ref, kiwi, version, sum, tempDir string) error {
	dir, err := os.MkdirTemp(tempDir, journal.TempPattern("kiwi-box-"))
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// A hard link when the temp dir is on kiwi's filesystem, else a copy
	// (with its mode): the context goes to the service as a tar anyway.
	if err := os.Link(kiwi, filepath.Join(dir, "kiwi")); err != nil {
		if _, err := checksum.CopyFile(kiwi, filepath.Join(dir, "kiwi")); err != nil {
			return err
		}
	}
	containerfile := filepath.Join(dir, "Containerfile")
	cf := fmt.Sprintf("FROM %s\nCOPY kiwi %s\nLABEL %s=%q %s=%q\n", baseID, boxKiwi, LabelKiwiVersion, version, LabelKiwiSum, sum)
	if err := os.WriteFile(containerfile, []byte(cf), 0o644); err != nil {
		return err
	}
	// The build's output is kept for the error only.
	var out bytes.Buffer
	_, err = images.Build(s.Conn, []string{containerfile}, types.BuildOptions{BuildOptions: buildahDefine.BuildOptions{
		ContextDirectory: dir, Output: ref, PullPolicy: buildahDefine.PullNever, Quiet: true,
		Out: &out, Err: &out, ReportWriter: &out,
	}})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, runner.Tail(out.String(), 2000))
	}
	return nil
}

// CheckKiwiImage checks that the box image ref carries kiwi version
// version, and when sum is not "" that binary: a Job run on another
// image fails only on the cluster, so this is refused before any
// manifest is written.
func (s *Service) CheckKiwiImage(ref, version, sum string) error {
	img, err := images.GetImage(s.Conn, ref, nil)
	if err != nil {
		return inputError(InputBoxImage, "box image %s: %w", ref, err)
	}
	var labels map[string]string
	if img.Config != nil {
		labels = img.Config.Labels
	}
	have, ok := labels[LabelKiwiVersion]
	if !ok {
		return inputError(InputBoxImage, "box image %s carries no kiwi (no %s label): leave out --kube-box-image, and kiwi adds itself to the box image", ref, LabelKiwiVersion)
	}
	if have != version || (sum != "" && labels[LabelKiwiSum] != sum) {
		return inputError(InputBoxImage, "box image %s carries kiwi %s (sha256 %.12s), this is kiwi %s (sha256 %.12s): the box runs the caller's kiwi; leave out --kube-box-image to make one with this kiwi", ref, have, labels[LabelKiwiSum], version, sum)
	}
	return nil
}

package box

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	v1 "github.com/containers/podman/v5/pkg/k8s.io/api/core/v1"
	metav1 "github.com/containers/podman/v5/pkg/k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Kinds of Kubernetes manifest KubeManifests writes.
const (
	KubeJob = "job"
	KubePod = "pod"
)

// Labels of the objects --kube-yaml writes (values: kubeLabelValue).
const (
	KubeLabelName        = "app.kubernetes.io/name"
	KubeLabelInstance    = "app.kubernetes.io/instance"
	KubeLabelDescription = "kiwi-go.io/description"
	KubeLabelType        = "kiwi-go.io/image-type"
	KubeLabelProfiles    = "kiwi-go.io/profiles"
	// KubeAnnotationPush is where a Job pushes its results.
	KubeAnnotationPush = "kiwi-go.io/push"
)

// The Secret type and key of registry credentials (core/v1's
// SecretTypeDockerConfigJson, which podman's trimmed copy leaves out).
const (
	secretTypeDockerConfigJSON = v1.SecretType("kubernetes.io/dockerconfigjson")
	dockerConfigJSONKey        = ".dockerconfigjson"
)

// Where a Job keeps what a container box has as host directories.
const (
	kubeDescription = "/kiwi-description"
	kubeAuthDir     = "/kiwi-registry-auth"
	kubeAuthFile    = "auth.json"
	// kubeResults is where a target claim is mounted: the build's
	// target dir is in the container's own filesystem (a volume of podman
	// kube play is mounted nodev, where debootstrap cannot make the
	// root's /dev/null), and its results are copied to the claim.
	kubeResults = "/kiwi-results"
)

// KubeBuild is one build --kube-yaml writes a Job (or Pod) for.
type KubeBuild struct {
	// Build is the build: its Global and Args pass to kiwi in the box;
	// its Description (the host dir) only names it.
	Build Build
	// Name is the Job's name (a DNS label, KubeName).
	Name string
	// Description and Type label the Job: the description's name, the
	// image type and profiles it builds.
	Description, Type string
	Profiles          []string
	// Variant tells apart Jobs of one description (the profile of a
	// Job per profile); it goes into the Job's name and push tag.
	Variant string
	// Push is where the Job pushes its results as an OCI artifact
	// (kiwi result push); "" keeps them in the target volume only.
	Push string
	// Files is the description (PackDescription) for a ConfigMap; nil
	// when it was pushed to DescriptionRef, which the Job pulls.
	Files          []DescriptionFile
	DescriptionRef string
}

// KubeOptions are what the manifests of all builds share.
type KubeOptions struct {
	// Kind: KubeJob (batch/v1 Job) or KubePod (a v1 Pod, which podman 4
	// kube play runs; it plays no Job).
	Kind string
	// Image is the box image carrying kiwi (WithKiwi), KiwiVersion the
	// version the Job checks it has.
	Image, KiwiVersion string
	// TargetClaim and CacheClaim name PersistentVolumeClaims for the
	// target dir (each Job in its own subPath) and the shared cache;
	// "" gives each Pod an emptyDir.
	TargetClaim, CacheClaim string
	// AuthConfig is a .dockerconfigjson with the credentials the Jobs
	// push and pull with; nil writes no Secret.
	AuthConfig []byte
	// ID makes the names of shared objects (the Secret) unique.
	ID string
}

// KubeName is a Job name for a build of description desc: kiwi-, the
// description's name as a DNS label, and id, at most 63 characters.
func KubeName(desc, id string) string {
	n := dnsLabel(path.Base(desc))
	// Room for the ConfigMap's -description: every name a DNS label.
	if max := 63 - len("kiwi--") - len(id) - len("-description"); len(n) > max {
		n = strings.Trim(n[:max], "-")
	}
	if n == "" {
		return "kiwi-" + id
	}
	return "kiwi-" + n + "-" + id
}

// kubeScript runs in the Job's container before and after shellScript's
// build: it checks that the box's kiwi is the version the Job was written
// for, puts the description together in /description (from the ConfigMap
// or the pushed artifact, then its tree unpacked), and after a good build
// pushes the results. The exit code is the build's (or 1 when the push
// failed), so the Job fails when the build did.
const kubeScript = `set -e
have=$(` + boxKiwi + ` --version 2>/dev/null || echo none)
have=${have##* }
if [ "$have" != "$KIWI_VERSION" ]; then
  echo "kiwi boxbuild: the box image's kiwi is '$have', this Job was written for '$KIWI_VERSION': give the Job the box image kiwi system boxbuild --kube-yaml made for it" >&2
  exit 2
fi
mkdir -p ` + boxDesc + ` ` + boxTarget + `
if [ -n "$KIWI_DESCRIPTION_REF" ]; then
  ` + boxKiwi + ` box pull-description --target-dir ` + boxDesc + ` "$KIWI_DESCRIPTION_REF"
else
  cp ` + kubeDescription + `/* ` + boxDesc + `/
fi
if [ -f ` + boxDesc + "/" + TreeFile + ` ]; then
  tar -xpf ` + boxDesc + "/" + TreeFile + ` -C ` + boxDesc + `
  rm ` + boxDesc + "/" + TreeFile + `
fi
set +e
` + shellScript + `
code=$(cat ` + boxTarget + "/" + ExitFile + ` 2>/dev/null || echo 1)
if [ -d ` + kubeResults + ` ]; then
  find ` + boxTarget + ` -mindepth 1 -maxdepth 1 ! -name build -print0 | xargs -0 -r cp -a -t ` + kubeResults + ` || exit 1
fi
if [ "$code" = 0 ] && [ -n "$KIWI_PUSH" ]; then
  ` + boxKiwi + ` result push --target-dir ` + boxTarget + ` "$KIWI_PUSH" || exit 1
fi
exit "$code"`

// KubeManifests are the objects that run builds on a cluster (or with
// podman kube play), one YAML document each: per build a ConfigMap with
// its description (unless pushed as an artifact) and a Job (or Pod) of the
// box image, privileged as the container mode is, with no host path: the
// box's storage, prepare state and temp data and the shared cache are
// emptyDir volumes (the cache can be a claim), the target dir is in the
// container, and the results leave as an artifact (KubeBuild.Push) or are
// copied to a claim; and one Secret with the registry
// credentials when o has any. The manifests are checked (ValidateKube)
// before they are returned.
func KubeManifests(builds []KubeBuild, o KubeOptions) ([]byte, error) {
	if err := CheckKubeKind(o.Kind); err != nil {
		return nil, err
	}
	if len(builds) == 0 {
		return nil, fmt.Errorf("kube manifests: no build")
	}
	var docs [][]byte
	add := func(obj any) error {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("kube manifests: %w", err)
		}
		docs = append(docs, b)
		return nil
	}
	secret := ""
	if o.AuthConfig != nil {
		secret = "kiwi-registry-" + o.ID
		if err := add(v1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: secret, Labels: map[string]string{KubeLabelName: "kiwi-boxbuild"}},
			Type:       secretTypeDockerConfigJSON,
			Data:       map[string][]byte{dockerConfigJSONKey: o.AuthConfig},
		}); err != nil {
			return nil, err
		}
	}
	for _, kb := range builds {
		labels := map[string]string{
			KubeLabelName:        "kiwi-boxbuild",
			KubeLabelInstance:    kb.Name,
			KubeLabelDescription: kubeLabelValue(kb.Description),
			KubeLabelType:        kubeLabelValue(kb.Type),
		}
		if len(kb.Profiles) > 0 {
			labels[KubeLabelProfiles] = kubeLabelValue(strings.Join(kb.Profiles, "_"))
		}
		meta := metav1.ObjectMeta{Name: kb.Name, Labels: labels}
		if kb.Push != "" {
			meta.Annotations = map[string]string{KubeAnnotationPush: kb.Push}
		}
		if kb.Files != nil {
			cm := v1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: kb.Name + "-description", Labels: labels}}
			for _, f := range kb.Files {
				if f.Text {
					if cm.Data == nil {
						cm.Data = map[string]string{}
					}
					cm.Data[f.Name] = string(f.Data)
				} else {
					if cm.BinaryData == nil {
						cm.BinaryData = map[string][]byte{}
					}
					cm.BinaryData[f.Name] = f.Data
				}
			}
			if err := add(cm); err != nil {
				return nil, err
			}
		}
		pod := kubePod(kb, o, secret)
		var obj any = v1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta, Spec: pod}
		if o.Kind == KubeJob {
			backoff := int32(0)
			obj = v1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: meta,
				Spec: v1.JobSpec{BackoffLimit: &backoff, Template: v1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod}}}
		}
		if err := add(obj); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	out.WriteString("# kiwi system boxbuild --kube-yaml:")
	for _, kb := range builds {
		fmt.Fprintf(&out, " %s (%s)", kb.Name, kb.Build.Description)
	}
	out.WriteString("\n")
	for i, d := range docs {
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(d)
	}
	if err := ValidateKube(out.Bytes()); err != nil {
		return nil, fmt.Errorf("the manifests kiwi made do not validate (a kiwi bug): %w", err)
	}
	return out.Bytes(), nil
}

// kubePod is the pod of build kb.
func kubePod(kb KubeBuild, o KubeOptions, secret string) v1.PodSpec {
	privileged := true
	caps := make([]v1.Capability, len(Capabilities))
	for i, c := range Capabilities {
		caps[i] = v1.Capability(c)
	}
	c := v1.Container{
		Name: "build", Image: o.Image, ImagePullPolicy: v1.PullIfNotPresent,
		Command: append([]string{"/bin/sh", "-c", kubeScript, "sh"}, kb.Build.Command()...),
		Env: []v1.EnvVar{{Name: "PATH", Value: boxPath}, {Name: "KIWI_VERSION", Value: o.KiwiVersion},
			{Name: "KIWI_PUSH", Value: kb.Push}, {Name: "KIWI_DESCRIPTION_REF", Value: kb.DescriptionRef}},
		SecurityContext: &v1.SecurityContext{Privileged: &privileged, Capabilities: &v1.Capabilities{Add: caps}},
	}
	spec := v1.PodSpec{RestartPolicy: v1.RestartPolicyNever, HostNetwork: true}
	volume := func(name, at string, src v1.VolumeSource, readOnly bool, subPath string) {
		spec.Volumes = append(spec.Volumes, v1.Volume{Name: name, VolumeSource: src})
		c.VolumeMounts = append(c.VolumeMounts, v1.VolumeMount{Name: name, MountPath: at, ReadOnly: readOnly, SubPath: subPath})
	}
	empty := v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}
	claim := func(name string) v1.VolumeSource {
		return v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
	}
	if kb.Files != nil {
		cm := &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: kb.Name + "-description"}}
		for _, f := range kb.Files {
			item := v1.KeyToPath{Key: f.Name, Path: f.Name}
			if f.Mode != 0 {
				mode := int32(f.Mode.Perm())
				item.Mode = &mode
			}
			cm.Items = append(cm.Items, item)
		}
		volume("description", kubeDescription, v1.VolumeSource{ConfigMap: cm}, true, "")
	}
	if o.TargetClaim != "" {
		// Each Job in its own directory of the claim: several Jobs
		// share one without writing over each other's results.
		volume("target", kubeResults, claim(o.TargetClaim), false, kb.Name)
	}
	if o.CacheClaim != "" {
		volume("cache", boxCache, claim(o.CacheClaim), false, "")
	} else {
		volume("cache", boxCache, empty, false, "")
	}
	// The box's own storage cannot be overlay on the container's
	// overlay root: an emptyDir is on the node's disk.
	volume("prepare", boxPrepare, empty, false, "")
	volume("storage", boxStorage, empty, false, "")
	volume("tmp", boxTemp, empty, false, "")
	if secret != "" {
		volume("registry-auth", kubeAuthDir, v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: secret,
			Items: []v1.KeyToPath{{Key: dockerConfigJSONKey, Path: kubeAuthFile}}}}, true, "")
		c.Env = append(c.Env, v1.EnvVar{Name: "REGISTRY_AUTH_FILE", Value: kubeAuthDir + "/" + kubeAuthFile})
	}
	if secret != "" {
		// The same credentials serve a box image in that registry.
		spec.ImagePullSecrets = []v1.LocalObjectReference{{Name: secret}}
	}
	spec.Containers = []v1.Container{c}
	return spec
}

// CheckKubeKind tells whether KubeManifests makes manifests of kind.
func CheckKubeKind(kind string) error {
	if kind != KubeJob && kind != KubePod {
		return inputError(InputKubeKind, "kube kind %q: use %s or %s", kind, KubeJob, KubePod)
	}
	return nil
}

var (
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	labelValue       = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`)
)

// ValidClaimName tells whether name can name a PersistentVolumeClaim (a
// DNS-1123 subdomain).
func ValidClaimName(name string) bool {
	return len(name) <= 253 && dns1123Subdomain.MatchString(name)
}

// ValidateKube checks manifests as the API server would check what a
// box build uses: each document decodes strictly (no field the API type
// lacks) into the Kubernetes type of its kind, names are DNS labels,
// label values valid, every volume mount names a volume, the ConfigMaps
// within Kubernetes' size limit, and no volume is a host path (a Job
// must run on any node).
func ValidateKube(manifests []byte) error {
	names := map[string]bool{}
	for i, doc := range bytes.Split(manifests, []byte("\n---\n")) {
		var head metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		var meta metav1.ObjectMeta
		var pod *v1.PodSpec
		switch head.APIVersion + " " + head.Kind {
		case "batch/v1 Job":
			var j v1.Job
			if err := yaml.UnmarshalStrict(doc, &j); err != nil {
				return fmt.Errorf("document %d (Job): %w", i+1, err)
			}
			if j.Spec.Template.Spec.RestartPolicy != v1.RestartPolicyNever && j.Spec.Template.Spec.RestartPolicy != v1.RestartPolicyOnFailure {
				return fmt.Errorf("Job %s: restartPolicy %q, a Job needs Never or OnFailure", j.Name, j.Spec.Template.Spec.RestartPolicy)
			}
			meta, pod = j.ObjectMeta, &j.Spec.Template.Spec
		case "v1 Pod":
			var p v1.Pod
			if err := yaml.UnmarshalStrict(doc, &p); err != nil {
				return fmt.Errorf("document %d (Pod): %w", i+1, err)
			}
			meta, pod = p.ObjectMeta, &p.Spec
		case "v1 ConfigMap":
			var cm v1.ConfigMap
			if err := yaml.UnmarshalStrict(doc, &cm); err != nil {
				return fmt.Errorf("document %d (ConfigMap): %w", i+1, err)
			}
			n := 0
			for k, v := range cm.Data {
				n += len(k) + len(v)
				if _, ok := cm.BinaryData[k]; ok {
					return fmt.Errorf("ConfigMap %s: key %s in data and binaryData", cm.Name, k)
				}
			}
			for k, v := range cm.BinaryData {
				n += len(k) + len(v)
			}
			for k := range joinKeys(cm.Data, cm.BinaryData) {
				if !validKey(k) {
					return fmt.Errorf("ConfigMap %s: key %q is not a valid key", cm.Name, k)
				}
			}
			if n > ConfigMapLimit {
				return fmt.Errorf("ConfigMap %s holds %d bytes, more than Kubernetes' %d", cm.Name, n, ConfigMapLimit)
			}
			meta = cm.ObjectMeta
		case "v1 Secret":
			var s v1.Secret
			if err := yaml.UnmarshalStrict(doc, &s); err != nil {
				return fmt.Errorf("document %d (Secret): %w", i+1, err)
			}
			meta = s.ObjectMeta
		default:
			return fmt.Errorf("document %d: %s %s is not a kind kiwi writes", i+1, head.APIVersion, head.Kind)
		}
		if !dns1123Label.MatchString(meta.Name) || len(meta.Name) > 63 {
			return fmt.Errorf("%s name %q is not a DNS-1123 label of at most 63 characters", head.Kind, meta.Name)
		}
		if names[head.Kind+"/"+meta.Name] {
			return fmt.Errorf("%s %s twice", head.Kind, meta.Name)
		}
		names[head.Kind+"/"+meta.Name] = true
		for k, v := range meta.Labels {
			if len(v) > 63 || !labelValue.MatchString(v) {
				return fmt.Errorf("%s %s: label %s=%q is not a valid label value", head.Kind, meta.Name, k, v)
			}
		}
		if pod != nil {
			if err := validatePod(meta.Name, pod); err != nil {
				return err
			}
		}
	}
	return nil
}

func validatePod(name string, pod *v1.PodSpec) error {
	if len(pod.Containers) == 0 {
		return fmt.Errorf("%s: no container", name)
	}
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			return fmt.Errorf("%s: volume %s is a hostPath (%s): a Job must run on any node", name, v.Name, v.HostPath.Path)
		}
		if !dns1123Label.MatchString(v.Name) || vols[v.Name] {
			return fmt.Errorf("%s: volume name %q is not a DNS-1123 label or used twice", name, v.Name)
		}
		vols[v.Name] = true
	}
	for _, c := range pod.Containers {
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				return fmt.Errorf("%s: container %s mounts volume %s, which the pod does not have", name, c.Name, m.Name)
			}
			if !path.IsAbs(m.MountPath) {
				return fmt.Errorf("%s: mount path %q is not absolute", name, m.MountPath)
			}
		}
	}
	return nil
}

func joinKeys(a map[string]string, b map[string][]byte) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// dnsLabel turns s into a DNS label part (RFC 1123): lower case, other
// characters dashes, at most 40 characters (the end kept).
func dnsLabel(s string) string {
	n := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s), "-")
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return strings.Trim(n, "-")
}

// kubeLabelValue is s as a label value: characters a value may not hold
// become dashes, at most 63.
func kubeLabelValue(s string) string {
	v := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, s)
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "-_.")
}

package box

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kinds of Kubernetes manifest KubeManifest writes.
const (
	KubeJob = "job"
	KubePod = "pod"
)

// The manifest types below are the subset of the Kubernetes core/v1 and
// batch/v1 API a box build needs, with the API's field names.
type kubeObject struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   kubeMeta `yaml:"metadata"`
	Spec       any      `yaml:"spec"`
}

type kubeMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels,omitempty"`
}

type kubeJobSpec struct {
	BackoffLimit int             `yaml:"backoffLimit"`
	Template     kubePodTemplate `yaml:"template"`
}

type kubePodTemplate struct {
	Metadata kubeMeta    `yaml:"metadata"`
	Spec     kubePodSpec `yaml:"spec"`
}

type kubePodSpec struct {
	RestartPolicy string          `yaml:"restartPolicy"`
	HostNetwork   bool            `yaml:"hostNetwork"`
	Containers    []kubeContainer `yaml:"containers"`
	Volumes       []kubeVolume    `yaml:"volumes"`
}

type kubeContainer struct {
	Name            string            `yaml:"name"`
	Image           string            `yaml:"image"`
	ImagePullPolicy string            `yaml:"imagePullPolicy"`
	Command         []string          `yaml:"command"`
	Env             []kubeEnv         `yaml:"env"`
	SecurityContext kubeSecurity      `yaml:"securityContext"`
	VolumeMounts    []kubeVolumeMount `yaml:"volumeMounts"`
}

type kubeEnv struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

type kubeSecurity struct {
	Privileged   bool `yaml:"privileged"`
	Capabilities struct {
		Add []string `yaml:"add"`
	} `yaml:"capabilities"`
}

type kubeVolumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly,omitempty"`
}

type kubeVolume struct {
	Name     string        `yaml:"name"`
	HostPath *kubeHostPath `yaml:"hostPath,omitempty"`
	EmptyDir *struct{}     `yaml:"emptyDir,omitempty"`
}

type kubeHostPath struct {
	Path string `yaml:"path"`
	Type string `yaml:"type"`
}

// KubeManifest is a Kubernetes manifest (a batch/v1 Job, or a plain v1 Pod
// for kind "pod", which podman kube play runs) that runs b in the box
// image as the container mode does: privileged, host network, the same
// directories as hostPath volumes. The box's storage, prepare state and
// temp data are emptyDir volumes (on the node's disk, so overlay works in
// the box). Host paths name the node's directories, and the kiwi binary
// must be at b.Kiwi on the node.
func KubeManifest(b Build, image, name, kind string) ([]byte, error) {
	if err := CheckKubeKind(kind); err != nil {
		return nil, err
	}
	c := kubeContainer{Name: "build", Image: image, ImagePullPolicy: "IfNotPresent", Command: b.ShellCommand(),
		Env: []kubeEnv{{Name: "PATH", Value: boxPath}}}
	c.SecurityContext.Privileged = true
	c.SecurityContext.Capabilities.Add = Capabilities
	pod := kubePodSpec{RestartPolicy: "Never", HostNetwork: true}
	scratch := map[string]bool{boxStorage: true, boxPrepare: true, boxTemp: true}
	for i, m := range b.Mounts("") {
		vol := fmt.Sprintf("%s-%d", volumeName(m.Box), i)
		v := kubeVolume{Name: vol}
		switch {
		case scratch[m.Box]:
			v.EmptyDir = &struct{}{}
		case m.Host == b.Kiwi:
			v.HostPath = &kubeHostPath{Path: m.Host, Type: "File"}
		case m.Host == b.Target || m.Host == b.SharedCache:
			v.HostPath = &kubeHostPath{Path: m.Host, Type: "DirectoryOrCreate"}
		default:
			v.HostPath = &kubeHostPath{Path: m.Host, Type: "Directory"}
		}
		pod.Volumes = append(pod.Volumes, v)
		c.VolumeMounts = append(c.VolumeMounts, kubeVolumeMount{Name: vol, MountPath: m.Box, ReadOnly: m.ReadOnly})
	}
	pod.Containers = []kubeContainer{c}
	labels := map[string]string{"app.kubernetes.io/name": "kiwi-boxbuild", "app.kubernetes.io/instance": name}
	obj := kubeObject{APIVersion: "v1", Kind: "Pod", Metadata: kubeMeta{Name: name, Labels: labels}, Spec: pod}
	if kind == KubeJob {
		obj = kubeObject{APIVersion: "batch/v1", Kind: "Job", Metadata: kubeMeta{Name: name, Labels: labels},
			Spec: kubeJobSpec{BackoffLimit: 0, Template: kubePodTemplate{Metadata: kubeMeta{Name: name, Labels: labels}, Spec: pod}}}
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return append([]byte("# kiwi system boxbuild --kube-yaml: the build of "+b.Description+" into "+b.Target+"\n"), out...), nil
}

// CheckKubeKind tells whether KubeManifest makes manifests of kind.
func CheckKubeKind(kind string) error {
	if kind != KubeJob && kind != KubePod {
		return inputError(InputKubeKind, "kube kind %q: use %s or %s", kind, KubeJob, KubePod)
	}
	return nil
}

// volumeName turns a box path into a DNS label part (RFC 1123).
func volumeName(p string) string {
	n := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, p), "-")
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	if n == "" {
		n = "root"
	}
	return strings.Trim(n, "-")
}

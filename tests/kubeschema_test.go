package tests

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// validateJob checks a manifest against the batch/v1 Job schema as far as
// a box build uses it: required fields, value rules of the API server's
// validation (DNS names, restart policy, volume references, hostPath
// types) and no field the schema does not know at each level (no
// Kubernetes schema module resolves here, so this is written out).
func validateJob(b []byte) error {
	var doc map[string]any
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	v := &schemaErrs{}
	v.keys("", doc, []string{"apiVersion", "kind", "metadata", "spec"}, "apiVersion", "kind", "metadata", "spec")
	if doc["apiVersion"] != "batch/v1" || doc["kind"] != "Job" {
		v.add("apiVersion/kind: %v/%v, want batch/v1 Job", doc["apiVersion"], doc["kind"])
	}
	meta := v.object("metadata", doc["metadata"])
	v.keys("metadata", meta, []string{"name", "namespace", "labels", "annotations", "generateName"}, "name")
	if n, _ := meta["name"].(string); !dns1123Subdomain.MatchString(n) || len(n) > 63 {
		v.add("metadata.name %q is not a DNS-1123 name of at most 63 characters", n)
	}
	spec := v.object("spec", doc["spec"])
	v.keys("spec", spec, []string{"template", "backoffLimit", "completions", "parallelism", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "selector", "manualSelector", "suspend", "completionMode", "podFailurePolicy"}, "template")
	if bl, ok := spec["backoffLimit"]; ok {
		if n, ok := bl.(int); !ok || n < 0 {
			v.add("spec.backoffLimit %v is not a non-negative integer", bl)
		}
	}
	tmpl := v.object("spec.template", spec["template"])
	v.keys("spec.template", tmpl, []string{"metadata", "spec"}, "spec")
	pod := v.object("spec.template.spec", tmpl["spec"])
	v.keys("spec.template.spec", pod, []string{"containers", "initContainers", "volumes", "restartPolicy", "hostNetwork", "hostPID", "hostIPC", "nodeSelector", "serviceAccountName", "securityContext", "tolerations", "affinity"}, "containers")
	if rp := pod["restartPolicy"]; rp != "Never" && rp != "OnFailure" {
		v.add("spec.template.spec.restartPolicy %v: a Job needs Never or OnFailure", rp)
	}
	if hn, ok := pod["hostNetwork"]; ok {
		if _, ok := hn.(bool); !ok {
			v.add("hostNetwork %v is not a boolean", hn)
		}
	}
	volumes := map[string]bool{}
	for i, x := range v.list("spec.template.spec.volumes", pod["volumes"]) {
		p := fmt.Sprintf("spec.template.spec.volumes[%d]", i)
		vol := v.object(p, x)
		name, _ := vol["name"].(string)
		if !dns1123Label.MatchString(name) || len(name) > 63 {
			v.add("%s.name %q is not a DNS-1123 label", p, name)
		}
		if volumes[name] {
			v.add("%s.name %q is used twice", p, name)
		}
		volumes[name] = true
		sources := 0
		for k := range vol {
			if k == "name" {
				continue
			}
			sources++
			switch k {
			case "hostPath":
				hp := v.object(p+".hostPath", vol[k])
				v.keys(p+".hostPath", hp, []string{"path", "type"}, "path")
				if s, _ := hp["path"].(string); !path.IsAbs(s) {
					v.add("%s.hostPath.path %q is not absolute", p, s)
				}
				switch hp["type"] {
				case nil, "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice":
				default:
					v.add("%s.hostPath.type %v is not a hostPath type", p, hp["type"])
				}
			case "emptyDir":
				v.keys(p+".emptyDir", v.object(p+".emptyDir", orEmpty(vol[k])), []string{"medium", "sizeLimit"})
			case "persistentVolumeClaim":
				pvc := v.object(p+".persistentVolumeClaim", vol[k])
				v.keys(p+".persistentVolumeClaim", pvc, []string{"claimName", "readOnly"}, "claimName")
			default:
				v.add("%s: volume source %q is not one a box build uses", p, k)
			}
		}
		if sources != 1 {
			v.add("%s has %d volume sources, want exactly one", p, sources)
		}
	}
	containers := v.list("spec.template.spec.containers", pod["containers"])
	if len(containers) == 0 {
		v.add("spec.template.spec.containers is empty")
	}
	for i, x := range containers {
		p := fmt.Sprintf("spec.template.spec.containers[%d]", i)
		c := v.object(p, x)
		v.keys(p, c, []string{"name", "image", "imagePullPolicy", "command", "args", "env", "workingDir", "securityContext", "volumeMounts", "resources"}, "name", "image")
		if n, _ := c["name"].(string); !dns1123Label.MatchString(n) {
			v.add("%s.name %q is not a DNS-1123 label", p, n)
		}
		if im, _ := c["image"].(string); im == "" {
			v.add("%s.image is empty", p)
		}
		switch c["imagePullPolicy"] {
		case nil, "Always", "IfNotPresent", "Never":
		default:
			v.add("%s.imagePullPolicy %v", p, c["imagePullPolicy"])
		}
		for j, a := range v.list(p+".command", c["command"]) {
			if _, ok := a.(string); !ok {
				v.add("%s.command[%d] %v is not a string", p, j, a)
			}
		}
		sc := v.object(p+".securityContext", orEmpty(c["securityContext"]))
		v.keys(p+".securityContext", sc, []string{"privileged", "capabilities", "runAsUser", "allowPrivilegeEscalation", "readOnlyRootFilesystem"})
		if pr, ok := sc["privileged"]; ok {
			if _, ok := pr.(bool); !ok {
				v.add("%s.securityContext.privileged %v is not a boolean", p, pr)
			}
		}
		caps := v.object(p+".securityContext.capabilities", orEmpty(sc["capabilities"]))
		v.keys(p+".securityContext.capabilities", caps, []string{"add", "drop"})
		mounts := map[string]bool{}
		for j, y := range v.list(p+".volumeMounts", c["volumeMounts"]) {
			q := fmt.Sprintf("%s.volumeMounts[%d]", p, j)
			m := v.object(q, y)
			v.keys(q, m, []string{"name", "mountPath", "readOnly", "subPath", "mountPropagation"}, "name", "mountPath")
			if n, _ := m["name"].(string); !volumes[n] {
				v.add("%s.name %q names no volume", q, n)
			}
			mp, _ := m["mountPath"].(string)
			if !path.IsAbs(mp) {
				v.add("%s.mountPath %q is not absolute", q, mp)
			}
			if mounts[mp] {
				v.add("%s.mountPath %q is mounted twice", q, mp)
			}
			mounts[mp] = true
		}
	}
	return v.err()
}

var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

type schemaErrs struct{ errs []string }

func (v *schemaErrs) add(format string, a ...any) { v.errs = append(v.errs, fmt.Sprintf(format, a...)) }

func (v *schemaErrs) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(v.errs, "\n"))
}

func (v *schemaErrs) object(p string, x any) map[string]any {
	m, ok := x.(map[string]any)
	if !ok {
		v.add("%s: want an object, got %T", p, x)
		return map[string]any{}
	}
	return m
}

func (v *schemaErrs) list(p string, x any) []any {
	if x == nil {
		return nil
	}
	l, ok := x.([]any)
	if !ok {
		v.add("%s: want a list, got %T", p, x)
	}
	return l
}

// keys reports fields of m the schema does not know and required ones
// that are missing.
func (v *schemaErrs) keys(p string, m map[string]any, known []string, required ...string) {
	ok := map[string]bool{}
	for _, k := range known {
		ok[k] = true
	}
	var unknown []string
	for k := range m {
		if !ok[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		v.add("%s: unknown field %q", p, k)
	}
	for _, k := range required {
		if _, has := m[k]; !has {
			v.add("%s: missing required field %q", p, k)
		}
	}
}

func orEmpty(x any) any {
	if x == nil {
		return map[string]any{}
	}
	return x
}

// TestValidateJobRejectsBadJobs keeps the schema check honest: each
// broken manifest must be refused.
func TestValidateJobRejectsBadJobs(t *testing.T) {
	good := `apiVersion: batch/v1
kind: Job
metadata:
  name: kiwi-boxbuild-x
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      hostNetwork: true
      containers:
        - name: build
          image: localhost/box:1
          command: [/bin/sh]
          securityContext:
            privileged: true
          volumeMounts:
            - name: target
              mountPath: /bundle
      volumes:
        - name: target
          hostPath:
            path: /t
            type: DirectoryOrCreate
`
	if err := validateJob([]byte(good)); err != nil {
		t.Fatalf("a good Job was refused: %v", err)
	}
	for bad, want := range map[string]string{
		"kind: Job":                                   "Job",
		"restartPolicy: Never":                        "restartPolicy",
		"name: kiwi-boxbuild-x":                       "metadata.name",
		"mountPath: /bundle":                          "mountPath",
		"type: DirectoryOrCreate":                     "hostPath.type",
		"          image: localhost/box:1\n":          "image",
		"        - name: target\n          hostPath:": "names no volume",
		"      hostNetwork: true":                     "unknown field",
	} {
		repl := map[string]string{
			"kind: Job":                                   "kind: Deployment",
			"restartPolicy: Never":                        "restartPolicy: Always",
			"name: kiwi-boxbuild-x":                       "name: Kiwi_Boxbuild",
			"mountPath: /bundle":                          "mountPath: bundle",
			"type: DirectoryOrCreate":                     "type: Folder",
			"          image: localhost/box:1\n":          "",
			"        - name: target\n          hostPath:": "        - name: other\n          hostPath:",
			"      hostNetwork: true":                     "      hostNetwork: true\n      hostNetworking: true",
		}[bad]
		m := strings.Replace(good, bad, repl, 1)
		if m == good {
			t.Fatalf("mutation %q did not apply", bad)
		}
		if err := validateJob([]byte(m)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mutation %q: err %v, want one mentioning %q", bad, err, want)
		}
	}
}

// Package manifestgen renders the objects that install Tether in a cluster from
// the manifests embedded in the binary: CRDs, RBAC and the reconciler.
package manifestgen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/manifests"
)

const (
	// DefaultNamespace is where the reconciler runs.
	DefaultNamespace = "tether-system"
	// DefaultRegistry hosts the reconciler image.
	DefaultRegistry = "ghcr.io/tether-gitops"
	// ImageName is the reconciler image's name within the registry.
	ImageName = "tether-reconciler"
	// DeploymentName is the reconciler Deployment's name.
	DeploymentName = "tether-reconciler"

	// PartOfLabel marks every object that install creates; uninstall finds them by it.
	PartOfLabel = "app.kubernetes.io/part-of"
	// PartOfValue is PartOfLabel's value.
	PartOfValue = "tether"
	// ContainerName is the reconciler's container in its Deployment.
	ContainerName = "reconciler"
	// VersionLabel records the installed version on every object.
	VersionLabel = "app.kubernetes.io/version"
	// InstanceLabel records the install namespace on every object.
	InstanceLabel = "app.kubernetes.io/instance"
)

// Options select what to render.
type Options struct {
	// Version of Tether to install (the reconciler image's tag), e.g. v0.3.0.
	Version string
	// Registry replaces DefaultRegistry in the image reference.
	Registry string
	// Image overrides the whole image reference (repository[:tag][@digest]).
	Image string
	// Namespace to install into; DefaultNamespace when empty.
	Namespace string
}

var semverRe = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Validate reports options that cannot produce a working install.
func (o Options) Validate() error {
	if !semverRe.MatchString(o.Version) {
		return fmt.Errorf("invalid version %q: want a release version such as v0.1.0 (see `tether version`)", o.Version)
	}
	if o.Image != "" && strings.ContainsAny(o.Image, " \t\n") {
		return fmt.Errorf("invalid image %q: want repository[:tag][@digest]", o.Image)
	}
	if strings.ContainsAny(o.Registry, " \t\n@") || strings.Contains(o.Registry, "://") {
		return fmt.Errorf("invalid registry %q: want host[:port][/path]", o.Registry)
	}
	if o.Namespace != "" && !dnsLabel.MatchString(o.Namespace) {
		return fmt.Errorf("invalid namespace %q: want a DNS label", o.Namespace)
	}
	return nil
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ImageRef returns the reconciler image the options select.
func (o Options) ImageRef() string {
	if o.Image != "" {
		return o.Image
	}
	reg := strings.TrimSuffix(o.Registry, "/")
	if reg == "" {
		reg = DefaultRegistry
	}
	return fmt.Sprintf("%s/%s:%s", reg, ImageName, o.Version)
}

// Generate returns the install objects in apply order: Namespace, CRDs, RBAC,
// ServiceAccount, Service, Deployment.
func Generate(o Options) ([]*unstructured.Unstructured, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ns := o.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	var objs []*unstructured.Unstructured
	for _, dir := range []string{"reconciler/namespace.yaml", "crds", "rbac", "reconciler"} {
		files, err := files(dir)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if dir == "reconciler" && f == "reconciler/namespace.yaml" {
				continue
			}
			data, err := fs.ReadFile(manifests.FS, f)
			if err != nil {
				return nil, err
			}
			docs, err := Decode(data)
			if err != nil {
				return nil, fmt.Errorf("embedded manifest %s: %w", f, err)
			}
			for _, u := range docs {
				if u.GetKind() == "Kustomization" && strings.HasPrefix(u.GetAPIVersion(), "kustomize.config.k8s.io/") {
					continue
				}
				objs = append(objs, u)
			}
		}
	}
	for _, u := range objs {
		customize(u, o, ns)
	}
	sortForApply(objs)
	return objs, nil
}

// files lists one embedded file, or the YAML files of an embedded directory in name order.
func files(p string) ([]string, error) {
	if strings.HasSuffix(p, ".yaml") {
		return []string{p}, nil
	}
	entries, err := fs.ReadDir(manifests.FS, p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, path.Join(p, e.Name()))
		}
	}
	return out, nil
}

func customize(u *unstructured.Unstructured, o Options, ns string) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[PartOfLabel] = PartOfValue
	labels[InstanceLabel] = ns
	labels[VersionLabel] = o.Version
	u.SetLabels(labels)

	switch u.GetKind() {
	case "Namespace":
		u.SetName(ns)
	case "CustomResourceDefinition", "ClusterRole":
	case "ClusterRoleBinding", "RoleBinding":
		subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
		for _, s := range subjects {
			if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" {
				m["namespace"] = ns
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, subjects, "subjects")
	default:
		if u.GetNamespace() != "" {
			u.SetNamespace(ns)
		}
	}
	if u.GetKind() == "Deployment" && u.GetName() == DeploymentName {
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			if m, ok := c.(map[string]any); ok && m["name"] == ContainerName {
				m["image"] = o.ImageRef()
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
		tmplLabels, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
		tmplLabels[VersionLabel] = o.Version
		tmplLabels[PartOfLabel] = PartOfValue
		_ = unstructured.SetNestedStringMap(u.Object, tmplLabels, "spec", "template", "metadata", "labels")
	}
}

var kindOrder = map[string]int{
	"Namespace": 0, "CustomResourceDefinition": 1, "ClusterRole": 2, "ClusterRoleBinding": 3,
	"Role": 4, "RoleBinding": 5, "ServiceAccount": 6, "ConfigMap": 7, "Secret": 7, "Service": 8,
}

// sortForApply orders objects so that what others depend on comes first.
func sortForApply(objs []*unstructured.Unstructured) {
	rank := func(u *unstructured.Unstructured) int {
		if r, ok := kindOrder[u.GetKind()]; ok {
			return r
		}
		return 100
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
}

// Decode parses multi-document YAML into objects, skipping empty documents.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d: object has no kind or apiVersion", i)
		}
		out = append(out, u)
	}
}

// Encode writes objects as multi-document YAML.
func Encode(objs []*unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	for _, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes(), nil
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

package bootstrap

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/manifestgen"
)

// Names of the files that bootstrap writes under <path>/tether-system/.
const (
	SystemDir         = "tether-system"
	ComponentsFile    = "components.yaml"
	SyncFile          = "sync.yaml"
	KustomizationFile = "kustomization.yaml"
)

// SyncName names the GitRepository and Kustomization that keep the cluster
// in sync with the bootstrap repository.
const SyncName = "tether-system"

// ExtraFile is a file of extra manifests (--components-extra) that bootstrap
// writes next to components.yaml and lists in kustomization.yaml.
type ExtraFile struct {
	Name string // base name, e.g. "policies.yaml"
	Data []byte
}

// ManifestOptions select what the generated manifests hold.
type ManifestOptions struct {
	Components manifestgen.Options
	Extra      []ExtraFile

	URL        string        // repository URL the cluster pulls from
	Branch     string        // branch to follow
	Path       string        // directory of the cluster's configuration in the repository
	Interval   time.Duration // of the GitRepository and the Kustomization
	SecretName string        // auth Secret of the GitRepository; empty for none
}

// Manifests are the files bootstrap writes, keyed by repository path, and
// the objects they hold.
type Manifests struct {
	Files      map[string][]byte
	Components []*unstructured.Unstructured // components.yaml and the extra files
	Sync       []*unstructured.Unstructured // the GitRepository and the Kustomization
}

// CleanPath normalises a --path value to a slash-separated relative
// directory ("clusters/prod"); "" and "." are the repository root.
func CleanPath(p string) (string, error) {
	orig := p
	p = path.Clean(strings.TrimLeft(filepath.ToSlash(strings.TrimSpace(p)), "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("invalid path %q: it must stay inside the repository", orig)
	}
	return p, nil
}

// SystemPath returns <path>/tether-system relative to the repository root.
func SystemPath(p string) string { return path.Join(p, SystemDir) }

// Generate renders the bootstrap files. It is pure: the same options give
// the same bytes, which is what keeps a re-run from committing.
func Generate(o ManifestOptions) (*Manifests, error) {
	dir, err := CleanPath(o.Path)
	if err != nil {
		return nil, err
	}
	if o.URL == "" || o.Branch == "" {
		return nil, fmt.Errorf("the repository URL and branch are required")
	}
	ns := o.Components.Namespace
	if ns == "" {
		ns = manifestgen.DefaultNamespace
	}
	components, err := manifestgen.Generate(o.Components)
	if err != nil {
		return nil, err
	}
	componentsYAML, err := manifestgen.Encode(components)
	if err != nil {
		return nil, err
	}
	sysDir := SystemPath(dir)
	m := &Manifests{Files: map[string][]byte{path.Join(sysDir, ComponentsFile): componentsYAML}, Components: components}

	resources := []string{ComponentsFile, SyncFile}
	seen := map[string]bool{ComponentsFile: true, SyncFile: true, KustomizationFile: true}
	for _, e := range o.Extra {
		name := path.Base(filepath.ToSlash(e.Name))
		if seen[name] {
			return nil, fmt.Errorf("extra components file %q: the name is taken: rename it", e.Name)
		}
		seen[name] = true
		objs, err := manifestgen.Decode(e.Data)
		if err != nil {
			return nil, fmt.Errorf("extra components file %s: %w", e.Name, err)
		}
		m.Components = append(m.Components, objs...)
		m.Files[path.Join(sysDir, name)] = e.Data
		resources = append(resources, name)
	}

	sync, err := syncObjects(o, ns, dir)
	if err != nil {
		return nil, err
	}
	syncYAML, err := manifestgen.Encode(sync)
	if err != nil {
		return nil, err
	}
	m.Sync = sync
	m.Files[path.Join(sysDir, SyncFile)] = syncYAML

	sort.Strings(resources[2:])
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
	for _, r := range resources {
		kust += "- " + r + "\n"
	}
	m.Files[path.Join(sysDir, KustomizationFile)] = []byte(kust)
	return m, nil
}

func syncObjects(o ManifestOptions, ns, dir string) ([]*unstructured.Unstructured, error) {
	interval := o.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	repo := &sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: metav1.ObjectMeta{Name: SyncName, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{
			URL:       o.URL,
			Reference: &sourcev1.GitRepositoryRef{Branch: o.Branch},
			Interval:  &metav1.Duration{Duration: interval},
		},
	}
	if o.SecretName != "" {
		repo.Spec.SecretRef = &meta.LocalObjectReference{Name: o.SecretName}
	}
	ks := &kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: "Kustomization"},
		ObjectMeta: metav1.ObjectMeta{Name: SyncName, Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: SyncName},
			Path:      "./" + dir,
			Prune:     true,
			Interval:  &metav1.Duration{Duration: interval},
		},
	}
	if dir == "." {
		ks.Spec.Path = "./"
	}
	var out []*unstructured.Unstructured
	for _, obj := range []runtime.Object{repo, ks} {
		u, err := toUnstructured(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// toUnstructured goes through JSON so that empty status and
// creationTimestamp fields are left out of the YAML.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

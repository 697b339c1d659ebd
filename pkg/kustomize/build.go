package kustomize

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// Options says what to build and which of the Kustomization's overlays to
// apply on top of the user's kustomization.
type Options struct {
	// Path is the directory to build, relative to the root of the
	// filesystem; "" and "./" are the root. It may not leave the root.
	Path string

	// TargetNamespace sets the namespace of all namespaced objects,
	// overriding the namespace of the user's kustomization.
	TargetNamespace string
	// NamePrefix is prepended, and NameSuffix appended, to all names (after
	// the user's own prefix and suffix).
	NamePrefix, NameSuffix string
	// CommonMetadata labels and annotations are set on every object's
	// metadata (not on selectors or pod templates), overriding same keys.
	CommonMetadata *kustomizev1.CommonMetadata
	// Patches run after the user's patches, in the user's kustomization, so
	// their targets name objects as the user's files do.
	Patches []meta.Patch
	// Images replace user image entries of the same name.
	Images []meta.Image
	// Components are paths, relative to Path, of kustomize Components.
	Components []string

	// Decrypt, when set, is given every file kustomize reads, with its path
	// relative to the root, and returns the content to use (unchanged when
	// the file is not encrypted). Its errors fail the build, naming the file.
	Decrypt func(path string, data []byte) ([]byte, error)

	// AllowRemoteBases lets kustomizations refer to git repositories and
	// http(s) files. Off, such references fail the build: the result would
	// depend on more than the artifact. Only http(s) files can work with
	// the in-memory filesystem; git bases are cloned to disk where the
	// in-memory build cannot see them.
	AllowRemoteBases bool

	// Vars, when not nil, are substituted after the build: see Substitute
	// for the forms; objects annotated SubstituteAnnotation: disabled are
	// left alone. Nil (no spec.postBuild) skips substitution; an empty map
	// still applies defaults and fails on variables without one.
	Vars map[string]string
}

// OptionsFromSpec returns the Options a Kustomization's spec asks for.
func OptionsFromSpec(spec *kustomizev1.KustomizationSpec) Options {
	return Options{
		Path:            spec.Path,
		TargetNamespace: spec.TargetNamespace,
		NamePrefix:      spec.NamePrefix,
		NameSuffix:      spec.NameSuffix,
		CommonMetadata:  spec.CommonMetadata,
		Patches:         spec.Patches,
		Images:          spec.Images,
		Components:      spec.Components,
	}
}

// hasOverlays reports whether the user's kustomization must be changed.
func (o *Options) hasOverlays() bool {
	return o.TargetNamespace != "" || o.NamePrefix != "" || o.NameSuffix != "" ||
		len(o.Patches) > 0 || len(o.Images) > 0 || len(o.Components) > 0
}

// Build renders opts.Path of fsys, usually from LoadDir, and returns the
// objects in kustomize's legacy order (Namespaces and CRDs first).
//
// When the directory has no kustomization file, one listing its manifests
// is generated (see generate). The spec's overlays are applied by rewriting
// the kustomization in fsys; Build puts the original back (or removes the
// generated one) before it returns, so fsys is unchanged afterwards but must
// not be shared by Builds running at the same time.
func Build(fsys filesys.FileSystem, opts Options) ([]*unstructured.Unstructured, error) {
	objs, _, err := BuildWithOrigins(fsys, opts)
	return objs, err
}

// BuildWithOrigins is Build that also returns the file each object came
// from (relative to the root of fsys), keyed by Subject, so that errors
// found later, when applying, can name the file.
func BuildWithOrigins(fsys filesys.FileSystem, opts Options) ([]*unstructured.Unstructured, map[string]string, error) {
	objs, origins, err := build(fsys, opts)
	if err != nil {
		return nil, nil, err
	}
	return objs, origins, nil
}

func build(fsys filesys.FileSystem, opts Options) ([]*unstructured.Unstructured, map[string]string, error) {
	rel, err := cleanPath(opts.Path)
	if err != nil {
		return nil, nil, err
	}
	dir := path.Join(root, rel)
	if !fsys.IsDir(dir) {
		if fsys.Exists(dir) {
			return nil, nil, fmt.Errorf("path %q is a file, not a directory", rel)
		}
		return nil, nil, fmt.Errorf("path %q not found in the artifact", rel)
	}

	kfile, err := kustomizationFile(fsys, dir)
	if err != nil {
		return nil, nil, err
	}
	var (
		k         types.Kustomization
		original  []byte // the user's file, to put back
		generated = kfile == ""
		rewrite   = generated || opts.hasOverlays()
	)
	if generated {
		kfile = path.Join(dir, konfig.DefaultKustomizationFileName())
		if k, err = generate(fsys, dir); err != nil {
			return nil, nil, err
		}
	} else {
		if original, err = fsys.ReadFile(kfile); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", relName(kfile), err)
		}
		if err := k.Unmarshal(original); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", relName(kfile), err)
		}
	}
	// Origin annotations say which file each object came from; they are
	// removed again below unless the user asked for them.
	trackOrigins := !slices.Contains(k.BuildMetadata, types.OriginAnnotations)
	if trackOrigins {
		k.BuildMetadata = append(k.BuildMetadata, types.OriginAnnotations)
		rewrite = true
	}
	if err := applyOverlays(&k, &opts); err != nil {
		return nil, nil, err
	}
	if err := checkRefs(fsys, kfile, &k, generated, opts.AllowRemoteBases, map[string]bool{}); err != nil {
		return nil, nil, err
	}

	if rewrite {
		data, err := yaml.Marshal(&k)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", relName(kfile), err)
		}
		if err := fsys.WriteFile(kfile, data); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", relName(kfile), err)
		}
		defer restore(fsys, kfile, generated, original)
	}

	var build filesys.FileSystem = fsys
	var dfs *decryptFS
	if opts.Decrypt != nil {
		dfs = &decryptFS{FileSystem: fsys, decrypt: opts.Decrypt, skip: kfile}
		build = dfs
	}
	resMap, err := run(build, dir, len(k.OpenAPI) > 0)
	switch {
	case err != nil && dfs != nil && dfs.failed != nil:
		return nil, nil, dfs.failed
	case err != nil:
		return nil, nil, buildError(kfile, generated, err)
	}

	objs := make([]*unstructured.Unstructured, 0, resMap.Size())
	origins := make(map[string]string, resMap.Size())
	var errs []error
	for _, res := range resMap.Resources() {
		file := originFile(res, dir)
		u, err := toUnstructured(res, opts.CommonMetadata, opts.Vars)
		if err != nil {
			if file != "" {
				err = fmt.Errorf("%s: %w", file, err)
			}
			errs = append(errs, err)
			continue
		}
		if trackOrigins {
			removeAnnotation(u, originAnnotation)
		}
		if file != "" {
			origins[subject(u)] = file
		}
		objs = append(objs, u)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return objs, origins, nil
}

// toUnstructured converts a built resource, with the common metadata, and
// substitutes vars (unless nil) in its YAML: the YAML still has the quoting
// of the user's files, so `replicas: ${N}` gives a number and `value:
// "${N}"` a string. Common metadata goes first so it can use variables too.
func toUnstructured(res *resource.Resource, cm *kustomizev1.CommonMetadata, vars map[string]string) (*unstructured.Unstructured, error) {
	name := displayName(res.GetKind(), res.GetNamespace(), res.GetName())
	if err := setCommonMetadata(res, cm); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if vars != nil && res.GetAnnotations()[SubstituteAnnotation] != SubstituteDisabled {
		// The node's String, unlike AsYAML (via JSON), keeps the quoting.
		data, err := res.RNode.String()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		u, changed, err := substituteYAML(name, data, vars)
		if err != nil {
			return nil, err
		}
		if changed {
			return u, nil
		}
	}
	data, err := res.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return u, nil
}

// schemaMu guards kustomize's OpenAPI schema, a global: a kustomization
// with an openapi field would change it for the builds running at the same
// time, and after. Such builds run alone and reset it when done.
var schemaMu sync.RWMutex

func run(fsys filesys.FileSystem, dir string, customSchema bool) (resmap.ResMap, error) {
	if customSchema {
		schemaMu.Lock()
		defer schemaMu.Unlock()
		defer openapi.ResetOpenAPI()
	} else {
		schemaMu.RLock()
		defer schemaMu.RUnlock()
	}
	return krusty.MakeKustomizer(krustyOptions()).Run(fsys, dir)
}

// krustyOptions: builtin plugins only, no exec or container functions, no
// Helm, files only from below each kustomization's root, legacy order.
func krustyOptions() *krusty.Options {
	o := krusty.MakeDefaultOptions()
	o.Reorder = krusty.ReorderOptionLegacy
	o.LoadRestrictions = types.LoadRestrictionsRootOnly
	o.PluginConfig = types.DisabledPluginConfig()
	o.PluginConfig.HelmConfig.Enabled = false
	o.PluginConfig.FnpLoadingOptions.EnableExec = false
	o.PluginConfig.FnpLoadingOptions.Network = false
	return o
}

// cleanPath checks that p, slash-separated, stays inside the root and
// returns it clean and relative ("." for the root).
func cleanPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || (len(p) > 1 && p[1] == ':') {
		return "", fmt.Errorf("path %q must be relative to the root of the artifact", p)
	}
	c := path.Clean(strings.ReplaceAll(p, `\`, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the root of the artifact", p)
	}
	return c, nil
}

// kustomizationFile returns the kustomization file of dir, or "" if there is
// none.
func kustomizationFile(fsys filesys.FileSystem, dir string) (string, error) {
	var found []string
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		if fsys.Exists(p) && !fsys.IsDir(p) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	for i, f := range found {
		found[i] = path.Base(f)
	}
	return "", fmt.Errorf("%s: found several kustomization files (%s); keep one",
		relName(dir), strings.Join(found, ", "))
}

func restore(fsys filesys.FileSystem, kfile string, generated bool, original []byte) {
	if generated {
		_ = fsys.RemoveAll(kfile)
		return
	}
	_ = fsys.WriteFile(kfile, original)
}

// relName is p (absolute in fsys) relative to the root, as users see it.
func relName(p string) string {
	r := strings.TrimPrefix(path.Clean(p), root)
	if r == "" {
		return "."
	}
	return r
}

// buildError makes kustomize's error name the kustomization it came from
// and paths relative to the artifact root. Kustomize names the failing file
// itself (e.g. "accumulating resources from 'deploy.yaml'"); we add where.
func buildError(kfile string, generated bool, err error) error {
	where := relName(kfile)
	if generated {
		where = relName(path.Dir(kfile)) + " (generated kustomization)"
	}
	return fmt.Errorf("%s: %w", where, &cleanError{err})
}

// cleanError shows an error with the in-memory root stripped from paths:
// "'/apps/deploy.yaml'" becomes "'apps/deploy.yaml'".
type cleanError struct{ err error }

// accumulationErr is how kustomize reports a resource that is a file but
// failed to load: it tried it as a file (the cause), then as a directory.
var accumulationErr = regexp.MustCompile(`accumulation err='(.*)': must build at directory: '[^']*': file is not directory`)

func (e *cleanError) Error() string {
	s := accumulationErr.ReplaceAllString(e.err.Error(), "$1")
	for _, q := range []string{"'", `"`, " "} {
		s = strings.ReplaceAll(s, q+root, q)
	}
	return s
}

func (e *cleanError) Unwrap() error { return e.err }

// setCommonMetadata sets labels and annotations on the object's metadata only:
// selectors and templates are left alone, so adding a label never changes
// which pods a Deployment selects (an immutable field).
func setCommonMetadata(res *resource.Resource, cm *kustomizev1.CommonMetadata) error {
	if cm == nil {
		return nil
	}
	if len(cm.Labels) > 0 {
		l := res.GetLabels()
		maps.Copy(l, cm.Labels)
		if err := res.SetLabels(l); err != nil {
			return err
		}
	}
	if len(cm.Annotations) > 0 {
		a := res.GetAnnotations()
		maps.Copy(a, cm.Annotations)
		if err := res.SetAnnotations(a); err != nil {
			return err
		}
	}
	return nil
}

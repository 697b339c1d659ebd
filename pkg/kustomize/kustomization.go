package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// applyOverlays adds the spec's overlays to the user's kustomization k, so
// that they run within it: patches see the names of the user's files,
// components resolve relative to the path, and the user's own namespace is
// overridden.
func applyOverlays(k *types.Kustomization, o *Options) error {
	if o.TargetNamespace != "" {
		k.Namespace = o.TargetNamespace
	}
	k.NamePrefix = o.NamePrefix + k.NamePrefix
	k.NameSuffix += o.NameSuffix
	for i, p := range o.Patches {
		if strings.TrimSpace(p.Patch) == "" {
			return fmt.Errorf("patches[%d]: patch is empty", i)
		}
		tp := types.Patch{Patch: p.Patch}
		if s := p.Target; s != nil {
			tp.Target = &types.Selector{
				ResId: resid.ResId{
					Gvk:       resid.Gvk{Group: s.Group, Version: s.Version, Kind: s.Kind},
					Name:      s.Name,
					Namespace: s.Namespace,
				},
				AnnotationSelector: s.AnnotationSelector,
				LabelSelector:      s.LabelSelector,
			}
		}
		k.Patches = append(k.Patches, tp)
	}
	for _, img := range o.Images {
		// The spec wins over the user's entry for the same image; two entries
		// would be applied one after the other and the second might not match.
		k.Images = slices.DeleteFunc(k.Images, func(i types.Image) bool { return i.Name == img.Name })
		ti := types.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest}
		if ti.Digest != "" {
			ti.NewTag = "" // the API says the digest replaces the tag
		}
		k.Images = append(k.Images, ti)
	}
	k.Components = append(k.Components, o.Components...)
	return nil
}

// checkRefs checks the kustomization k (in file kfile), and those it includes
// from fsys, before kustomize runs, for errors that kustomize reports
// obscurely or not at all: resources that do not exist, objects without
// apiVersion or kind in the resource files (unless generated, whose files
// were checked already), and, unless allowRemote, references to git
// repositories and http(s) files, which kustomize would fetch itself.
func checkRefs(fsys filesys.FileSystem, kfile string, k *types.Kustomization, generated, allowRemote bool, seen map[string]bool) error {
	seen[kfile] = true
	dir := path.Dir(kfile)
	for _, f := range []struct {
		field string
		refs  []string
	}{{"resource", k.Resources}, {"resource", k.Bases}, {"component", k.Components}} {
		for _, r := range f.refs {
			if isRemote(r) {
				continue
			}
			p := path.Join(dir, r)
			if !fsys.Exists(p) {
				return fmt.Errorf("%s: %s %q: file or directory not found", relName(kfile), f.field, r)
			}
			if !generated && f.field == "resource" && !fsys.IsDir(p) {
				if err := checkObjects(fsys, p); err != nil {
					return err
				}
			}
		}
	}
	if !allowRemote {
		if err := refuseRemote(kfile, k); err != nil {
			return err
		}
	}
	return checkIncluded(fsys, dir, k, allowRemote, seen)
}

// checkIncluded runs checkRefs on the kustomizations of the local
// directories that k includes.
func checkIncluded(fsys filesys.FileSystem, dir string, k *types.Kustomization, allowRemote bool, seen map[string]bool) error {
	for _, r := range slices.Concat(k.Resources, k.Bases, k.Components) {
		sub := path.Join(dir, r)
		if !fsys.IsDir(sub) {
			continue
		}
		subFile, err := kustomizationFile(fsys, sub)
		if err != nil || subFile == "" || seen[subFile] {
			continue // kustomize reports these itself
		}
		data, err := fsys.ReadFile(subFile)
		if err != nil {
			return fmt.Errorf("%s: %w", relName(subFile), err)
		}
		var sk types.Kustomization
		if err := sk.Unmarshal(data); err != nil {
			return fmt.Errorf("%s: %w", relName(subFile), err)
		}
		if err := checkRefs(fsys, subFile, &sk, false, allowRemote, seen); err != nil {
			return err
		}
	}
	return nil
}

// refuseRemote fails if k refers, anywhere kustomize would load from, to a
// git repository or an http(s) file.
func refuseRemote(kfile string, k *types.Kustomization) error {
	refs := slices.Concat(k.Resources, k.Bases, k.Components, k.Crds, k.Configurations,
		k.Generators, k.Transformers, k.Validators, []string{k.OpenAPI["path"]})
	for _, p := range k.PatchesStrategicMerge {
		refs = append(refs, string(p))
	}
	for _, p := range slices.Concat(k.Patches, k.PatchesJson6902) {
		refs = append(refs, p.Path)
	}
	for _, r := range k.Replacements {
		refs = append(refs, r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		refs = append(refs, generatorFiles(g.GeneratorArgs)...)
	}
	for _, g := range k.SecretGenerator {
		refs = append(refs, generatorFiles(g.GeneratorArgs)...)
	}
	for _, r := range refs {
		if isRemote(r) {
			return fmt.Errorf("%s: %q: %w (the build may only use the artifact's files)",
				relName(kfile), r, errRemote)
		}
	}
	return nil
}

func generatorFiles(g types.GeneratorArgs) []string {
	var out []string
	for _, f := range g.FileSources {
		// "key=path" or "path".
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	out = append(out, g.EnvSources...)
	return append(out, g.EnvSource)
}

var errRemote = errors.New("remote bases are not allowed")

// gitUser matches the "git@" of "git@host:org/repo".
var gitUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote reports whether kustomize would fetch ref rather than read it from
// the filesystem: URLs with a scheme (https://, ssh://, file:// ...), the
// git:: prefix, scp-like "user@host:path" and github.com/org/repo. This
// mirrors kustomize's own parsing (internal/git/repospec.go), erring on the
// side of refusing.
func isRemote(ref string) bool {
	if ref == "" || strings.ContainsAny(ref, "\n") { // inline YAML
		return false
	}
	lower := strings.ToLower(ref)
	if strings.HasPrefix(lower, "git::") || strings.Contains(lower, "://") {
		return true
	}
	if strings.HasPrefix(lower, "github.com/") || strings.HasPrefix(lower, "github.com:") {
		return true
	}
	if m := gitUser.FindString(ref); m != "" {
		return strings.ContainsAny(ref[len(m):], ":/")
	}
	return false
}

// generate returns a kustomization for dir, which has none: it lists the
// Kubernetes manifests under dir recursively, and each sub-directory with its
// own kustomization file as one resource.
//
// A manifest is a .yaml, .yml or .json file with at least one document that
// has apiVersion and kind; others (Helm values, CI configs) are skipped.
// Files that are not valid YAML, and documents that look like objects (they
// have kind or metadata) but lack apiVersion or kind, are errors naming
// them, not skipped: a typo in a manifest must not silently drop its
// objects, which a prune would then delete.
func generate(fsys filesys.FileSystem, dir string) (types.Kustomization, error) {
	k := types.Kustomization{TypeMeta: types.TypeMeta{
		APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind,
	}}
	seen := map[string]string{} // object id -> file, to report duplicates
	err := generateIn(fsys, dir, "", &k, seen)
	return k, err
}

func generateIn(fsys filesys.FileSystem, base, rel string, k *types.Kustomization, seen map[string]string) error {
	dir := path.Join(base, rel)
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", relName(dir), err)
	}
	slices.Sort(names)
	var subdirs []string
	for _, name := range names {
		p := path.Join(dir, name)
		if fsys.IsDir(p) {
			subdirs = append(subdirs, name)
			continue
		}
		switch strings.ToLower(path.Ext(name)) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		data, err := fsys.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: %w", relName(p), err)
		}
		ok, err := scanManifest(relName(p), data, seen)
		if err != nil {
			return err
		}
		if ok {
			k.Resources = append(k.Resources, path.Join(rel, name))
		}
	}
	for _, name := range subdirs {
		sub := path.Join(rel, name)
		kf, err := kustomizationFile(fsys, path.Join(base, sub))
		if err != nil {
			return err
		}
		if kf != "" {
			k.Resources = append(k.Resources, sub)
			continue
		}
		if err := generateIn(fsys, base, sub, k, seen); err != nil {
			return err
		}
	}
	return nil
}

// scanManifest reports whether the file name is a Kubernetes manifest, and
// fails on invalid YAML and on an object already defined in another file.
func scanManifest(name string, data []byte, seen map[string]string) (bool, error) {
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	manifest := false
	for {
		var doc kyaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return manifest, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		f := topFields(&doc)
		if err := checkTypeMeta(f); err != nil {
			return false, fmt.Errorf("%s: line %d: %w (a file that is no manifest can be left out with .sourceignore, or by listing the manifests in a kustomization.yaml)",
				name, docLine(&doc), err)
		}
		if f["apiVersion"] == "" || f["kind"] == "" {
			continue // not an object: a values file, a CI config, empty
		}
		manifest = true
		if f["name"] == "" || strings.HasSuffix(f["kind"], "List") {
			continue
		}
		ns := f["namespace"]
		if ns == "" {
			ns = "default" // as kustomize compares ids
		}
		id := f["apiVersion"] + "/" + f["kind"] + " " + ns + "/" + f["name"]
		if other, dup := seen[id]; dup {
			return false, fmt.Errorf("%s: %s %s/%s is already defined in %s",
				name, f["kind"], ns, f["name"], other)
		}
		seen[id] = name
	}
}

// checkObjects fails when a document of the resource file p looks like an
// object but lacks apiVersion or kind (see checkTypeMeta); kustomize's own
// message for that shows neither the file nor the object plainly. Invalid
// YAML is left to kustomize, which names the file.
func checkObjects(fsys filesys.FileSystem, p string) error {
	data, err := fsys.ReadFile(p)
	if err != nil {
		return nil // kustomize reports it
	}
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc kyaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil
		}
		if err := checkTypeMeta(topFields(&doc)); err != nil {
			return fmt.Errorf("%s: line %d: %w", relName(p), docLine(&doc), err)
		}
	}
}

// checkTypeMeta fails for a document that is meant as an object, having
// kind or metadata, but lacks kind or apiVersion. Documents with neither
// (Helm values; Chart.yaml, which has an apiVersion) are not objects.
func checkTypeMeta(f map[string]string) error {
	if f["kind"] == "" && f["metadata"] == "" {
		return nil
	}
	what := "the object"
	if f["kind"] != "" {
		what = f["kind"]
	}
	if f["name"] != "" {
		what += " " + strconv.Quote(f["name"])
	}
	switch {
	case f["kind"] == "":
		return fmt.Errorf("%s has no kind: every object needs apiVersion and kind", what)
	case f["apiVersion"] == "":
		return fmt.Errorf("%s has no apiVersion: every object needs apiVersion and kind", what)
	}
	return nil
}

// docLine is the line in its file where doc's content starts.
func docLine(doc *kyaml.Node) int {
	if doc.Kind == kyaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0].Line
	}
	return doc.Line
}

// topFields returns apiVersion, kind, name and namespace of a document when
// they are strings, and "metadata" set to "true" when it has metadata.
func topFields(doc *kyaml.Node) map[string]string {
	out := map[string]string{}
	n := doc
	if n.Kind == kyaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != kyaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		switch {
		case (key == "apiVersion" || key == "kind") && val.Kind == kyaml.ScalarNode:
			out[key] = val.Value
		case key == "metadata":
			out["metadata"] = "true"
			if val.Kind != kyaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				mk, mv := val.Content[j].Value, val.Content[j+1]
				if (mk == "name" || mk == "namespace") && mv.Kind == kyaml.ScalarNode {
					out[mk] = mv.Value
				}
			}
		}
	}
	return out
}

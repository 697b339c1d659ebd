// Package validate implements `tether validate [DIR]`: an offline check of
// a GitOps repository for CI. It parses every YAML file, builds every
// kustomization with the reconciler's kustomize package, validates Tether
// objects against the CRD schemas built into the binary and built-in kinds
// by strict decoding, and checks that sourceRef and dependsOn resolve.
package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/kustomize"
)

// Severity of a problem: errors fail the validation, warnings do not.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is one finding, at a line of a file.
type Problem struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc += ":" + fmt.Sprint(p.Line)
	}
	if p.Severity == SeverityWarning {
		return loc + ": warning: " + p.Message
	}
	return loc + ": " + p.Message
}

// Result is what a validation found.
type Result struct {
	Problems []Problem `json:"problems"`
	Files    int       `json:"files"`
	Objects  int       `json:"objects"`
	// Kustomizations is the number of kustomization directories built.
	Kustomizations int `json:"kustomizations"`
	// Unchecked counts, by kind, the objects without a schema to check them.
	Unchecked map[string]int `json:"unchecked,omitempty"`
	Errors    int            `json:"errors"`
	Warnings  int            `json:"warnings"`
}

// Options are the flags of `tether validate`.
type Options struct {
	IO  *iostreams.IOStreams
	Dir string
	// StrictRefs makes a sourceRef or dependsOn that names no object in Dir
	// an error rather than a warning.
	StrictRefs bool
	// Output is "" for file:line lines, or "json".
	Output string
}

// NewCmdValidate returns `tether validate`.
func NewCmdValidate(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a repository's manifests offline, for CI",
		Long: `Validate checks the manifests under DIR (default: the current directory)
without a cluster, and prints each problem as file:line: message:

  - every .yaml/.yml file parses (syntax errors with their line);
  - every directory with a kustomization.yaml builds, with the kustomize
    code the reconciler runs;
  - Tether objects (GitRepository, Kustomization, HelmRelease, ...) match the
    schemas of the CRDs built into this binary: types, required fields,
    enums, patterns, unknown fields and CEL rules, as the API server checks;
    so do objects of CustomResourceDefinitions found under DIR;
  - built-in Kubernetes objects decode strictly into their types (unknown or
    duplicate fields and wrong types are errors);
  - the sourceRef, chartRef and dependsOn of Kustomizations and HelmReleases
    name objects under DIR; one that may live only in the cluster is a
    warning, or an error with --strict-refs.

Objects of other kinds are counted but not checked. Hidden directories and
Helm charts (directories with a Chart.yaml) are skipped, and so are files
that kustomizations use as patches and SOPS-encrypted documents. The exit
status is 1 when there is an error.`,
		Example: `  # In CI, at the root of the repository
  tether validate

  # One directory, references must resolve in it, JSON for tooling
  tether validate clusters/prod --strict-refs -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = "."
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if opts.Output != "" && opts.Output != "json" {
				return cmdutil.UsageErrorf("invalid --output %q: use json, or leave it out for file:line lines", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run()
		},
	}
	cmd.Flags().BoolVar(&opts.StrictRefs, "strict-refs", false, "fail when a sourceRef or dependsOn names no object under DIR")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json (default: file:line: problem lines)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Run validates Dir and prints the result; it fails when there are errors.
func (o *Options) Run() error {
	res, err := Validate(o.Dir, o.StrictRefs)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		for _, p := range res.Problems {
			fmt.Fprintln(o.IO.Out, p.String())
		}
		summary := fmt.Sprintf("%d files, %d objects, %d kustomizations: %d errors, %d warnings", res.Files, res.Objects, res.Kustomizations, res.Errors, res.Warnings)
		if len(res.Unchecked) > 0 {
			var ks []string
			for _, k := range sortedKeys(res.Unchecked) {
				ks = append(ks, fmt.Sprintf("%s (%d)", k, res.Unchecked[k]))
			}
			summary += "; not checked, no schema: " + strings.Join(ks, ", ")
		}
		if res.Errors > 0 {
			o.IO.Failure("%s", summary)
		} else {
			o.IO.Success("%s", summary)
		}
	}
	if res.Errors > 0 {
		return &cmdutil.ExitError{Code: 1, Err: fmt.Errorf("%d errors", res.Errors), Silent: true}
	}
	return nil
}

// validator holds the state of one validation.
type validator struct {
	root       string
	strictRefs bool
	res        *Result
	docs       []*document
	// patches are the files that kustomizations use as patches: partial
	// objects, not validated as whole ones.
	patches map[string]bool
	schemas map[schema.GroupVersionKind]*crdSchema
}

// Validate checks the directory dir; see NewCmdValidate for what it checks.
func Validate(dir string, strictRefs bool) (*Result, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: pass the directory to validate", dir)
	}
	tether, err := tetherSchemas()
	if err != nil {
		return nil, err
	}
	v := &validator{root: dir, strictRefs: strictRefs, res: &Result{Unchecked: map[string]int{}}, patches: map[string]bool{},
		schemas: map[schema.GroupVersionKind]*crdSchema{}}
	for k, s := range tether {
		v.schemas[k] = s
	}
	files, kdirs, err := walk(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	v.res.Files = len(files)
	for _, f := range files {
		docs, line, err := parseFile(dir, f)
		if err != nil {
			v.add(f, line, SeverityError, err.Error())
		}
		v.docs = append(v.docs, docs...)
	}
	v.collectPatches(kdirs)
	v.collectCRDs()
	for _, d := range v.docs {
		v.checkObject(d)
	}
	v.build(kdirs)
	v.checkRefs()
	sort.SliceStable(v.res.Problems, func(i, j int) bool {
		a, b := v.res.Problems[i], v.res.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	if len(v.res.Unchecked) == 0 {
		v.res.Unchecked = nil
	}
	return v.res, nil
}

func (v *validator) add(rel string, line int, severity, msg string) {
	v.res.Problems = append(v.res.Problems, Problem{File: v.display(rel), Line: line, Severity: severity, Message: msg})
	if severity == SeverityError {
		v.res.Errors++
	} else {
		v.res.Warnings++
	}
}

// display is the path printed: under the directory as it was given.
func (v *validator) display(rel string) string {
	return filepath.ToSlash(filepath.Join(v.root, filepath.FromSlash(rel)))
}

// gvk returns the document's apiVersion and kind.
func (d *document) gvk() (schema.GroupVersionKind, bool) {
	apiVersion, _ := d.Obj["apiVersion"].(string)
	kind, _ := d.Obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || apiVersion == "" || kind == "" {
		return schema.GroupVersionKind{}, false
	}
	return gv.WithKind(kind), true
}

func (d *document) isKustomizeConfig() bool {
	gvk, _ := d.gvk()
	return gvk.Group == "kustomize.config.k8s.io" || slices.Contains(kustomizationFiles, path.Base(d.File))
}

// collectPatches records the files listed as patches by the kustomizations.
func (v *validator) collectPatches(kdirs []string) {
	for _, d := range v.docs {
		if !slices.Contains(kustomizationFiles, path.Base(d.File)) || d.Obj == nil {
			continue
		}
		dir := path.Dir(d.File)
		var names []string
		if ps, ok := d.Obj["patches"].([]any); ok {
			for _, p := range ps {
				if m, ok := p.(map[string]any); ok {
					if s, ok := m["path"].(string); ok {
						names = append(names, s)
					}
				}
			}
		}
		for _, key := range []string{"patchesStrategicMerge", "patchesJson6902"} {
			if ps, ok := d.Obj[key].([]any); ok {
				for _, p := range ps {
					switch p := p.(type) {
					case string:
						names = append(names, p)
					case map[string]any:
						if s, ok := p["path"].(string); ok {
							names = append(names, s)
						}
					}
				}
			}
		}
		for _, n := range names {
			v.patches[path.Clean(path.Join(dir, n))] = true
		}
	}
}

// collectCRDs adds the schemas of the CustomResourceDefinitions under the
// directory, so that their objects are checked too.
func (v *validator) collectCRDs() {
	for _, d := range v.docs {
		gvk, ok := d.gvk()
		if !ok || gvk.Group != "apiextensions.k8s.io" || gvk.Kind != "CustomResourceDefinition" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.Unmarshal(d.YAML, &crd); err != nil {
			continue // reported by the strict decoding of the CRD itself
		}
		for _, ver := range crd.Spec.Versions {
			key := schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}
			if _, builtIn := v.schemas[key]; builtIn || ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
				continue
			}
			s, err := newCRDSchema(ver.Schema.OpenAPIV3Schema)
			if err != nil {
				v.add(d.File, d.Line, SeverityError, fmt.Sprintf("CustomResourceDefinition %s version %s: invalid schema: %v", crd.Name, ver.Name, err))
				continue
			}
			v.schemas[key] = s
		}
	}
}

// checkObject validates one document as a Kubernetes object.
func (v *validator) checkObject(d *document) {
	if d.Obj == nil {
		if d.Node.Kind != 0 && !slices.Contains(kustomizationFiles, path.Base(d.File)) {
			v.res.Unchecked["(not a YAML map)"]++
		}
		return
	}
	if d.isKustomizeConfig() || v.patches[d.File] {
		return
	}
	if _, encrypted := d.Obj["sops"]; encrypted {
		v.res.Unchecked["(SOPS-encrypted)"]++
		return
	}
	apiVersion, hasAPIVersion := d.Obj["apiVersion"]
	kind, hasKind := d.Obj["kind"]
	switch {
	case !hasAPIVersion && !hasKind:
		return // not a Kubernetes object: values, configuration
	case !hasKind:
		v.add(d.File, d.lineOf("apiVersion"), SeverityError, "object has an apiVersion but no kind")
		return
	case !hasAPIVersion:
		v.add(d.File, d.lineOf("kind"), SeverityError, fmt.Sprintf("%v object has no apiVersion", kind))
		return
	}
	gvk, ok := d.gvk()
	if !ok {
		v.add(d.File, d.lineOf("apiVersion"), SeverityError, fmt.Sprintf("invalid apiVersion %v or kind %v", apiVersion, kind))
		return
	}
	if gvk.Kind == "List" && gvk.Group == "" {
		v.res.Unchecked["List"]++
		return
	}
	v.res.Objects++
	md, _ := d.Obj["metadata"].(map[string]any)
	if name, _ := md["name"].(string); name == "" {
		if gen, _ := md["generateName"].(string); gen == "" {
			v.add(d.File, d.lineOf("metadata"), SeverityError, fmt.Sprintf("%s has no metadata.name", gvk.Kind))
		}
	}
	var problems []fieldProblem
	if s, ok := v.schemas[gvk]; ok {
		problems = s.validate(d.Obj)
	} else if isTetherGroup(gvk.Group) {
		v.add(d.File, d.lineOf("apiVersion"), SeverityError, fmt.Sprintf("%s is not served by Tether: %s has no version %s", gvk.Kind, gvk.Group, gvk.Version))
		return
	} else if p, known := strictDecode(d.YAML, gvk); known {
		problems = p
	} else {
		v.res.Unchecked[gvk.GroupKind().String()]++
		return
	}
	for _, p := range problems {
		v.add(d.File, d.lineOf(p.Path), SeverityError, fmt.Sprintf("%s %s: %s", gvk.Kind, objectName(d.Obj), p.Message))
	}
}

func objectName(obj map[string]any) string {
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	if ns, _ := md["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}

// build runs kustomize on every kustomization directory, as the reconciler
// would; errors are reported on the kustomization file.
func (v *validator) build(kdirs []string) {
	if len(kdirs) == 0 {
		return
	}
	fsys, err := kustomize.LoadDir(v.root)
	if err != nil {
		v.add(".", 0, SeverityError, fmt.Sprintf("loading the directory for kustomize: %v", err))
		return
	}
	for _, dir := range kdirs {
		file := kustomizationFileIn(v.root, dir)
		if v.parseFailed(file) {
			continue // its syntax error is reported already
		}
		v.res.Kustomizations++
		if _, err := kustomize.Build(fsys, kustomize.Options{Path: dir}); err != nil {
			v.add(file, 1, SeverityError, "kustomize build: "+oneLine(err.Error()))
		}
	}
}

func (v *validator) parseFailed(rel string) bool {
	disp := v.display(rel)
	return slices.ContainsFunc(v.res.Problems, func(p Problem) bool { return p.File == disp && p.Severity == SeverityError })
}

func kustomizationFileIn(root, dir string) string {
	for _, k := range kustomizationFiles {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir), k)); err == nil {
			return path.Join(dir, k)
		}
	}
	return path.Join(dir, "kustomization.yaml")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

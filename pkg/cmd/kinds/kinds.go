// Package kinds is the one table of Tether kinds that the get, reconcile,
// suspend, resume, delete and export commands share: each kind is an adapter
// (its CLI names, its group/version/kind, how to make an empty object and
// list, where its revision is) and the commands are written once over it.
package kinds

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/cmdutil"
)

// Object is a Tether object the CLI can read and patch.
type Object interface {
	meta.Reconcilable
	client.Object
}

// List is the list type of a Tether kind.
type List interface {
	meta.ReconcilableList
	client.ObjectList
}

// Ref names an object of a kind, for the source a Kustomization or a
// HelmRelease reconciles from.
type Ref struct {
	Kind      *Kind
	Namespace string
	Name      string
}

func (r Ref) String() string { return r.Kind.Kind + " " + r.Namespace + "/" + r.Name }

// Kind adapts one Tether kind to the generic commands.
type Kind struct {
	// Kind is the API kind, e.g. GitRepository.
	Kind string
	// Name is the CLI noun: "git" (under "source"), "kustomization".
	Name string
	// Plural is the noun of `tether get`: "git", "kustomizations".
	Plural string
	// Aliases are other accepted nouns (ks, hr, ...).
	Aliases []string
	// Source is true for the kinds under `tether <verb> source`.
	Source bool
	// GVK is the group, version and kind served.
	GVK schema.GroupVersionKind

	// New returns an empty object; NewList an empty list.
	New     func() Object
	NewList func() List
	// Revision is what the object last fetched or applied.
	Revision func(Object) string
	// Origin says where the object comes from (a URL, a source); it is a
	// column of `get -o wide`.
	Origin func(Object) string
	// Upstream names the source that --with-source reconciles first: its
	// API kind, namespace and name; an empty name when there is none.
	Upstream func(Object) (kind, namespace, name string)
	// Applies is true for kinds that apply to the cluster (their result is
	// "applied revision"), false for sources ("fetched revision").
	Applies bool
}

// Noun is how messages name the kind: "source git", "kustomization".
func (k *Kind) Noun() string {
	if k.Source {
		return "source " + k.Name
	}
	return k.Name
}

// ListKind is the kind of the list type.
func (k *Kind) ListKind() string { return k.Kind + "List" }

// Object returns an empty object with its type set.
func (k *Kind) Object() Object {
	o := k.New()
	o.GetObjectKind().SetGroupVersionKind(k.GVK)
	return o
}

// SetType fills in the apiVersion and kind that typed clients leave empty.
func (k *Kind) SetType(o Object) { o.GetObjectKind().SetGroupVersionKind(k.GVK) }

func artifactRevision(o Object) string {
	if s, ok := o.(meta.Source); ok && s.GetArtifact() != nil {
		return s.GetArtifact().Revision
	}
	return ""
}

var (
	// GitRepository is source git.
	GitRepository = &Kind{
		Kind: "GitRepository", Name: "git", Plural: "git", Aliases: []string{"gitrepository", "gitrepositories"}, Source: true,
		GVK:      sourcev1.GroupVersion.WithKind("GitRepository"),
		New:      func() Object { return &sourcev1.GitRepository{} },
		NewList:  func() List { return &sourcev1.GitRepositoryList{} },
		Revision: artifactRevision,
		Origin:   func(o Object) string { return o.(*sourcev1.GitRepository).Spec.URL },
	}
	// HelmRepository is source helm.
	HelmRepository = &Kind{
		Kind: "HelmRepository", Name: "helm", Plural: "helm", Aliases: []string{"helmrepository", "helmrepositories"}, Source: true,
		GVK:      sourcev1.GroupVersion.WithKind("HelmRepository"),
		New:      func() Object { return &sourcev1.HelmRepository{} },
		NewList:  func() List { return &sourcev1.HelmRepositoryList{} },
		Revision: artifactRevision,
		Origin:   func(o Object) string { return o.(*sourcev1.HelmRepository).Spec.URL },
	}
	// Bucket is source bucket.
	Bucket = &Kind{
		Kind: "Bucket", Name: "bucket", Plural: "bucket", Aliases: []string{"buckets"}, Source: true,
		GVK:      sourcev1.GroupVersion.WithKind("Bucket"),
		New:      func() Object { return &sourcev1.Bucket{} },
		NewList:  func() List { return &sourcev1.BucketList{} },
		Revision: artifactRevision,
		Origin: func(o Object) string {
			b := o.(*sourcev1.Bucket)
			return strings.TrimSuffix(b.Spec.Endpoint, "/") + "/" + b.Spec.BucketName
		},
	}
	// OCIRepository is source oci.
	OCIRepository = &Kind{
		Kind: "OCIRepository", Name: "oci", Plural: "oci", Aliases: []string{"ocirepository", "ocirepositories"}, Source: true,
		GVK:      sourcev1.GroupVersion.WithKind("OCIRepository"),
		New:      func() Object { return &sourcev1.OCIRepository{} },
		NewList:  func() List { return &sourcev1.OCIRepositoryList{} },
		Revision: artifactRevision,
		Origin:   func(o Object) string { return o.(*sourcev1.OCIRepository).Spec.URL },
	}
	// HelmChart is source chart.
	HelmChart = &Kind{
		Kind: "HelmChart", Name: "chart", Plural: "chart", Aliases: []string{"helmchart", "helmcharts"}, Source: true,
		GVK:      sourcev1.GroupVersion.WithKind("HelmChart"),
		New:      func() Object { return &sourcev1.HelmChart{} },
		NewList:  func() List { return &sourcev1.HelmChartList{} },
		Revision: artifactRevision,
		Origin: func(o Object) string {
			hc := o.(*sourcev1.HelmChart)
			return hc.Spec.SourceRef.Kind + "/" + hc.Spec.SourceRef.Name + ":" + hc.Spec.Chart
		},
		Upstream: func(o Object) (string, string, string) {
			hc := o.(*sourcev1.HelmChart)
			return hc.Spec.SourceRef.Kind, hc.Namespace, hc.Spec.SourceRef.Name
		},
	}
	// Kustomization is kustomization (ks).
	Kustomization = &Kind{
		Kind: "Kustomization", Name: "kustomization", Plural: "kustomizations", Aliases: []string{"ks"}, Applies: true,
		GVK:      kustomizev1.GroupVersion.WithKind("Kustomization"),
		New:      func() Object { return &kustomizev1.Kustomization{} },
		NewList:  func() List { return &kustomizev1.KustomizationList{} },
		Revision: func(o Object) string { return o.(*kustomizev1.Kustomization).Status.LastAppliedRevision },
		Origin: func(o Object) string {
			ks := o.(*kustomizev1.Kustomization)
			return ks.Spec.SourceRef.String()
		},
		Upstream: func(o Object) (string, string, string) {
			ks := o.(*kustomizev1.Kustomization)
			return ks.Spec.SourceRef.Kind, ks.Spec.SourceRef.NamespaceOr(ks.Namespace), ks.Spec.SourceRef.Name
		},
	}
	// HelmRelease is helmrelease (hr).
	HelmRelease = &Kind{
		Kind: "HelmRelease", Name: "helmrelease", Plural: "helmreleases", Aliases: []string{"hr"}, Applies: true,
		GVK:      helmv1.GroupVersion.WithKind("HelmRelease"),
		New:      func() Object { return &helmv1.HelmRelease{} },
		NewList:  func() List { return &helmv1.HelmReleaseList{} },
		Revision: helmReleaseRevision,
		Origin: func(o Object) string {
			hr := o.(*helmv1.HelmRelease)
			switch {
			case hr.Spec.ChartRef != nil:
				return hr.Spec.ChartRef.String()
			case hr.Spec.Chart != nil:
				return hr.Spec.Chart.Spec.SourceRef.String() + ":" + hr.Spec.Chart.Spec.Chart
			}
			return ""
		},
		Upstream: helmReleaseUpstream,
	}
)

// All lists every kind, sources first, in the order `get all` prints them.
var All = []*Kind{GitRepository, HelmRepository, HelmChart, Bucket, OCIRepository, Kustomization, HelmRelease}

// Sources lists the source kinds.
func Sources() []*Kind {
	var out []*Kind
	for _, k := range All {
		if k.Source {
			out = append(out, k)
		}
	}
	return out
}

// ByKind returns the adapter of an API kind such as "GitRepository".
func ByKind(kind string) (*Kind, bool) {
	for _, k := range All {
		if strings.EqualFold(k.Kind, kind) {
			return k, true
		}
	}
	return nil, false
}

// UpstreamOf returns the source that --with-source reconciles before o.
func (k *Kind) UpstreamOf(o Object) (Ref, bool) {
	if k.Upstream == nil {
		return Ref{}, false
	}
	kind, namespace, name := k.Upstream(o)
	up, ok := ByKind(kind)
	if !ok || name == "" {
		return Ref{}, false
	}
	return Ref{Kind: up, Namespace: namespace, Name: name}, true
}

// helmReleaseRevision is the chart version of the latest release, or the
// revision last attempted when there is no release yet.
func helmReleaseRevision(o Object) string {
	hr := o.(*helmv1.HelmRelease)
	if latest := hr.Status.History.Latest(); latest != nil && latest.ChartVersion != "" {
		return latest.ChartVersion
	}
	return hr.Status.LastAttemptedRevision
}

// helmReleaseUpstream is the HelmChart that fetches the release's chart:
// the one created for spec.chart, or the one spec.chartRef names.
func helmReleaseUpstream(o Object) (string, string, string) {
	hr := o.(*helmv1.HelmRelease)
	if hr.Spec.ChartRef != nil {
		return hr.Spec.ChartRef.Kind, hr.Spec.ChartRef.NamespaceOr(hr.Namespace), hr.Spec.ChartRef.Name
	}
	if ns, name := hr.Status.GetHelmChart(); name != "" {
		return "HelmChart", ns, name
	}
	if hr.Spec.Chart != nil {
		ns := hr.Spec.Chart.GetNamespace(hr.Spec.Chart.Spec.SourceRef.NamespaceOr(hr.Namespace))
		return "HelmChart", ns, hr.GetHelmChartName()
	}
	return "", "", ""
}

// NotFound says that an object does not exist, and how to list what does.
func NotFound(k *Kind, namespace, name string) error { return notFound(nil, k, namespace, name) }

// notFound is NotFound keeping the API server's answer for --verbose.
func notFound(cause error, k *Kind, namespace, name string) error {
	return notFoundError{cmdutil.Summarize(cause, "%s %s/%s not found: list them with tether get %s -n %s", k.Kind, namespace, name, getNoun(k), namespace)}
}

// IsNotFound reports whether err says that an object does not exist.
func IsNotFound(err error) bool {
	var nf notFoundError
	return errors.As(err, &nf)
}

func getNoun(k *Kind) string {
	if k.Source {
		return "sources " + k.Plural
	}
	return k.Plural
}

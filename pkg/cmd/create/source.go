package create

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
)

// objectMeta is the metadata of the object a command creates.
func (o *Options) objectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace}
}

func duration(d time.Duration) *metav1.Duration {
	if d == 0 {
		return nil
	}
	return &metav1.Duration{Duration: d}
}

func secretRef(name string) *meta.LocalObjectReference {
	if name == "" {
		return nil
	}
	return &meta.LocalObjectReference{Name: name}
}

// ignore joins --ignore-paths into the .gitignore-style spec.ignore.
func ignore(paths []string) *string {
	if len(paths) == 0 {
		return nil
	}
	s := strings.Join(paths, "\n") + "\n"
	return &s
}

func newCmdSourceGit(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, kinds.GitRepository)
	var (
		rawURL, branch, tag, semver, commit, refName, secret string
		interval                                             time.Duration
		ignorePaths                                          []string
		submodules                                           bool
	)
	cmd := leaf(f, o, "git", "Create or update a GitRepository", `  # A public repository, branch main
  tether create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=main

  # The highest tag matching a semver range, with credentials from a Secret
  tether create source git app --url=https://git.example.com/app --tag-semver=">=1.0.0" --secret-ref=app-git

  # Print the YAML to commit instead of applying it
  tether create source git app --url=ssh://git@git.example.com/app --branch=main --export > app-source.yaml`, runF)
	addWaitFlag(cmd, o)
	fl := cmd.Flags()
	fl.StringVar(&rawURL, "url", "", "repository URL: http://, https:// or ssh:// (required)")
	fl.StringVar(&branch, "branch", "", "branch to check out (the API's default, master, when no reference is given)")
	fl.StringVar(&tag, "tag", "", "tag to check out")
	fl.StringVar(&semver, "tag-semver", "", "semver range: the highest matching tag is checked out")
	fl.StringVar(&commit, "commit", "", "commit SHA to check out (with --branch: fetched from that branch)")
	fl.StringVar(&refName, "ref-name", "", "full Git reference to check out, e.g. refs/pull/42/head")
	fl.StringVar(&secret, "secret-ref", "", "Secret with the credentials (see tether create secret git)")
	fl.DurationVar(&interval, "interval", time.Minute, "how often to check the repository for new commits")
	fl.StringSliceVar(&ignorePaths, "ignore-paths", nil, "paths to leave out of the artifact, in .gitignore format (replaces the default list)")
	fl.BoolVar(&submodules, "recurse-submodules", false, "clone the submodules too")
	_ = cmd.MarkFlagRequired("url")
	o.Objects = func(context.Context) ([]client.Object, error) {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ssh") {
			return nil, cmdutil.UsageErrorf("invalid --url %q: use an http://, https:// or ssh:// URL", rawURL)
		}
		set := 0
		for _, v := range []string{tag, semver, refName} {
			if v != "" {
				set++
			}
		}
		if set > 1 {
			return nil, cmdutil.UsageErrorf("--tag, --tag-semver and --ref-name exclude each other: pass one")
		}
		if commit != "" && set > 0 {
			return nil, cmdutil.UsageErrorf("--commit goes with --branch only, not with --tag, --tag-semver or --ref-name")
		}
		obj := &sourcev1.GitRepository{
			ObjectMeta: o.objectMeta(),
			Spec: sourcev1.GitRepositorySpec{
				URL:               rawURL,
				SecretRef:         secretRef(secret),
				Interval:          duration(interval),
				Ignore:            ignore(ignorePaths),
				RecurseSubmodules: submodules,
			},
		}
		if branch != "" || tag != "" || semver != "" || commit != "" || refName != "" {
			obj.Spec.Reference = &sourcev1.GitRepositoryRef{Branch: branch, Tag: tag, SemVer: semver, Commit: commit, Name: refName}
		}
		return []client.Object{typed(kinds.GitRepository, obj)}, nil
	}
	return cmd
}

func newCmdSourceHelm(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, kinds.HelmRepository)
	var (
		rawURL, secret, certSecret string
		interval                   time.Duration
		oci, passCredentials       bool
		insecure                   bool
	)
	cmd := leaf(f, o, "helm", "Create or update a HelmRepository", `  # An HTTP chart repository
  tether create source helm podinfo --url=https://stefanprodan.github.io/podinfo

  # An OCI registry holding charts, with credentials
  tether create source helm charts --url=oci://ghcr.io/example/charts --oci --secret-ref=ghcr`, runF)
	addWaitFlag(cmd, o)
	fl := cmd.Flags()
	fl.StringVar(&rawURL, "url", "", "repository URL: http(s):// for an index, oci:// for a registry (required)")
	fl.BoolVar(&oci, "oci", false, "the URL is an OCI registry (type: oci); implied by an oci:// URL")
	fl.StringVar(&secret, "secret-ref", "", "Secret with username/password or a .dockerconfigjson (see tether create secret helm|oci)")
	fl.StringVar(&certSecret, "cert-secret-ref", "", "Secret with ca.crt, tls.crt and tls.key (see tether create secret tls)")
	fl.BoolVar(&passCredentials, "pass-credentials", false, "send the credentials to chart URLs on other hosts too")
	fl.BoolVar(&insecure, "insecure", false, "allow plain HTTP to an OCI registry")
	fl.DurationVar(&interval, "interval", time.Minute, "how often to fetch the index")
	_ = cmd.MarkFlagRequired("url")
	o.Objects = func(context.Context) ([]client.Object, error) {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return nil, cmdutil.UsageErrorf("invalid --url %q: use an http(s):// or oci:// URL", rawURL)
		}
		isOCI := oci || u.Scheme == "oci"
		switch {
		case isOCI && u.Scheme != "oci":
			return nil, cmdutil.UsageErrorf("--oci needs an oci:// URL, not %q", rawURL)
		case !isOCI && u.Scheme != "http" && u.Scheme != "https":
			return nil, cmdutil.UsageErrorf("invalid --url %q: use an http(s):// or oci:// URL", rawURL)
		}
		obj := &sourcev1.HelmRepository{
			ObjectMeta: o.objectMeta(),
			Spec: sourcev1.HelmRepositorySpec{
				URL:             rawURL,
				SecretRef:       secretRef(secret),
				CertSecretRef:   secretRef(certSecret),
				PassCredentials: passCredentials,
				Insecure:        insecure,
				Interval:        duration(interval),
			},
		}
		if isOCI {
			obj.Spec.Type = "oci"
		}
		return []client.Object{typed(kinds.HelmRepository, obj)}, nil
	}
	return cmd
}

func newCmdSourceBucket(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, kinds.Bucket)
	var (
		bucketName, endpoint, provider, region, prefix, secret string
		interval                                               time.Duration
		insecure                                               bool
		ignorePaths                                            []string
	)
	cmd := leaf(f, o, "bucket", "Create or update a Bucket", `  # An S3-compatible bucket with access keys in a Secret (accesskey, secretkey)
  tether create source bucket manifests --bucket-name=manifests --endpoint=minio.minio:9000 --insecure --secret-ref=minio`, runF)
	addWaitFlag(cmd, o)
	fl := cmd.Flags()
	fl.StringVar(&bucketName, "bucket-name", "", "name of the bucket (required)")
	fl.StringVar(&endpoint, "endpoint", "", "host[:port] of the S3 API (required for the generic provider)")
	fl.StringVar(&provider, "provider", "generic", "generic, aws, gcp or azure")
	fl.StringVar(&region, "region", "", "region of the bucket")
	fl.StringVar(&prefix, "prefix", "", "only fetch the objects under this key prefix")
	fl.BoolVar(&insecure, "insecure", false, "use plain HTTP")
	fl.StringVar(&secret, "secret-ref", "", "Secret with accesskey and secretkey")
	fl.DurationVar(&interval, "interval", time.Minute, "how often to check the bucket for changes")
	fl.StringSliceVar(&ignorePaths, "ignore-paths", nil, "paths to leave out of the artifact, in .gitignore format")
	_ = cmd.MarkFlagRequired("bucket-name")
	_ = cmd.RegisterFlagCompletionFunc("provider", cobra.FixedCompletions([]cobra.Completion{"generic", "aws", "gcp", "azure"}, cobra.ShellCompDirectiveNoFileComp))
	o.Objects = func(context.Context) ([]client.Object, error) {
		switch provider {
		case "generic", "aws", "gcp", "azure":
		default:
			return nil, cmdutil.UsageErrorf("invalid --provider %q: use generic, aws, gcp or azure", provider)
		}
		if provider == "generic" && endpoint == "" {
			return nil, cmdutil.UsageErrorf("--endpoint is required with the generic provider")
		}
		obj := &sourcev1.Bucket{
			ObjectMeta: o.objectMeta(),
			Spec: sourcev1.BucketSpec{
				Provider:   provider,
				BucketName: bucketName,
				Endpoint:   endpoint,
				Insecure:   insecure,
				Region:     region,
				Prefix:     prefix,
				SecretRef:  secretRef(secret),
				Interval:   duration(interval),
				Ignore:     ignore(ignorePaths),
			},
		}
		return []client.Object{typed(kinds.Bucket, obj)}, nil
	}
	return cmd
}

func newCmdSourceOCI(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, kinds.OCIRepository)
	var (
		rawURL, tag, semver, digest, provider, secret, certSecret, serviceAccount string
		interval                                                                  time.Duration
		insecure                                                                  bool
		ignorePaths                                                               []string
	)
	cmd := leaf(f, o, "oci", "Create or update an OCIRepository", `  # The manifests pushed as an OCI artifact, tag latest
  tether create source oci manifests --url=oci://ghcr.io/example/manifests --tag=latest

  # The highest semver tag
  tether create source oci manifests --url=oci://ghcr.io/example/manifests --tag-semver=">=1.0.0"`, runF)
	addWaitFlag(cmd, o)
	fl := cmd.Flags()
	fl.StringVar(&rawURL, "url", "", "oci:// URL of the artifact's repository (required)")
	fl.StringVar(&tag, "tag", "", "tag to pull (latest when no reference is given)")
	fl.StringVar(&semver, "tag-semver", "", "semver range: the highest matching tag is pulled")
	fl.StringVar(&semver, "semver", "", "same as --tag-semver")
	fl.StringVar(&digest, "digest", "", "digest to pull (sha256:...)")
	fl.StringVar(&provider, "provider", "generic", "registry authentication: generic, aws, azure or gcp")
	fl.StringVar(&secret, "secret-ref", "", "kubernetes.io/dockerconfigjson Secret (see tether create secret oci)")
	fl.StringVar(&certSecret, "cert-secret-ref", "", "Secret with ca.crt, tls.crt and tls.key (see tether create secret tls)")
	fl.StringVar(&serviceAccount, "service-account", "", "service account whose image pull secrets to use")
	fl.BoolVar(&insecure, "insecure", false, "allow plain HTTP")
	fl.DurationVar(&interval, "interval", time.Minute, "how often to check the registry for a new artifact")
	fl.StringSliceVar(&ignorePaths, "ignore-paths", nil, "paths to leave out of the artifact, in .gitignore format")
	_ = cmd.MarkFlagRequired("url")
	o.Objects = func(context.Context) ([]client.Object, error) {
		if !strings.HasPrefix(rawURL, "oci://") {
			return nil, cmdutil.UsageErrorf("invalid --url %q: use an oci:// URL", rawURL)
		}
		refs := 0
		for _, v := range []string{tag, semver, digest} {
			if v != "" {
				refs++
			}
		}
		if refs > 1 {
			return nil, cmdutil.UsageErrorf("--tag, --tag-semver and --digest exclude each other: pass one")
		}
		obj := &sourcev1.OCIRepository{
			ObjectMeta: o.objectMeta(),
			Spec: sourcev1.OCIRepositorySpec{
				URL:                rawURL,
				SecretRef:          secretRef(secret),
				CertSecretRef:      secretRef(certSecret),
				ServiceAccountName: serviceAccount,
				Insecure:           insecure,
				Interval:           duration(interval),
				Ignore:             ignore(ignorePaths),
			},
		}
		if provider != "generic" {
			obj.Spec.Provider = provider
		}
		if refs > 0 {
			obj.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: tag, SemVer: semver, Digest: digest}
		}
		return []client.Object{typed(kinds.OCIRepository, obj)}, nil
	}
	return cmd
}

// typed sets the apiVersion and kind of a Tether object.
func typed(k *kinds.Kind, obj kinds.Object) client.Object {
	k.SetType(obj)
	return obj
}

// parseRef parses "[Kind/]name" or "Kind/namespace/name"; the kind must be
// one of allowed (matched case-insensitively) and defaults to def.
func parseRef(flag, s, def string, allowed ...string) (kind, namespace, name string, err error) {
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 1:
		kind, name = def, parts[0]
	case 2:
		kind, name = parts[0], parts[1]
	case 3:
		kind, namespace, name = parts[0], parts[1], parts[2]
	default:
		return "", "", "", cmdutil.UsageErrorf("invalid %s %q: use Kind/name or Kind/namespace/name", flag, s)
	}
	if name == "" || kind == "" {
		return "", "", "", cmdutil.UsageErrorf("invalid %s %q: use Kind/name or Kind/namespace/name", flag, s)
	}
	for _, a := range allowed {
		if strings.EqualFold(a, kind) {
			return a, namespace, name, nil
		}
	}
	return "", "", "", cmdutil.UsageErrorf("invalid %s %q: the kind must be one of %s", flag, s, strings.Join(allowed, ", "))
}

// completeRefs completes "Kind/name" of the live objects of the given kinds
// in the namespace of -n.
func completeRefs(f *cmdutil.Factory, ks ...*kinds.Kind) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := f.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out []cobra.Completion
		for _, k := range ks {
			objs, err := kinds.ListIn(ctx, c, k, f.Namespace())
			if err != nil {
				continue
			}
			for _, obj := range objs {
				ref := k.Kind + "/" + obj.GetName()
				if strings.HasPrefix(ref, toComplete) || strings.HasPrefix(strings.ToLower(ref), strings.ToLower(toComplete)) {
					out = append(out, ref)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// dependsOn parses --depends-on values "[namespace/]name".
func dependsOn(values []string) ([]meta.DependencyReference, error) {
	var out []meta.DependencyReference
	for _, v := range values {
		ns, name, ok := strings.Cut(v, "/")
		if !ok {
			ns, name = "", v
		}
		if name == "" || strings.Contains(name, "/") {
			return nil, cmdutil.UsageErrorf("invalid --depends-on %q: use name or namespace/name", v)
		}
		out = append(out, meta.DependencyReference{Namespace: ns, Name: name})
	}
	return out, nil
}

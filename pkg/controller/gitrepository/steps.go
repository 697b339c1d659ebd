package gitrepository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/source/git"
)

// auth builds the Git credentials from spec.secretRef: username/password or
// bearerToken for HTTPS, ca.crt for a private CA, identity/known_hosts for SSH.
func (r *Reconciler) auth(ctx context.Context, obj *sourcev1.GitRepository) (git.Auth, error) {
	if obj.Spec.SecretRef == nil {
		return git.Auth{}, nil
	}
	s, err := sourcectl.Secret(ctx, r.Client, obj.Namespace, obj.Spec.SecretRef.Name, "spec.secretRef")
	if err != nil {
		return git.Auth{}, err
	}
	d := s.Data
	return git.Auth{
		Username:    string(d["username"]),
		Password:    string(d["password"]),
		BearerToken: string(d["bearerToken"]),
		CAFile:      firstNonEmpty(d["ca.crt"], d["caFile"]),
		SSHIdentity: d["identity"],
		SSHPassword: string(d["password"]),
		KnownHosts:  d["known_hosts"],
	}, nil
}

// verify checks the commit's signature against the public keys in
// spec.verify.secretRef. A commit that fails verification never becomes an artifact.
func (r *Reconciler) verify(ctx context.Context, obj *sourcev1.GitRepository, commit git.Commit) error {
	if obj.Spec.Verification == nil {
		meta.DeleteCondition(obj, meta.SourceVerifiedCondition)
		obj.Status.SourceVerificationMode = nil
		return nil
	}
	fail := func(err error) error {
		meta.MarkFalse(obj, meta.SourceVerifiedCondition, meta.VerificationFailedReason, "%s", err)
		lifecycle.Failed(obj, false, meta.VerificationFailedReason, "%s", err)
		r.Recorder.Eventf(obj, nil, "Warning", meta.VerificationFailedReason, "Verify", "%s", err)
		return err
	}
	mode := obj.Spec.Verification.GetMode()
	if mode != sourcev1.ModeGitHEAD {
		return fail(fmt.Errorf("verification mode %q is not supported yet: use %q", mode, sourcev1.ModeGitHEAD))
	}
	s, err := sourcectl.Secret(ctx, r.Client, obj.Namespace, obj.Spec.Verification.SecretRef.Name, "spec.verify.secretRef")
	if err != nil {
		return fail(err)
	}
	var keys []string
	for _, v := range s.Data {
		keys = append(keys, string(v))
	}
	if len(keys) == 0 {
		return fail(fmt.Errorf("secret %q holds no public keys", s.Name))
	}
	keyID, err := git.VerifyCommit(commit, keys...)
	if err != nil {
		return fail(err)
	}
	meta.MarkTrue(obj, meta.SourceVerifiedCondition, meta.SucceededReason, "verified signature of commit '%s' with key '%s'", commit.Hash, keyID)
	obj.Status.SourceVerificationMode = &mode
	return nil
}

// include copies the artifacts of other GitRepositories into the tree.
func (r *Reconciler) include(ctx context.Context, obj *sourcev1.GitRepository, dir string) ([]*meta.Artifact, error) {
	if len(obj.Spec.Include) == 0 {
		meta.DeleteCondition(obj, sourcev1.IncludeUnavailableCondition)
		return nil, nil
	}
	var out []*meta.Artifact
	for _, inc := range obj.Spec.Include {
		a, err := r.includedArtifact(ctx, obj, inc)
		if err != nil {
			meta.MarkTrue(obj, sourcev1.IncludeUnavailableCondition, "NotFound", "%s", err)
			lifecycle.Failed(obj, false, "IncludeUnavailable", "%s", err)
			return nil, err
		}
		if err := r.copyInclude(a, inc, dir); err != nil {
			meta.MarkTrue(obj, sourcev1.IncludeUnavailableCondition, "CopyFailed", "%s", err)
			lifecycle.Failed(obj, false, "IncludeUnavailable", "%s", err)
			return nil, err
		}
		out = append(out, a)
	}
	meta.DeleteCondition(obj, sourcev1.IncludeUnavailableCondition)
	return out, nil
}

func (r *Reconciler) includedArtifact(ctx context.Context, obj *sourcev1.GitRepository, inc sourcev1.GitRepositoryInclude) (*meta.Artifact, error) {
	var src sourcev1.GitRepository
	name := inc.GitRepositoryRef.Name
	if name == obj.Name {
		return nil, fmt.Errorf("GitRepository %q cannot include itself", name)
	}
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, &src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("included GitRepository %q not found in namespace %q: create it or remove it from spec.include", name, obj.Namespace)
		}
		return nil, fmt.Errorf("reading included GitRepository %q: %w", name, err)
	}
	if src.Status.Artifact == nil || !r.Store.Exists(*src.Status.Artifact) {
		return nil, fmt.Errorf("included GitRepository %q has no artifact yet", name)
	}
	return src.Status.Artifact.DeepCopy(), nil
}

// copyInclude extracts an included artifact and copies its fromPath to toPath.
func (r *Reconciler) copyInclude(a *meta.Artifact, inc sourcev1.GitRepositoryInclude, dir string) error {
	from, to := filepath.Clean(inc.GetFromPath()), filepath.Clean(inc.GetToPath())
	if !filepath.IsLocal(from) && from != "." || !filepath.IsLocal(to) {
		return fmt.Errorf("include of %q: fromPath and toPath must be relative paths inside the repository", inc.GitRepositoryRef.Name)
	}
	tmp, err := os.MkdirTemp(r.TempDir, "include-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := r.Store.ExtractTo(*a, tmp); err != nil {
		return fmt.Errorf("extracting included artifact %s: %w", a.Revision, err)
	}
	src := filepath.Join(tmp, from)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("include of %q: fromPath %q not found in revision %s", inc.GitRepositoryRef.Name, inc.GetFromPath(), a.Revision)
	}
	if err := copyInto(dir, to, src); err != nil {
		return fmt.Errorf("include of %q: %w", inc.GitRepositoryRef.Name, err)
	}
	return nil
}

// copyInto replaces dir/to with a copy of the tree at src. dir is a checkout,
// so it may hold symlinks committed to the repository: a toPath through one
// is refused (it would delete and write wherever the link points), and every
// write goes through an os.Root on dir, so nothing outside dir can change.
func copyInto(dir, to, src string) error {
	to = filepath.Clean(to)
	if to == "." {
		return errors.New("toPath must name a sub-directory: \".\" would replace the whole repository")
	}
	if !filepath.IsLocal(to) {
		return fmt.Errorf("toPath %q must be a relative path inside the repository", to)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if link := firstSymlink(root, to); link != "" {
		return fmt.Errorf("toPath %q goes through %q, a symlink in the repository: include into a real directory", to, filepath.ToSlash(link))
	}
	if err := root.RemoveAll(to); err != nil {
		return fmt.Errorf("clearing toPath %q: %w", to, err)
	}
	return fs.WalkDir(os.DirFS(src), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(to, filepath.FromSlash(rel))
		switch d.Type() {
		case fs.ModeDir:
			return root.MkdirAll(dst, 0o755)
		case fs.ModeSymlink:
			target, err := os.Readlink(filepath.Join(src, rel))
			if err != nil {
				return err
			}
			// The archive step leaves out links that resolve outside the tree.
			return root.Symlink(target, dst)
		case 0:
			return copyFile(root, dst, filepath.Join(src, rel))
		default:
			return fmt.Errorf("%s in the included artifact is not a regular file, directory or symlink", rel)
		}
	})
}

// firstSymlink returns the first prefix of rel (rel included) that is a
// symlink in root, or "".
func firstSymlink(root *os.Root, rel string) string {
	parts := strings.Split(rel, string(filepath.Separator))
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		fi, err := root.Lstat(p)
		if err != nil {
			return "" // missing: nothing further down exists either
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return p
		}
	}
	return ""
}

func copyFile(root *os.Root, dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := root.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644|fi.Mode().Perm()&0o111)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// includesUnchanged reports whether every included repository still has the
// artifact that the stored artifact was built with.
func (r *Reconciler) includesUnchanged(obj *sourcev1.GitRepository) bool {
	if len(obj.Spec.Include) != len(obj.Status.IncludedArtifacts) {
		return false
	}
	for i, inc := range obj.Spec.Include {
		a, err := r.includedArtifact(context.Background(), obj, inc)
		if err != nil || obj.Status.IncludedArtifacts[i] == nil || a.Digest != obj.Status.IncludedArtifacts[i].Digest {
			return false
		}
	}
	return true
}

func ignoreFilter(ignore func(rel string, isDir bool) bool) func(rel string, d fs.DirEntry) bool {
	return func(rel string, d fs.DirEntry) bool {
		return !ignore(strings.TrimPrefix(rel, "./"), d.IsDir())
	}
}

func firstNonEmpty(vs ...[]byte) []byte {
	for _, v := range vs {
		if len(v) > 0 {
			return v
		}
	}
	return nil
}

package helm

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"helm.sh/helm/v4/pkg/strvals"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
)

// ComposeValues merges the values of refs, in order, then values over them.
// ConfigMaps and Secrets are read from namespace with r (read them directly:
// the reconciler's cache holds neither). A missing object or key is an error
// naming it, unless the reference is optional.
func ComposeValues(ctx context.Context, r client.Reader, namespace string, refs []helmv1.ValuesReference, values map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for i, ref := range refs {
		data, found, err := readRef(ctx, r, namespace, ref)
		if err != nil {
			return nil, fmt.Errorf("spec.valuesFrom[%d]: %w", i, err)
		}
		if !found {
			continue
		}
		if ref.TargetPath != "" {
			if err := strvals.ParseIntoString(ref.TargetPath+"="+escapeSetValue(data), out); err != nil {
				return nil, fmt.Errorf("spec.valuesFrom[%d]: %s %s: targetPath %q: %w", i, ref.Kind, ref.Name, ref.TargetPath, err)
			}
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(data), &m); err != nil {
			return nil, fmt.Errorf("spec.valuesFrom[%d]: %s %s, key %s: values are not a YAML map: %w", i, ref.Kind, ref.Name, ref.GetValuesKey(), err)
		}
		out = MergeMaps(out, m)
	}
	return MergeMaps(out, values), nil
}

func readRef(ctx context.Context, r client.Reader, namespace string, ref helmv1.ValuesReference) (string, bool, error) {
	key := client.ObjectKey{Namespace: namespace, Name: ref.Name}
	vk := ref.GetValuesKey()
	var (
		data map[string]string
		err  error
	)
	switch ref.Kind {
	case "ConfigMap":
		var cm corev1.ConfigMap
		if err = r.Get(ctx, key, &cm); err == nil {
			data = cm.Data
			if v, ok := cm.BinaryData[vk]; ok {
				data = map[string]string{vk: string(v)}
			}
		}
	case "Secret":
		var s corev1.Secret
		if err = r.Get(ctx, key, &s); err == nil {
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
	default:
		return "", false, fmt.Errorf("kind %q is not supported: use ConfigMap or Secret", ref.Kind)
	}
	if apierrors.IsNotFound(err) {
		if ref.Optional {
			return "", false, nil
		}
		return "", false, fmt.Errorf("%s %s/%s not found: create it or mark the reference optional", ref.Kind, namespace, ref.Name)
	}
	if err != nil {
		return "", false, fmt.Errorf("reading %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	}
	v, ok := data[vk]
	if !ok {
		if ref.Optional {
			return "", false, nil
		}
		return "", false, fmt.Errorf("%s %s/%s has no key %q: set valuesKey or mark the reference optional", ref.Kind, namespace, ref.Name, vk)
	}
	return v, true, nil
}

// escapeSetValue escapes what --set syntax would otherwise split on, so the
// value is taken as one string.
func escapeSetValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`).Replace(s)
}

// MergeMaps returns a deep merge of b over a: maps merge key by key, anything
// else in b replaces what a has. Neither argument is changed.
func MergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = MergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// ValuesDigest returns "sha256:<hex>" of the values in canonical JSON (keys
// sorted); nil and empty values have the same digest.
func ValuesDigest(values map[string]any) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(canonical(values)))
}

// ValuesChecksum returns the SHA1 hex of the values in canonical JSON, for
// status.lastAttemptedValuesChecksum.
func ValuesChecksum(values map[string]any) string {
	return fmt.Sprintf("%x", sha1.Sum(canonical(values)))
}

func canonical(values map[string]any) []byte {
	if len(values) == 0 {
		return []byte("{}")
	}
	b, err := json.Marshal(values)
	if err != nil {
		// Values come from JSON and YAML: they always marshal.
		return []byte(fmt.Sprint(values))
	}
	return b
}

package printers

import (
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// PrintYAMLDocuments writes docs as one YAML stream, each document opened by
// "---", the way manifests are kept in Git.
func PrintYAMLDocuments(w io.Writer, docs []any) error {
	for _, d := range docs {
		data, err := yaml.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		if _, err := fmt.Fprintf(w, "---\n%s", data); err != nil {
			return err
		}
	}
	return nil
}

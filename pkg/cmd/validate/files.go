package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// document is one YAML document of a file.
type document struct {
	File string // relative to the root, slash-separated
	Line int    // of the document's first key
	Node *yaml.Node
	// Obj is the document as the API server reads it (sigs.k8s.io/yaml
	// semantics); nil when it is not a map.
	Obj map[string]any
	// YAML is the document re-encoded, for strict decoding.
	YAML []byte
}

// kustomizationFiles are the names kustomize reads in a directory.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// walk lists the YAML files and the kustomization directories under root,
// slash-separated and relative to it. It leaves out hidden directories
// (.git, .github) and Helm charts, whose templates are not YAML.
func walk(root string) (files, kustomizeDirs []string, err error) {
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "Chart.yaml")); err == nil {
				return filepath.SkipDir
			}
			for _, k := range kustomizationFiles {
				if fi, err := os.Stat(filepath.Join(p, k)); err == nil && !fi.IsDir() {
					kustomizeDirs = append(kustomizeDirs, rel)
					break
				}
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" || d.Name() == "Kustomization" {
			files = append(files, rel)
		}
		return nil
	})
	return files, kustomizeDirs, err
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseFile reads the documents of a YAML file; a syntax error is returned
// with its line (0 when unknown).
func parseFile(root, rel string) ([]*document, int, error) {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, 0, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*document
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, 0, nil
		}
		if err != nil {
			line := 0
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			return docs, line, errors.New(yamlPrefix.ReplaceAllString(err.Error(), ""))
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue // an empty document
		}
		content := n.Content[0]
		doc := &document{File: rel, Line: content.Line, Node: content}
		if content.Kind == yaml.MappingNode {
			raw, err := yaml.Marshal(content)
			if err != nil {
				return docs, content.Line, err
			}
			doc.YAML = raw
			if j, err := sigsyaml.YAMLToJSON(raw); err == nil {
				_ = json.Unmarshal(j, &doc.Obj)
			} else {
				return docs, content.Line, errors.New(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: yaml: "))
			}
		}
		docs = append(docs, doc)
	}
}

// yamlPrefix is what the file:line prefix already says.
var yamlPrefix = regexp.MustCompile(`^yaml: (line \d+: )?`)

// lineOf returns the line of the field at path (spec.sourceRef.kind,
// spec.containers[0].image) in the document, or of the deepest part of it
// found; the document's line when none is.
func (d *document) lineOf(path string) int {
	n := d.Node
	line := d.Line
	for _, tok := range splitPath(path) {
		if n == nil {
			break
		}
		switch {
		case n.Kind == yaml.SequenceNode && tok.index >= 0:
			if tok.index >= len(n.Content) {
				return line
			}
			n = n.Content[tok.index]
			line = n.Line
		case n.Kind == yaml.SequenceNode && tok.key != "":
			// A path without the index (type errors of strict decoding):
			// the first item that has the key.
			var next *yaml.Node
			for _, item := range n.Content {
				if v := mapValue(item, tok.key); v != nil {
					line, next = keyLine(item, tok.key), v
					break
				}
			}
			if next == nil {
				return line
			}
			n = next
		case n.Kind == yaml.MappingNode && tok.key != "":
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == tok.key {
					line = n.Content[i].Line
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return line
			}
			n = next
		default:
			return line
		}
	}
	return line
}

type pathToken struct {
	key   string
	index int
}

// splitPath splits "spec.containers[0].image" into keys and indexes.
func splitPath(path string) []pathToken {
	var out []pathToken
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.Index(part, "[")
			if i < 0 {
				out = append(out, pathToken{key: part, index: -1})
				break
			}
			if i > 0 {
				out = append(out, pathToken{key: part[:i], index: -1})
			}
			j := strings.Index(part[i:], "]")
			if j < 0 {
				break
			}
			idx, err := strconv.Atoi(part[i+1 : i+j])
			if err != nil {
				idx = -1
			}
			out = append(out, pathToken{index: idx})
			part = part[i+j+1:]
		}
	}
	return out
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func keyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

// duplicate is a key that a map of a document has twice.
type duplicate struct {
	path        string
	line, first int
}

// duplicates returns the keys that a map of the document repeats, which the
// API server refuses (strict field validation) and YAML decoders resolve
// silently, the last one winning.
func (d *document) duplicates() []duplicate {
	var out []duplicate
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			seen := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if first, ok := seen[k.Value]; ok {
					out = append(out, duplicate{path: p, line: k.Line, first: first})
				} else {
					seen[k.Value] = k.Line
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				walk(item, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	if d.Node != nil {
		walk(d.Node, "")
	}
	return out
}

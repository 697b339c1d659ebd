package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// yamlDoc is a YAML stream kept as yaml.v3 nodes, so that key order (which
// the MAC covers), comments and layout survive decryption. SOPS writes its
// metadata into every document of a stream, reads it from the first one, and
// computes a single MAC over all documents in order.
type yamlDoc struct {
	name string
	docs []*yaml.Node
}

func loadYAML(name string, data []byte) (document, map[string]any, error) {
	y := &yamlDoc{name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		n := &yaml.Node{}
		if err := dec.Decode(n); err == io.EOF {
			break
		} else if err != nil {
			return nil, nil, nil // not YAML: not ours to judge
		}
		y.docs = append(y.docs, n)
	}
	if len(y.docs) == 0 {
		return nil, nil, nil
	}
	meta := sopsNode(y.docs[0])
	if meta == nil || !hasKeys2(meta, "mac", "version") {
		for i, doc := range y.docs[1:] {
			if m := sopsNode(doc); m != nil && hasKeys2(m, "mac", "version") {
				return nil, nil, fmt.Errorf("%s: document %d has SOPS metadata but the first document has none; concatenated SOPS files are not supported, encrypt the whole stream at once", name, i+2)
			}
		}
		return nil, nil, nil
	}
	var m map[string]any
	if err := meta.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf("%s: invalid SOPS metadata: %v", name, err)
	}
	return y, m, nil
}

// sopsNode returns the value of the top-level "sops" key if it is a mapping.
func sopsNode(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if isSopsKey(top.Content[i]) && top.Content[i+1].Kind == yaml.MappingNode {
			return top.Content[i+1]
		}
	}
	return nil
}

func isSopsKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "sops" && k.ShortTag() == "!!str"
}

func hasKeys2(m *yaml.Node, a, b string) bool {
	var hasA, hasB bool
	for i := 0; i+1 < len(m.Content); i += 2 {
		hasA = hasA || m.Content[i].Value == a
		hasB = hasB || m.Content[i].Value == b
	}
	return hasA && hasB
}

var errAlias = errors.New("YAML aliases are not supported in SOPS-encrypted files (SOPS never writes them)")

func (y *yamlDoc) walk(w *walker) error {
	for _, doc := range y.docs {
		w.enter() // each document is a fresh SOPS tree branch
		err := y.items(w, doc, false, true)
		w.leave()
		if err != nil {
			return err
		}
	}
	return nil
}

// items mirrors appendYamlNodeToTreeBranch of the SOPS YAML store followed by
// walkBranch: the comments become items of the enclosing branch, interleaved
// with the key/value pairs. handled tells that n's own comments were already
// seen by the caller (a sequence item).
func (y *yamlDoc) items(w *walker, n *yaml.Node, handled, top bool) error {
	if !handled {
		if err := y.comments(w, &n.HeadComment, &n.LineComment); err != nil {
			return err
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := y.items(w, c, false, top); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if err := y.comments(w, &k.HeadComment, &k.LineComment); err != nil {
				return err
			}
			// The comments of scalar values belong to the enclosing branch.
			scalar := v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode
			if scalar {
				if err := y.comments(w, &v.HeadComment, &v.LineComment); err != nil {
					return err
				}
			}
			// SOPS removes the metadata item before walking, but not the
			// comments around it.
			if !(top && isSopsKey(k)) {
				key, err := yamlKey(k)
				if err != nil {
					return fmt.Errorf("%s: %s: %w", y.name, w.pathString(), err)
				}
				w.push(key)
				err = y.value(w, v, scalar)
				if err == nil && v.Tag == commentTag {
					err = fmt.Errorf("%s: value at %s: %w (a comment where a value belongs)", y.name, w.pathString(), errMalformed)
				}
				w.pop()
				if err != nil {
					return err
				}
				w.settle()
			}
			if scalar {
				if err := y.comments(w, &v.FootComment); err != nil {
					return err
				}
			}
			if err := y.comments(w, &k.FootComment); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		return fmt.Errorf("%s: YAML documents that are sequences are not supported by SOPS", y.name)
	case yaml.ScalarNode:
		if n.ShortTag() != "!!null" { // an empty document
			return fmt.Errorf("%s: YAML documents that are scalars are not supported by SOPS", y.name)
		}
	case yaml.AliasNode:
		return fmt.Errorf("%s: %w", y.name, errAlias)
	}
	if !handled {
		return y.comments(w, &n.FootComment)
	}
	return nil
}

// value mirrors nodeToTreeValue followed by walkValue.
func (y *yamlDoc) value(w *walker, n *yaml.Node, handled bool) error {
	switch n.Kind {
	case yaml.MappingNode:
		w.enter()
		defer w.leave()
		return y.items(w, n, handled, false)
	case yaml.SequenceNode:
		w.enter()
		defer w.leave()
		if !handled {
			if err := y.comments(w, &n.HeadComment, &n.LineComment); err != nil {
				return err
			}
		}
		for _, it := range n.Content {
			if err := y.comments(w, &it.HeadComment, &it.LineComment); err != nil {
				return err
			}
			if err := y.value(w, it, true); err != nil {
				return err
			}
			w.settle()
			if err := y.comments(w, &it.FootComment); err != nil {
				return err
			}
		}
		if !handled {
			if err := y.comments(w, &n.FootComment); err != nil {
				return err
			}
		}
		liftComments(n)
		return nil
	case yaml.ScalarNode:
		return y.scalar(w, n)
	}
	return fmt.Errorf("%s: %s: %w", y.name, w.pathString(), errAlias)
}

func (y *yamlDoc) scalar(w *walker, n *yaml.Node) error {
	var v any
	switch n.ShortTag() {
	case "!!str":
		v = n.Value
	case "!!null":
	default:
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("%s: value at %s: %v", y.name, w.pathString(), err)
		}
	}
	out, decrypted, err := w.leaf(v)
	if err != nil || !decrypted {
		return err // unencrypted values keep the node as written
	}
	n.Kind, n.Style = yaml.ScalarNode, 0
	switch out := out.(type) {
	case commentValue:
		n.Tag, n.Value = commentTag, string(out)
	case string:
		n.Tag, n.Value = "!!str", out
	case int:
		n.Tag, n.Value = "!!int", strconv.Itoa(out)
	case float64:
		n.Tag, n.Value = "!!float", yamlFloat(out)
	case bool:
		n.Tag, n.Value = "!!bool", strconv.FormatBool(out)
	case time.Time:
		n.Tag, n.Value = "!!timestamp", out.Format(time.RFC3339Nano)
	}
	return nil
}

// keepComments re-attaches the comments of the removed metadata key, which
// SOPS uses to carry the comments that ended the document: they go where
// SOPS puts trailing comments, after the previous pair.
func keepComments(m *yaml.Node, i int, c string) {
	switch {
	case c == "":
	case i >= 2:
		m.Content[i-2].FootComment = joinComments(m.Content[i-2].FootComment, c)
	case i < len(m.Content):
		m.Content[i].HeadComment = joinComments(c, m.Content[i].HeadComment)
	default:
		m.FootComment = joinComments(m.FootComment, c)
	}
}

// commentTag marks a sequence item that decrypted to a comment.
const commentTag = "!sops-comment"

// liftComments turns the items of n that decrypted to comments back into
// comments: head comments of the next item, as SOPS emits them.
func liftComments(n *yaml.Node) {
	var pending []string
	items := n.Content[:0]
	for _, it := range n.Content {
		if it.Tag == commentTag {
			pending = append(pending, "#"+strings.ReplaceAll(it.Value, "\n", " "))
			continue
		}
		if len(pending) > 0 {
			it.HeadComment = joinComments(strings.Join(pending, "\n"), it.HeadComment)
			pending = nil
		}
		items = append(items, it)
	}
	n.Content = items
	if len(pending) == 0 {
		return
	}
	if len(items) > 0 {
		last := items[len(items)-1]
		last.FootComment = joinComments(last.FootComment, strings.Join(pending, "\n"))
	} else {
		n.HeadComment = joinComments(n.HeadComment, strings.Join(pending, "\n"))
	}
}

func joinComments(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "\n" + b
}

// yamlFloat formats f so that it reads back as a float, not an int.
func yamlFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	case math.IsNaN(f):
		return ".nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func yamlKey(k *yaml.Node) (string, error) {
	switch {
	case k.Kind == yaml.AliasNode:
		return "", errAlias
	case k.Kind != yaml.ScalarNode:
		return "", errors.New("mapping keys must be strings")
	case k.ShortTag() == "!!str" || k.ShortTag() == "!!merge":
		return k.Value, nil
	}
	return "", fmt.Errorf("mapping key %q is not a string; SOPS only supports string keys", k.Value)
}

// comments walks the comment lines of each text (yaml.v3 keeps the '#') and
// replaces the ones that decrypt.
func (y *yamlDoc) comments(w *walker, texts ...*string) error {
	for _, text := range texts {
		if *text == "" {
			continue
		}
		lines := strings.Split(*text, "\n")
		changed := false
		for i, l := range lines {
			if l == "" {
				continue
			}
			c := l[1:]
			out, err := w.comment(c)
			if err != nil {
				return err
			}
			if out != c {
				lines[i] = "#" + strings.ReplaceAll(out, "\n", " ")
				changed = true
			}
		}
		if changed {
			*text = strings.Join(lines, "\n")
		}
	}
	return nil
}

func (y *yamlDoc) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, doc := range y.docs {
		if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
			top := doc.Content[0]
			for i := 0; i+1 < len(top.Content); i += 2 {
				if k := top.Content[i]; isSopsKey(k) {
					top.Content = append(top.Content[:i], top.Content[i+2:]...)
					keepComments(top, i, joinComments(joinComments(k.HeadComment, k.LineComment), k.FootComment))
					i -= 2
				}
			}
		}
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

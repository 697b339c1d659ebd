package sops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonNode is an ordered JSON value: SOPS's MAC covers key order, which
// encoding/json maps would lose.
type jsonNode struct {
	kind  byte // '{', '[' or 0 for a scalar
	keys  []string
	items []*jsonNode
	val   any // string, json.Number, bool or nil as read; the plaintext once decrypted
}

// jsonDoc is a SOPS JSON document. binary marks SOPS's binary format (a JSON
// document whose "data" string is the whole original file).
type jsonDoc struct {
	root   *jsonNode
	binary bool
}

func loadJSON(data []byte, binary bool) (document, map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := readJSON(dec, nil)
	if err != nil || root.kind != '{' {
		return nil, nil, nil // not a JSON object: not a SOPS document
	}
	var meta *jsonNode
	for i, k := range root.keys {
		if k == "sops" && root.items[i].kind == '{' {
			meta = root.items[i]
			break
		}
	}
	if meta == nil || !meta.has("mac") || !meta.has("version") {
		return nil, nil, nil
	}
	m, _ := meta.generic().(map[string]any)
	if binary {
		// Only a lone "data" string is the binary format; anything else is
		// decrypted as JSON.
		binary = len(root.keys) == 2 && root.has("data") && root.items[indexOf(root.keys, "data")].kind == 0
	}
	return &jsonDoc{root: root, binary: binary}, m, nil
}

// readJSON reads one value; tok is its first token when already consumed.
func readJSON(dec *json.Decoder, tok json.Token) (*jsonNode, error) {
	if tok == nil {
		var err error
		if tok, err = dec.Token(); err != nil {
			return nil, err
		}
	}
	switch tok {
	case json.Delim('{'):
		n := &jsonNode{kind: '{'}
		for {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			if t == json.Delim('}') {
				return n, nil
			}
			k, ok := t.(string)
			if !ok {
				return nil, errors.New("object key is not a string")
			}
			v, err := readJSON(dec, nil)
			if err != nil {
				return nil, err
			}
			n.keys, n.items = append(n.keys, k), append(n.items, v)
		}
	case json.Delim('['):
		n := &jsonNode{kind: '['}
		for {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			if t == json.Delim(']') {
				return n, nil
			}
			v, err := readJSON(dec, t)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
	}
	return &jsonNode{val: tok}, nil
}

func (n *jsonNode) has(k string) bool { return indexOf(n.keys, k) >= 0 }

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return -1
}

// generic converts n to maps, slices and scalars (for the metadata).
func (n *jsonNode) generic() any {
	switch n.kind {
	case '{':
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.items[i].generic()
		}
		return m
	case '[':
		l := make([]any, len(n.items))
		for i, it := range n.items {
			l[i] = it.generic()
		}
		return l
	}
	return n.val
}

func (j *jsonDoc) walk(w *walker) error {
	w.enter()
	defer w.leave()
	return j.object(w, j.root, true)
}

func (j *jsonDoc) object(w *walker, n *jsonNode, top bool) error {
	for i, k := range n.keys {
		if top && k == "sops" {
			continue // SOPS removes the metadata before walking
		}
		w.push(k)
		err := j.value(w, n.items[i])
		if _, ok := n.items[i].val.(commentValue); ok && err == nil {
			err = fmt.Errorf("%s: value at %s: %w (a comment where a value belongs)", w.name, w.pathString(), errMalformed)
		}
		w.pop()
		if err != nil {
			return err
		}
		w.settle()
	}
	return nil
}

func (j *jsonDoc) value(w *walker, n *jsonNode) error {
	switch n.kind {
	case '{':
		w.enter()
		defer w.leave()
		return j.object(w, n, false)
	case '[':
		w.enter()
		defer w.leave()
		for _, it := range n.items {
			if err := j.value(w, it); err != nil {
				return err
			}
			w.settle()
		}
		return nil
	}
	v := n.val
	if num, ok := v.(json.Number); ok {
		// As the SOPS JSON store: int when it fits, else float64.
		if i, err := num.Int64(); err == nil {
			v = int(i)
		} else if f, err := num.Float64(); err == nil {
			v = f
		} else {
			return fmt.Errorf("%s: value at %s: invalid number", w.name, w.pathString())
		}
	}
	out, decrypted, err := w.leaf(v)
	if err == nil && decrypted {
		n.val = out
	}
	return err
}

func (j *jsonDoc) encode() ([]byte, error) {
	if j.binary {
		s, ok := j.root.items[indexOf(j.root.keys, "data")].val.(string)
		if !ok {
			return nil, errors.New(`binary SOPS file: "data" is not a string`)
		}
		return []byte(s), nil
	}
	var buf bytes.Buffer
	if err := j.write(&buf, j.root, true); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func (j *jsonDoc) write(buf *bytes.Buffer, n *jsonNode, top bool) error {
	switch n.kind {
	case '{':
		buf.WriteByte('{')
		first := true
		for i, k := range n.keys {
			if top && k == "sops" {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			if err := writeScalar(buf, k); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := j.write(buf, n.items[i], false); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case '[':
		buf.WriteByte('[')
		first := true
		for _, it := range n.items {
			if _, ok := it.val.(commentValue); ok {
				continue // JSON has no comments; SOPS drops them too
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			if err := j.write(buf, it, false); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	}
	return writeScalar(buf, n.val)
}

// writeScalar encodes v without escaping <, > and &, which would needlessly
// alter decrypted strings.
func writeScalar(buf *bytes.Buffer, v any) error {
	if num, ok := v.(json.Number); ok {
		buf.WriteString(num.String()) // as written in the file
		return nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

package sops

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dotenvDoc is a SOPS dotenv file (as used by kustomize secretGenerator env
// files): KEY=value lines and #comments, with the metadata flattened into
// sops_* entries such as sops_age__list_0__map_enc.
type dotenvDoc struct{ items []envItem }

type envItem struct {
	comment bool
	key     string // the comment text when comment
	val     any
}

const sopsPrefix = "sops_"

func loadDotenv(data []byte) (document, map[string]any, error) {
	d := &dotenvDoc{}
	flat := map[string]string{}
	// Parsed exactly like the SOPS dotenv store: no trimming, no quotes.
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "":
		case line[0] == '#':
			d.items = append(d.items, envItem{comment: true, key: line[1:]})
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, nil, nil // not a dotenv file
			}
			v = strings.ReplaceAll(v, `\n`, "\n")
			if strings.HasPrefix(k, sopsPrefix) {
				flat[k[len(sopsPrefix):]] = v
			}
			d.items = append(d.items, envItem{key: k, val: v})
		}
	}
	if _, ok := flat["mac"]; !ok {
		return nil, nil, nil
	}
	if _, ok := flat["version"]; !ok {
		return nil, nil, nil
	}
	m, err := unflatten(flat)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid SOPS metadata: %w", err)
	}
	return d, m, nil
}

// flatNode collects flattened keys: map keys and list indices.
type flatNode struct {
	val  *string
	keys map[string]*flatNode
	idx  map[int]*flatNode
}

// unflatten rebuilds the metadata tree from keys like age__list_0__map_enc.
func unflatten(flat map[string]string) (map[string]any, error) {
	root := &flatNode{}
	for k, v := range flat {
		n := root
		for _, tok := range splitFlat(k) {
			n = n.child(tok)
		}
		if n.val != nil || n.keys != nil || n.idx != nil {
			return nil, fmt.Errorf("conflicting key %s%s", sopsPrefix, k)
		}
		n.val = &v
	}
	g, err := root.generic()
	if err != nil {
		return nil, err
	}
	m, _ := g.(map[string]any)
	return m, nil
}

type flatToken struct {
	key   string
	index int
	list  bool
}

func splitFlat(k string) []flatToken {
	toks := []flatToken{}
	cur := flatToken{}
	start := 0
	for i := 0; i < len(k); {
		var next flatToken
		var sep string
		switch {
		case strings.HasPrefix(k[i:], "__map_"):
			sep = "__map_"
		case strings.HasPrefix(k[i:], "__list_"):
			sep, next.list = "__list_", true
		default:
			i++
			continue
		}
		toks = append(toks, finishFlat(cur, k[start:i]))
		cur, i = next, i+len(sep)
		start = i
	}
	return append(toks, finishFlat(cur, k[start:]))
}

func finishFlat(t flatToken, s string) flatToken {
	if t.list {
		t.index, _ = strconv.Atoi(s)
	} else {
		t.key = s
	}
	return t
}

func (n *flatNode) child(t flatToken) *flatNode {
	if t.list {
		if n.idx == nil {
			n.idx = map[int]*flatNode{}
		}
		if n.idx[t.index] == nil {
			n.idx[t.index] = &flatNode{}
		}
		return n.idx[t.index]
	}
	if n.keys == nil {
		n.keys = map[string]*flatNode{}
	}
	if n.keys[t.key] == nil {
		n.keys[t.key] = &flatNode{}
	}
	return n.keys[t.key]
}

func (n *flatNode) generic() (any, error) {
	switch {
	case n.val != nil:
		return *n.val, nil
	case n.keys != nil && n.idx != nil:
		return nil, errors.New("a key is both a map and a list")
	case n.idx != nil:
		l := make([]any, len(n.idx))
		for i, c := range n.idx {
			if i < 0 || i >= len(l) {
				return nil, errors.New("incomplete list")
			}
			g, err := c.generic()
			if err != nil {
				return nil, err
			}
			l[i] = g
		}
		return l, nil
	}
	m := make(map[string]any, len(n.keys))
	for k, c := range n.keys {
		g, err := c.generic()
		if err != nil {
			return nil, err
		}
		m[k] = g
	}
	return m, nil
}

func (d *dotenvDoc) walk(w *walker) error {
	w.enter()
	defer w.leave()
	for i := range d.items {
		it := &d.items[i]
		switch {
		case it.comment:
			c, err := w.comment(it.key)
			if err != nil {
				return err
			}
			it.key = c
		case strings.HasPrefix(it.key, sopsPrefix):
			// metadata, removed by SOPS before walking
		default:
			w.push(it.key)
			out, decrypted, err := w.leaf(it.val)
			w.pop()
			if err != nil {
				return err
			}
			if _, ok := out.(commentValue); ok {
				return fmt.Errorf("%s: value at %s: %w (a comment where a value belongs)", w.name, w.pathString(), errMalformed)
			}
			if decrypted {
				it.val = out
			}
			w.settle()
		}
	}
	return nil
}

func (d *dotenvDoc) encode() ([]byte, error) {
	var buf bytes.Buffer
	for _, it := range d.items {
		switch {
		case it.comment:
			buf.WriteString("#" + strings.ReplaceAll(it.key, "\n", " ") + "\n")
		case strings.HasPrefix(it.key, sopsPrefix):
		default:
			buf.WriteString(it.key + "=" + envValue(it.val) + "\n")
		}
	}
	return buf.Bytes(), nil
}

// envValue formats a value as the SOPS dotenv store does.
func envValue(v any) string {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, "\n", `\n`)
	case float64:
		s := strconv.FormatFloat(v, 'G', -1, 64)
		if !strings.ContainsAny(s, ".E") {
			s = strconv.FormatFloat(v, 'f', 1, 64)
		}
		return s
	case time.Time:
		return v.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

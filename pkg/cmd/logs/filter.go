package logs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// levels orders the levels the reconciler logs at (zap's names).
var levels = map[string]int{"debug": 0, "info": 1, "warn": 2, "error": 3, "dpanic": 4, "panic": 5, "fatal": 6}

// Entry is one parsed line of the reconciler's log.
type Entry struct {
	Time   string
	Level  string
	Logger string
	Msg    string
	// Kind, Namespace and Name are of the object reconciled, from the
	// fields controller-runtime adds to a reconcile's logger.
	Kind, Namespace, Name string
	// Fields are the other key-value pairs.
	Fields map[string]any
}

// contextKeys are the fields that the reconcile logger adds and Entry shows
// in its own columns.
var contextKeys = []string{"controller", "controllerGroup", "controllerKind", "name", "namespace", "reconcileID"}

// Filter keeps the entries about one kind/name/namespace, at a level or above.
type Filter struct {
	Kind, Name, Namespace string
	Level                 string
}

func (f Filter) empty() bool { return f == Filter{} }

// Match parses a line (JSON or zap console encoding) and reports whether it
// passes the filter. Lines that are not log entries (stack traces) never do.
func (f Filter) Match(line string) (Entry, bool) {
	e, ok := Parse(line)
	if !ok {
		return e, false
	}
	if f.Level != "" && levelOf(e.Level) < levels[f.Level] {
		return e, false
	}
	if f.Kind != "" && !strings.EqualFold(e.Kind, f.Kind) {
		return e, false
	}
	if f.Name != "" && e.Name != f.Name {
		return e, false
	}
	if f.Namespace != "" && e.Namespace != f.Namespace {
		return e, false
	}
	return e, true
}

// Read returns the entries of r that pass the filter.
func (f Filter) Read(r io.Reader) []Entry {
	var out []Entry
	_ = f.Stream(r, func(e Entry) { out = append(out, e) })
	return out
}

// Stream calls fn with each entry of r that passes the filter, until r ends.
func (f Filter) Stream(r io.Reader, fn func(Entry)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if e, ok := f.Match(sc.Text()); ok {
			fn(e)
		}
	}
	return sc.Err()
}

func levelOf(l string) int {
	if n, ok := levels[strings.ToLower(l)]; ok {
		return n
	}
	return 0 // V(2) and finer print as Level(-2): debug
}

// Parse reads one line of a zap log: a JSON object, or the console encoding
// "time<TAB>LEVEL<TAB>[logger<TAB>]message<TAB>{fields}".
func Parse(line string) (Entry, bool) {
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return Entry{}, false
		}
		e := Entry{Time: timeString(m["ts"]), Level: str(m["level"]), Logger: str(m["logger"]), Msg: str(m["msg"])}
		for _, k := range []string{"ts", "level", "logger", "msg", "caller", "stacktrace"} {
			delete(m, k)
		}
		e.setFields(m)
		return e, e.Level != "" || e.Msg != ""
	}
	parts := strings.Split(line, "\t")
	if len(parts) < 3 {
		return Entry{}, false
	}
	if _, err := time.Parse(time.RFC3339Nano, parts[0]); err != nil {
		if _, err := time.Parse("2006-01-02T15:04:05.000Z0700", parts[0]); err != nil {
			return Entry{}, false
		}
	}
	e := Entry{Time: parts[0], Level: strings.ToLower(parts[1])}
	rest := parts[2:]
	fields := map[string]any{}
	if last := rest[len(rest)-1]; strings.HasPrefix(last, "{") && json.Unmarshal([]byte(last), &fields) == nil {
		rest = rest[:len(rest)-1]
	}
	switch len(rest) {
	case 0:
	case 1:
		e.Msg = rest[0]
	default:
		e.Logger, e.Msg = rest[0], strings.Join(rest[1:], "\t")
	}
	e.setFields(fields)
	return e, true
}

// setFields takes the reconciled object out of the fields: controllerKind
// with name and namespace, or the object under its kind's key.
func (e *Entry) setFields(m map[string]any) {
	e.Kind = str(m["controllerKind"])
	e.Name, e.Namespace = str(m["name"]), str(m["namespace"])
	if obj, ok := m[e.Kind].(map[string]any); ok && e.Kind != "" {
		if e.Name == "" {
			e.Name = str(obj["name"])
		}
		if e.Namespace == "" {
			e.Namespace = str(obj["namespace"])
		}
		delete(m, e.Kind)
	}
	for _, k := range contextKeys {
		delete(m, k)
	}
	if len(m) > 0 {
		e.Fields = m
	}
}

// String is the line printed: time, level, Kind/namespace/name, message and
// the other fields as key=value.
func (e Entry) String() string {
	var b strings.Builder
	b.WriteString(e.Time + " " + e.Level)
	if e.Kind != "" && e.Name != "" {
		b.WriteString(" " + e.Kind + "/")
		if e.Namespace != "" {
			b.WriteString(e.Namespace + "/")
		}
		b.WriteString(e.Name)
	} else if e.Logger != "" {
		b.WriteString(" " + e.Logger)
	}
	b.WriteString(" " + e.Msg)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + value(e.Fields[k]))
	}
	return b.String()
}

func value(v any) string {
	if s, ok := v.(string); ok {
		if strings.ContainsAny(s, " \t\"") {
			return fmt.Sprintf("%q", s)
		}
		return s
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// timeString renders zap's ts: an RFC 3339 string, or seconds since the
// epoch as a float.
func timeString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		sec, frac := math.Modf(t)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return ""
}

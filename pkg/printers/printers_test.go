package printers

import (
	"bytes"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAge(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		created metav1.Time
		want    string
	}{
		{metav1.Time{}, "<unknown>"},
		{metav1.NewTime(now.Add(-42 * time.Second)), "42s"},
		{metav1.NewTime(now.Add(-(3*time.Hour + 5*time.Minute))), "3h5m"},
		{metav1.NewTime(now.Add(-50 * 24 * time.Hour)), "50d"},
	}
	for _, tt := range tests {
		if got := Age(tt.created, now); got != tt.want {
			t.Errorf("Age(%v) = %q, want %q", tt.created, got, tt.want)
		}
	}
}

func TestTablePrinter_HeaderOnceAndWideColumns(t *testing.T) {
	var out bytes.Buffer
	p := NewTablePrinter(&out, []Column{{Name: "Name"}, {Name: "Ready"}, {Name: "Source", Wide: true}}, Options{})
	if err := p.Print([]Row{{Cells: []any{"a", "True", "https://x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Print([]Row{{Cells: []any{"b", "False", "https://y"}}}); err != nil {
		t.Fatal(err)
	}
	if want := "NAME   READY\na      True\nb      False\n"; out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}

	out.Reset()
	p = NewTablePrinter(&out, []Column{{Name: "Name"}, {Name: "Source", Wide: true}}, Options{Wide: true, Kind: "GitRepository"})
	if err := p.Print([]Row{{Cells: []any{"a", "https://x"}}}); err != nil {
		t.Fatal(err)
	}
	if want := "NAME              SOURCE\ngitrepository/a   https://x\n"; out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func TestPrintYAMLDocuments(t *testing.T) {
	var out bytes.Buffer
	if err := PrintYAMLDocuments(&out, []any{map[string]any{"a": 1}, map[string]any{"b": "x"}}); err != nil {
		t.Fatal(err)
	}
	if want := "---\na: 1\n---\nb: x\n"; out.String() != want {
		t.Errorf("got %q", out.String())
	}
}

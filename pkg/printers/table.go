// Package printers formats objects for people and for Git: kubectl-style
// tables (with -o wide columns, a NAMESPACE column for -A and a kind prefix
// when several kinds are shown) and multi-document YAML.
package printers

import (
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
)

// Column is a table column; a Wide column shows only with -o wide. The
// first column holds the object's name.
type Column struct {
	Name string
	Wide bool
}

// Row is one object and its cells, one per column.
type Row struct {
	Object runtime.Object
	Cells  []any
}

// Options select the layout of a table.
type Options struct {
	// WithNamespace adds a NAMESPACE column first (for -A).
	WithNamespace bool
	// Wide shows the Wide columns (-o wide).
	Wide bool
	// Kind, when set, prefixes names with "<kind>/" (for tables of several
	// kinds, like kubectl get all).
	Kind string
	// NoHeaders leaves out the header line.
	NoHeaders bool
}

// TablePrinter prints tables the way kubectl does. It remembers the header
// and the column widths it printed, so that rows printed later (--watch)
// line up under them without a second header.
type TablePrinter struct {
	columns []metav1.TableColumnDefinition
	printer printers.ResourcePrinter
	// tw is kept across prints: it remembers the column widths.
	tw flushWriter
}

type flushWriter interface {
	io.Writer
	Flush() error
}

// NewTablePrinter returns a printer of tables with columns to out.
func NewTablePrinter(out io.Writer, columns []Column, opts Options) *TablePrinter {
	defs := make([]metav1.TableColumnDefinition, len(columns))
	for i, c := range columns {
		defs[i] = metav1.TableColumnDefinition{Name: c.Name, Type: "string"}
		if i == 0 {
			defs[i].Format = "name"
		}
		if c.Wide {
			defs[i].Priority = 1
		}
	}
	tw := printers.GetNewTabWriter(out)
	po := printers.PrintOptions{WithNamespace: opts.WithNamespace, Wide: opts.Wide, NoHeaders: opts.NoHeaders}
	if opts.Kind != "" {
		po.WithKind = true
		po.Kind = schema.GroupKind{Kind: opts.Kind}
	}
	return &TablePrinter{columns: defs, printer: printers.NewTablePrinter(po), tw: tw}
}

// Print prints rows (the header first, the first time) and flushes.
func (p *TablePrinter) Print(rows []Row) error {
	t := &metav1.Table{ColumnDefinitions: append([]metav1.TableColumnDefinition(nil), p.columns...)}
	for _, r := range rows {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: append([]any(nil), r.Cells...), Object: runtime.RawExtension{Object: r.Object}})
	}
	if err := p.printer.PrintObj(t, p.tw); err != nil {
		return err
	}
	return p.tw.Flush()
}

// Age is how long ago created was, as kubectl prints it ("5m", "3d4h"), or
// "<unknown>" when it is not set.
func Age(created metav1.Time, now time.Time) string {
	if created.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(created.Time))
}

package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// table is the one table the benchmark prints: sections of rows, each row a
// measure with its baseline, the gateway's figure and the comparison, plus
// notes printed under the table.
type table struct {
	rows  []tableRow
	area  string
	notes []string
}

// tableRow is a row of cells, or a section heading when about is set.
type tableRow struct {
	cells []string
	about string
}

var tableHead = []string{"area", "measure", "baseline", "gateway", "vs baseline", "notes"}

// section starts a group of rows, headed by a line that says what they measure.
func (t *table) section(area, about string) {
	t.area = area
	t.rows = append(t.rows, tableRow{about: area + ": " + about})
}

func (t *table) row(measure, baseline, gatewayFig, vs, note string) {
	t.rows = append(t.rows, tableRow{cells: []string{t.area, measure, baseline, gatewayFig, vs, note}})
}

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// print aligns the cells of every row in columns; section headings run
// across the columns on their own line.
func (t *table) print(w io.Writer) {
	width := make([]int, len(tableHead))
	for i, h := range tableHead {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i, c := range r.cells {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(tableHead)
	rule := make([]string, len(tableHead))
	for i := range rule {
		rule[i] = strings.Repeat("-", width[i])
	}
	line(rule)
	for _, r := range t.rows {
		if r.about != "" {
			fmt.Fprintf(w, "── %s\n", r.about)
			continue
		}
		line(r.cells)
	}
}

// fmtDur prints a duration in µs below 10 ms, else in ms.
func fmtDur(d time.Duration) string {
	if d < 10*time.Millisecond && d > -10*time.Millisecond {
		return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1e3)
	}
	return fmt.Sprintf("%.2f ms", float64(d.Nanoseconds())/1e6)
}

// deltaRatio is "+Δ (×r)" of a gateway figure against its baseline.
func deltaRatio(base, gw time.Duration) string {
	sign := "+"
	if gw < base {
		sign = "−"
	}
	diff := gw - base
	if diff < 0 {
		diff = -diff
	}
	r := "×?"
	if base > 0 {
		r = fmt.Sprintf("×%.2f", float64(gw)/float64(base))
	}
	return fmt.Sprintf("%s%s (%s)", sign, fmtDur(diff), r)
}

// fmtBytes prints a size in MiB from 1 MiB, else KiB.
func fmtBytes(n int64) string {
	if n >= 1<<20 || n <= -(1<<20) {
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

func ratio(base, v float64) string {
	if base == 0 {
		return "×?"
	}
	return fmt.Sprintf("×%.2f", v/base)
}

func usd(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v < 0.01:
		return fmt.Sprintf("$%.5f", v)
	default:
		return fmt.Sprintf("$%.4f", v)
	}
}

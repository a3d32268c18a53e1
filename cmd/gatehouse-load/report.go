package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// printTable writes the rows aligned for a terminal.
func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "path\treq/s\tp50\tp99\terrors\tredis rt/req\tsql rt/req\tceiling\tceiling req/s\tratio\tserver RSS\t\n")
	for _, r := range rows {
		c := cells(r)
		fmt.Fprintln(tw, strings.Join(c, "\t")+"\t")
	}
	_ = tw.Flush()
}

// printMarkdown writes the rows as a Markdown table, for the README.
func printMarkdown(w io.Writer, o options, rows []row) {
	fmt.Fprintf(w, "| path | req/s | p50 | p99 | errors | Redis round trips/req | SQL round trips/req | ceiling | ceiling req/s | ratio | server RSS after |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n")
	for _, r := range rows {
		c := cells(r)
		c[0] = "`" + c[0] + "`"
		fmt.Fprintf(w, "| %s |\n", strings.Join(c, " | "))
	}
	fmt.Fprintf(w, "\n%d connections, %s per path (%d rounds alternating with the ceiling), target %s\n", o.connections, o.duration, max(o.rounds, 1), o.target)
}

func cells(r row) []string {
	perReq := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	c := []string{r.path, fmt.Sprintf("%.0f", r.res.rate()), round(r.res.percentile(0.5)).String(),
		round(r.res.percentile(0.99)).String(), strconv.FormatInt(r.res.errors, 10), perReq(r.redis), perReq(r.sql)}
	if r.ceil != nil && r.ceil.requests > 0 {
		c = append(c, r.ceilingLabel, fmt.Sprintf("%.0f", r.ceil.rate()), fmt.Sprintf("%.2f", r.res.rate()/r.ceil.rate()))
	} else {
		c = append(c, "-", "-", "-")
	}
	if r.rss > 0 {
		c = append(c, fmt.Sprintf("%.0f MiB", float64(r.rss)/1024))
	} else {
		c = append(c, "-")
	}
	return c
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > 10*time.Microsecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

// vmRSS reads a process's resident set size in KiB from /proc; 0 when it
// cannot (another machine, no such process).
func vmRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib
		}
	}
	return 0
}

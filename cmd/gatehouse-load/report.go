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
	fmt.Fprintf(tw, "path\treq/s\tp50\tp99\terrors\tredis rt/req\tsql rt/req\tceiling\tceiling req/s\tratio\tCPU/req\tceiling CPU/req\tCPU ratio\tserver RSS\t\n")
	for _, r := range rows {
		c := cells(r)
		fmt.Fprintln(tw, strings.Join(c, "\t")+"\t")
	}
	_ = tw.Flush()
}

// printMarkdown writes the rows as a Markdown table, for the README.
func printMarkdown(w io.Writer, o options, rows []row) {
	fmt.Fprintf(w, "| path | req/s | p50 | p99 | errors | Redis round trips/req | SQL round trips/req | ceiling | ceiling req/s | ratio | server CPU/req | ceiling CPU/req | CPU ratio | server RSS after |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
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
	perReqCPU := func(d time.Duration, n int64) time.Duration {
		if d <= 0 || n == 0 {
			return 0
		}
		return d / time.Duration(n)
	}
	srv := perReqCPU(r.srvCPU, r.res.requests)
	var ceil time.Duration
	if r.ceil != nil {
		ceil = perReqCPU(r.ceilCPU, r.ceil.requests)
	}
	for _, d := range []time.Duration{srv, ceil} {
		if d > 0 {
			c = append(c, round(d).String())
		} else {
			c = append(c, "-")
		}
	}
	if srv > 0 && ceil > 0 {
		c = append(c, fmt.Sprintf("%.2f", float64(ceil)/float64(srv)))
	} else {
		c = append(c, "-")
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

// settle is how long a turn waits for the server to finish what its last,
// cancelled requests started.
const settle = 250 * time.Millisecond

// processCPU is the user and system CPU time a process has used, from
// /proc (clock ticks of 10 ms); 0 when it cannot be read.
func processCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which may hold spaces: state is
	// field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
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

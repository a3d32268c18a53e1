package seed

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a seed file.
type Problem struct {
	File    string // the file's path
	Entry   string // "users[3] (email dana@acme.example)"; empty for the file as a whole
	Field   string // "organization"; empty for the entry as a whole
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Entry != "" {
		b.WriteString(": " + p.Entry)
	}
	if p.Field != "" {
		b.WriteString(": field " + p.Field)
	}
	b.WriteString(": " + p.Message)
	return b.String()
}

// Error is a seed file refused: every problem found, nothing applied.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String() + " (nothing applied)"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  " + p.String()
	}
	return fmt.Sprintf("%d problems, nothing applied:\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// problems collects the problems of one file as validation walks it.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) add(entry, field, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Entry: entry, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &Error{Problems: ps.list}
}

// label names an entry as messages show it.
func label(section string, i int, idField, id string) string {
	if id == "" {
		return fmt.Sprintf("%s[%d]", section, i)
	}
	return fmt.Sprintf("%s[%d] (%s %s)", section, i, idField, id)
}

package sql

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Lists and maps are stored as JSON text. An empty one reads back as nil,
// so a record round-trips the same whether it held nil or an empty value.

func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v) // a []string always marshals
	return string(b)
}

// listCol scans a JSON list column.
type listCol struct{ v *[]string }

func (c listCol) Scan(src any) error {
	b, err := textOf(src)
	if err != nil || len(b) == 0 {
		*c.v = nil
		return err
	}
	v, ok := splitPlainList(b)
	if !ok {
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("sql: bad JSON list: %w", err)
		}
	}
	if len(v) == 0 {
		v = nil
	}
	*c.v = v
	return nil
}

// splitPlainList decodes the common JSON list, ["a","b"] as jsonList
// writes it with no escapes inside the strings, several times faster than
// encoding/json. Anything else reports !ok and goes to encoding/json.
func splitPlainList(b []byte) ([]string, bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' || bytes.IndexByte(b, '\\') >= 0 {
		return nil, false
	}
	b = b[1 : len(b)-1]
	var out []string
	for len(b) > 0 {
		if b[0] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(b[1:], '"')
		if end < 0 {
			return nil, false
		}
		out = append(out, string(b[1:1+end]))
		b = b[end+2:]
		if len(b) > 0 {
			if b[0] != ',' || len(b) == 1 {
				return nil, false
			}
			b = b[1:]
		}
	}
	return out, true
}

func jsonMap(v map[string]any) (string, error) {
	if len(v) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sql: details do not encode as JSON: %w", err)
	}
	return string(b), nil
}

// jsonCol scans a JSON column into any value; the empty object or list
// leaves a map or slice nil.
type jsonCol struct{ v any }

func (c jsonCol) Scan(src any) error {
	b, err := textOf(src)
	if err != nil {
		return err
	}
	if len(b) == 0 || string(b) == "{}" || string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, c.v); err != nil {
		return fmt.Errorf("sql: bad JSON column: %w", err)
	}
	return nil
}

func textOf(src any) ([]byte, error) {
	switch v := src.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	}
	return nil, fmt.Errorf("sql: cannot scan %T as text", src)
}

// blob makes nil storable in a NOT NULL binary column.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// blobCol scans a binary column, copying it (drivers reuse the buffer) and
// reading the empty value back as nil.
type blobCol struct{ v *[]byte }

func (c blobCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.v = nil
	case []byte:
		if len(v) == 0 {
			*c.v = nil
		} else {
			*c.v = append([]byte(nil), v...)
		}
	case string:
		if v == "" {
			*c.v = nil
		} else {
			*c.v = []byte(v)
		}
	default:
		return fmt.Errorf("sql: cannot scan %T as bytes", src)
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

func jsonEncode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sql: encode JSON: %w", err)
	}
	return string(b), nil
}

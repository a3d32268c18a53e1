package sql

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The fast list decoder agrees with encoding/json on what it accepts, and
// passes everything else on.
func TestSplitPlainList(t *testing.T) {
	for _, in := range []string{
		`[]`, `["a"]`, `["a","b"]`, `["https://x.example/cb?a=1&b=2","openid"]`, `[""]`, `["",""]`,
		`["é, ü"]`, `["a,b","c"]`,
	} {
		got, ok := splitPlainList([]byte(in))
		var want []string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if !ok || (len(want) > 0 && !reflect.DeepEqual(got, want)) || (len(want) == 0 && len(got) != 0) {
			t.Errorf("splitPlainList(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{`["a\"b"]`, `["a\\b"]`, `[ "a"]`, `["a", "b"]`, `["a",]`, `["a"`, `null`, `["a"x]`, `[1]`} {
		if got, ok := splitPlainList([]byte(in)); ok {
			t.Errorf("splitPlainList(%s) = %q, want it passed to encoding/json", in, got)
		}
	}
	// And the column scanner round-trips through either path.
	for _, v := range [][]string{nil, {"a"}, {`quote"d`, `back\slash`, "x"}} {
		var got []string
		if err := (listCol{&got}).Scan(jsonList(v)); err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %q = %q, %v", v, got, err)
		}
	}
}

func TestSQLiteTranslation(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE id = $1 AND b = $12 FOR UPDATE`:       `SELECT a FROM t WHERE id = ?1 AND b = ?12`,
		`CREATE TABLE t (a TIMESTAMPTZ, b BYTEA NOT NULL, c BIGINT)`: `CREATE TABLE t (a INTEGER, b BLOB NOT NULL, c INTEGER)`,
	} {
		if got := sqliteFlavor.translate(in); got != want {
			t.Errorf("translate(%q) = %q, want %q", in, got, want)
		}
	}
	if got := postgresFlavor.translate("SELECT $1 FOR UPDATE"); got != "SELECT $1 FOR UPDATE" {
		t.Errorf("postgres flavor rewrote %q", got)
	}
}

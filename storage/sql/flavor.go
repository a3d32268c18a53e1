package sql

import (
	"context"
	stdsql "database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"gatehouse/storage"
)

// flavor is what differs between the two databases. Every statement in this
// package is written once, in PostgreSQL syntax; the SQLite flavor rewrites
// it on first use and caches the result.
type flavor struct {
	name string
	// rewrites turn PostgreSQL syntax into the flavor's; none for PostgreSQL.
	rewrites []rewrite
	// timeArg encodes a time for a statement argument; the zero time is NULL.
	timeArg func(time.Time) any
	// classify maps a driver error onto the storage sentinels. It returns
	// nil when err is none of them.
	classify func(error) error

	cache sync.Map // PostgreSQL text -> flavor text
}

type rewrite struct {
	re   *regexp.Regexp
	with string
}

// translate returns query in the flavor's syntax.
func (f *flavor) translate(query string) string {
	if len(f.rewrites) == 0 {
		return query
	}
	if q, ok := f.cache.Load(query); ok {
		return q.(string)
	}
	q := query
	for _, r := range f.rewrites {
		q = r.re.ReplaceAllString(q, r.with)
	}
	f.cache.Store(query, q)
	return q
}

// Times are kept to the microsecond, PostgreSQL's precision, on both
// backends so a record reads back the same wherever it is stored.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

var postgresFlavor = &flavor{
	name: "postgres",
	timeArg: func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return normTime(t)
	},
	classify: classifyPostgres,
}

// SQLite keeps times as integer microseconds since the Unix epoch: integers
// compare and sort correctly, and unlike nanoseconds they reach far past the
// year 9999 that an until-unlocked lockout uses.
var sqliteFlavor = &flavor{
	name: "sqlite",
	rewrites: []rewrite{
		{regexp.MustCompile(`\$(\d+)`), "?$1"},
		{regexp.MustCompile(`(?i)\s+FOR UPDATE\b`), ""},
		{regexp.MustCompile(`(?i)\bTIMESTAMPTZ\b`), "INTEGER"},
		{regexp.MustCompile(`(?i)\bBYTEA\b`), "BLOB"},
		{regexp.MustCompile(`(?i)\bBIGINT\b`), "INTEGER"},
	},
	timeArg: func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UnixMicro()
	},
	classify: classifySQLite,
}

// timeCol scans a time column of either flavor: NULL is the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("sql: cannot scan %T into a time", src)
	}
	return nil
}

// errUnavailable marks err as a failure to reach the database, keeping err
// in the chain so callers can still tell a deadline from the rest.
func errUnavailable(err error) error {
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// classifyCommon recognises failures that mean the same on both backends.
func classifyCommon(err error) error {
	switch {
	case errors.Is(err, stdsql.ErrNoRows):
		return storage.ErrNotFound
	case errors.Is(err, context.Canceled):
		// The caller gave up; the database may be fine.
		return err
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, stdsql.ErrConnDone),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return errUnavailable(err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return errUnavailable(err)
	}
	return nil
}

func classifyPostgres(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return storage.ErrAlreadyExists
		case pe.Code == "23503": // foreign_key_violation
			return storage.ErrNotFound
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now
			pe.Code == "53300": // too_many_connections
			return errUnavailable(err)
		}
		return nil
	}
	if c := classifyCommon(err); c != nil {
		return c
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) {
		return errUnavailable(err)
	}
	// pgx reports a connection it already closed with an unexported error.
	if strings.Contains(err.Error(), "conn closed") {
		return errUnavailable(err)
	}
	return nil
}

func classifySQLite(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return storage.ErrAlreadyExists
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return storage.ErrNotFound
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL:
			return errUnavailable(err)
		}
		return nil
	}
	return classifyCommon(err)
}

// wrap turns a driver error into what callers of storage.Store expect: a
// sentinel when one applies, otherwise the error with the operation named.
func (f *flavor) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, sentinel := range []error{storage.ErrNotFound, storage.ErrAlreadyExists, storage.ErrConflict, storage.ErrUnavailable} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	switch c := f.classify(err); {
	case c == nil:
		return fmt.Errorf("sql: %s: %w", op, err)
	case c == storage.ErrNotFound, c == storage.ErrAlreadyExists:
		return fmt.Errorf("%s: %w", op, c)
	default:
		return fmt.Errorf("sql: %s: %w", op, c)
	}
}

// Package sql is Gatehouse's durable store: one implementation of
// storage.Store over SQLite (the default, one node) and PostgreSQL
// (production, any number of nodes).
//
// Every statement is written once, in PostgreSQL syntax; a small flavor
// rewrites it for SQLite (placeholders, column types, no row locks). The
// schema comes from numbered, embedded migrations/*.sql files that Migrate
// applies, each in its own transaction.
//
// How records are kept:
//   - lists and maps as JSON text; an empty one reads back as nil;
//   - times in UTC to the microsecond (timestamptz on PostgreSQL, integer
//     microseconds since the epoch on SQLite); the zero time is NULL;
//   - emails and usernames lower-cased, so their uniqueness and lookups
//     ignore case;
//   - a record naming a partner or user that does not exist is refused
//     with storage.ErrNotFound (foreign keys).
//
// Errors follow storage's sentinels; failures to reach the database wrap
// storage.ErrUnavailable. An operation whose context has no deadline gets
// DB.Timeout, so a database that stops answering fails requests rather
// than hanging them.
package sql

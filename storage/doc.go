// Package storage owns Gatehouse's data: the domain records (partners,
// organizations, users and their factors, connections, relying parties,
// signing keys, refresh tokens, audit events) and the interfaces every
// backend implements.
//
// Durable data lives behind Store (SQL: SQLite or PostgreSQL, in storage/sql);
// short-lived, hot data lives behind Ephemeral (in process or Redis, in
// storage/ephemeral). Both are exercised by the one conformance suite in
// storage/conformance, so a behaviour the rest of Gatehouse relies on is a
// behaviour every backend has.
//
// This package imports nothing else of the project.
package storage

package sql_test

import (
	"testing"

	"gatehouse/storage"
	"gatehouse/storage/conformance"
	"gatehouse/storage/sql/sqltest"
)

func TestConformanceSQLite(t *testing.T) {
	conformance.RunDurable(t, func(t *testing.T) storage.Store { return sqltest.SQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	conformance.RunDurable(t, func(t *testing.T) storage.Store { return sqltest.Postgres(t) })
}

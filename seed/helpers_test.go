package seed_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"gatehouse/keys"
	"gatehouse/passwords"
	"gatehouse/provider/policy"
	"gatehouse/seed"
	"gatehouse/storage"
	"gatehouse/storage/sql/sqltest"
)

// cheap keeps argon2id fast in tests; the parameters are not what is
// under test.
var cheap = passwords.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// backends are the durable stores seeds are tested against.
var backends = []struct {
	name string
	open func(testing.TB) storage.Store
}{
	{"sqlite", func(t testing.TB) storage.Store { return sqltest.SQLite(t) }},
	{"postgres", func(t testing.TB) storage.Store { return sqltest.Postgres(t) }},
}

func newBox(t testing.TB) *keys.Box {
	t.Helper()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	b, err := keys.NewBox(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newApplier(t testing.TB, st storage.Store) *seed.Applier {
	return &seed.Applier{Store: st, Box: newBox(t), Params: cheap, Roles: policy.DefaultCatalogue()}
}

// writeSeed writes body to name in a temporary directory and loads it.
func writeSeed(t testing.TB, name, body string) (*seed.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := seed.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return f, path
}

// snapshot is everything a seed can write, read back through the store.
type snapshot struct {
	Partners  []storage.Partner
	Orgs      []storage.Organization
	Users     []storage.User
	Factors   []storage.Factor
	Conns     []storage.Connection
	Clients   []storage.Client
	SPs       []storage.ServiceProvider
	Audit     []storage.AuditEvent
	UserCount int
}

func snap(t testing.TB, st storage.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	must := func(e error) {
		t.Helper()
		if e != nil {
			t.Fatal(e)
		}
	}
	s.Partners, err = st.ListPartners(ctx)
	must(err)
	for _, p := range s.Partners {
		orgs, err := st.ListOrganizations(ctx, p.ID, storage.OrganizationFilter{})
		must(err)
		s.Orgs = append(s.Orgs, orgs...)
		conns, err := st.ListConnections(ctx, p.ID)
		must(err)
		s.Conns = append(s.Conns, conns...)
		tok := ""
		for {
			ev, next, err := st.ListAudit(ctx, p.ID, storage.Page{Token: tok})
			must(err)
			s.Audit = append(s.Audit, ev...)
			if next == "" {
				break
			}
			tok = next
		}
	}
	tok := ""
	for {
		users, next, err := st.ListUsers(ctx, storage.UserFilter{}, storage.Page{Token: tok})
		must(err)
		s.Users = append(s.Users, users...)
		if next == "" {
			break
		}
		tok = next
	}
	for _, u := range s.Users {
		f, err := st.ListFactors(ctx, u.ID)
		must(err)
		s.Factors = append(s.Factors, f...)
	}
	s.UserCount = len(s.Users)
	s.Clients, err = st.ListClients(ctx)
	must(err)
	s.SPs, err = st.ListServiceProviders(ctx)
	must(err)
	return s
}

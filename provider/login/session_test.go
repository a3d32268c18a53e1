package login_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse/provider/login"
	"gatehouse/storage"
)

func TestSSOSessionReused(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	first := b.signIn("rp=one", "alice@acme.example", goodPassword).result(t)

	e.clock.Advance(time.Minute)
	second := b.get("/test/begin?rp=two").result(t)
	if b.sawLoginPage() {
		t.Fatalf("second relying party showed a page: %v", b.visits)
	}
	if second.UserID != "u-alice" || second.SessionID != first.SessionID || second.AuthTime != first.AuthTime || !slices.Equal(second.AMR, []string{"pwd"}) {
		t.Fatalf("second = %+v, first = %+v", second, first)
	}
	// Passive with a session: no page either.
	if r := b.get("/test/begin?rp=three&passive").result(t); r.UserID != "u-alice" || r.Error != "" {
		t.Fatalf("passive = %+v", r)
	}
}

func TestForceLoginAsksAgain(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	first := b.signIn("", "alice@acme.example", goodPassword).result(t)
	e.clock.Advance(2 * time.Minute)

	again := b.signIn("force", "alice@acme.example", goodPassword).result(t)
	if again.SessionID != first.SessionID || again.AuthTime <= first.AuthTime {
		t.Fatalf("same user: session %s→%s, auth_time %d→%d", first.SessionID, again.SessionID, first.AuthTime, again.AuthTime)
	}
	sess, err := e.svc.GetSession(context.Background(), again.SessionID)
	if err != nil || sess.AuthTime.Unix() != again.AuthTime {
		t.Fatalf("session %+v, %v", sess, err)
	}

	// Passive and forced: there must be a page, so login_required.
	if r := b.get("/test/begin?force&passive").result(t); r.Error != login.ErrLoginRequired {
		t.Fatalf("force+passive = %+v", r)
	}

	// Another user on the same browser replaces the session, ending the old one.
	other := b.signIn("force", "bob@acme.example", goodPassword).result(t)
	if other.UserID != "u-bob" || other.SessionID == first.SessionID {
		t.Fatalf("other = %+v", other)
	}
	got := <-e.ended
	if got.Session.ID != first.SessionID {
		t.Fatalf("ended %s, want %s", got.Session.ID, first.SessionID)
	}
	if _, err := e.svc.GetSession(context.Background(), first.SessionID); err == nil {
		t.Fatal("the replaced session is still there")
	}
}

func TestPassiveWithoutSession(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	r := b.get("/test/begin?passive").result(t)
	if r.Error != login.ErrLoginRequired || b.sawLoginPage() {
		t.Fatalf("result = %+v, visits %v", r, b.visits)
	}
}

func TestEndSession(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	b := e.browser()
	r := b.signIn("", "alice@acme.example", goodPassword).result(t)

	parts := []login.Participant{
		{Protocol: login.ProtocolOIDC, RP: "portal"},
		{Protocol: login.ProtocolSAML, RP: "https://kb.example/saml", Data: json.RawMessage(`{"name_id":"alice@acme.example","session_index":"` + r.SessionID + `"}`)},
	}
	for _, p := range append(parts, parts[0]) {
		if err := e.svc.Join(ctx, r.SessionID, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.svc.Participants(ctx, r.SessionID)
	if err != nil || len(got) != 2 {
		t.Fatalf("participants = %v, %v", got, err)
	}

	if err := e.svc.EndSession(ctx, r.SessionID); err != nil {
		t.Fatal(err)
	}
	end := <-e.ended
	if end.Session.ID != r.SessionID || end.Session.UserID != "u-alice" || len(end.Parts) != 2 {
		t.Fatalf("ended = %+v", end)
	}
	for _, want := range parts {
		if !slices.ContainsFunc(end.Parts, func(p login.Participant) bool {
			return p.RP == want.RP && p.Protocol == want.Protocol && string(p.Data) == string(want.Data)
		}) {
			t.Errorf("handler was not told about %s", want.RP)
		}
	}
	if _, err := e.svc.GetSession(ctx, r.SessionID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetSession after end: %v", err)
	}
	if b.get("/test/whoami").status != http.StatusUnauthorized {
		t.Fatal("the browser still has a session")
	}
	if got, _ := e.svc.Participants(ctx, r.SessionID); len(got) != 0 {
		t.Fatalf("participants after end: %v", got)
	}
	// Ending again does nothing and tells nobody.
	if err := e.svc.EndSession(ctx, r.SessionID); err != nil {
		t.Fatal(err)
	}
	select {
	case x := <-e.ended:
		t.Fatalf("told twice: %+v", x)
	default:
	}
	// The next sign-in needs the password again.
	if p := b.get("/test/begin"); !isLoginPage(p) {
		t.Fatalf("after end: %d %s", p.status, p.url)
	}
}

func TestEndUserSessions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, e.browser().signIn("", "alice@acme.example", goodPassword).result(t).SessionID)
	}
	bob := e.browser().signIn("", "bob@acme.example", goodPassword).result(t).SessionID

	if err := e.svc.EndUserSessions(ctx, "u-alice", ids[0]); err != nil {
		t.Fatal(err)
	}
	var endedIDs []string
	for i := 0; i < 2; i++ {
		endedIDs = append(endedIDs, (<-e.ended).Session.ID)
	}
	slices.Sort(endedIDs)
	want := slices.Clone(ids[1:])
	slices.Sort(want)
	if !slices.Equal(endedIDs, want) {
		t.Fatalf("ended %v, want %v", endedIDs, want)
	}
	if _, err := e.svc.GetSession(ctx, ids[0]); err != nil {
		t.Fatalf("the kept session: %v", err)
	}
	if _, err := e.svc.GetSession(ctx, bob); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
	if err := e.svc.EndUserSessions(ctx, "u-alice", ""); err != nil {
		t.Fatal(err)
	}
	if got := (<-e.ended).Session.ID; got != ids[0] {
		t.Fatalf("ended %s", got)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, func(c *login.Config) { c.SessionTTL = time.Hour })
	b := e.browser()
	r := b.signIn("", "alice@acme.example", goodPassword).result(t)
	e.clock.Advance(61 * time.Minute)
	if _, err := e.svc.GetSession(context.Background(), r.SessionID); err == nil {
		t.Fatal("session outlived its TTL")
	}
	if p := b.get("/test/begin"); !isLoginPage(p) {
		t.Fatalf("expired session still used: %d %s", p.status, p.url)
	}
}

func TestForgedSessionCookie(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	r := b.signIn("", "alice@acme.example", goodPassword).result(t)
	// A relying party knows the session ID (sid); presenting it as the
	// cookie, with or without a made-up secret, gets nothing.
	for _, v := range []string{r.SessionID, r.SessionID + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/test/whoami", nil)
		req.AddCookie(&http.Cookie{Name: "gh_session", Value: v})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("cookie %q accepted", v)
		}
	}
}

// countingStore counts the calls reaching a real ephemeral store.
type countingStore struct {
	storage.Ephemeral
	mu    sync.Mutex
	calls []string
}

func (c *countingStore) note(op string) {
	c.mu.Lock()
	c.calls = append(c.calls, op)
	c.mu.Unlock()
}

func (c *countingStore) Get(ctx context.Context, k string) ([]byte, error) {
	c.note("get " + k)
	return c.Ephemeral.Get(ctx, k)
}

func (c *countingStore) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	c.note("set " + k)
	return c.Ephemeral.Set(ctx, k, v, ttl)
}

func (c *countingStore) Take(ctx context.Context, k string) ([]byte, error) {
	c.note("take " + k)
	return c.Ephemeral.Take(ctx, k)
}

func (c *countingStore) Incr(ctx context.Context, k string, ttl time.Duration) (int64, error) {
	c.note("incr " + k)
	return c.Ephemeral.Incr(ctx, k, ttl)
}

func (c *countingStore) SAdd(ctx context.Context, k string, ttl time.Duration, m ...string) error {
	c.note("sadd " + k)
	return c.Ephemeral.SAdd(ctx, k, ttl, m...)
}

func (c *countingStore) MGet(ctx context.Context, k ...string) ([][]byte, error) {
	c.note("mget")
	return c.Ephemeral.MGet(ctx, k...)
}

func (c *countingStore) SetNX(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	c.note("setnx " + k)
	return c.Ephemeral.SetNX(ctx, k, v, ttl)
}

func (c *countingStore) SMembers(ctx context.Context, k string) ([]string, error) {
	c.note("smembers " + k)
	return c.Ephemeral.SMembers(ctx, k)
}

func (c *countingStore) SRem(ctx context.Context, k string, m ...string) error {
	c.note("srem " + k)
	return c.Ephemeral.SRem(ctx, k, m...)
}

func (c *countingStore) Delete(ctx context.Context, k ...string) error {
	c.note("delete")
	return c.Ephemeral.Delete(ctx, k...)
}

// A relying party reusing the SSO session costs three ephemeral round trips
// (read the session, park the flow, take it back) and no SQL for a
// first-party client open to every role.
func TestSSORoundTrips(t *testing.T) {
	c := newClock()
	be := sqliteMemory(t, c)
	counter := &countingStore{Ephemeral: be.eph}
	e := newEnvOn(t, c, backend{dir: be.dir, eph: counter}, nil)
	b := e.browser()
	b.signIn("", "alice@acme.example", goodPassword).result(t)

	counter.mu.Lock()
	counter.calls = nil
	counter.mu.Unlock()
	b.get("/test/begin?rp=two").result(t)
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if len(counter.calls) != 3 {
		t.Fatalf("SSO sign-in made %d ephemeral calls, want 3: %v", len(counter.calls), counter.calls)
	}
}

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// kidOf reads the key ID from a JWT's header.
func kidOf(t testing.TB, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	return h.Kid
}

// jwksKids lists the key IDs node i publishes.
func (f *fleet) jwksKids(t testing.TB, i int) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.Issuer+"/.well-known/jwks.json", nil)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if s := f.send(t, i, req, &set); s != http.StatusOK {
		t.Fatalf("JWKS at node %d: %d", i, s)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// verifierAt verifies ID tokens against the keys node i publishes now (a
// relying party that fetches the JWKS afresh, through that node).
func (f *fleet) verifierAt(i int) *oidc.IDTokenVerifier {
	ctx := f.ctx(i)
	keys := oidc.NewRemoteKeySet(ctx, f.Issuer+"/.well-known/jwks.json")
	return oidc.NewVerifier(f.Issuer, keys, &oidc.Config{ClientID: fleetClient})
}

// `gatehouse keys rotate`, run as an operator would with the cluster's
// settings, reaches every node: each publishes the new key (they reload on
// the Redis notice, and at the latest on their periodic reload), signs new
// ID tokens with it, and still verifies what the old key signed.
func clusterKeysRotate(t *testing.T, f *fleet) {
	r := f.rp(t, 0, "email")
	old, b := f.signIn(t, r, 0, fleetEmail("hal"))
	oldKid := kidOf(t, old.RawID)

	out := run(t, f.Dir, f.Env, "keys", "rotate")
	m := regexp.MustCompile(`active RS256 key: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keys rotate said:\n%s", out)
	}
	newKid := m[1]
	if newKid == oldKid {
		t.Fatalf("keys rotate kept the active key %s", oldKid)
	}

	// A wait, not a timed assertion: DESIGN.md allows a node a minute.
	for i := range f.Nodes {
		deadline := time.Now().Add(time.Minute)
		for !slices.Contains(f.jwksKids(t, i), newKid) {
			if time.Now().After(deadline) {
				t.Fatalf("node %d: the new key %s is not in the JWKS after a minute: %v", i, newKid, f.jwksKids(t, i))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if kids := f.jwksKids(t, i); !slices.Contains(kids, oldKid) {
			t.Fatalf("node %d: the old key %s left the JWKS at once: %v", i, oldKid, kids)
		}
	}

	for i := range f.Nodes {
		// New ID tokens from every node carry the new key, and verify.
		p, v := f.authorize(b.on(i), r, oauth2.SetAuthURLParam("prompt", "none"))
		g := f.exchange(t, r, p, v, i)
		if kid := kidOf(t, g.RawID); kid != newKid {
			t.Errorf("node %d: new ID token signed with %s, want %s", i, kid, newKid)
		}
		// What the old key signed still verifies against each node's keys,
		// and its access token still works there.
		if _, err := f.verifierAt(i).Verify(context.Background(), old.RawID); err != nil {
			t.Errorf("node %d: ID token signed before the rotation: %v", i, err)
		}
		if !f.introspect(t, i, old.Token.AccessToken) {
			t.Errorf("node %d: access token signed before the rotation is not active", i)
		}
		if _, err := f.userinfo(r, i, old.Token); err != nil {
			t.Errorf("node %d: UserInfo with an access token signed before the rotation: %v", i, err)
		}
	}
}

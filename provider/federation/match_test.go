package federation

import (
	"testing"

	"gatehouse/storage"
)

func TestMatch(t *testing.T) {
	yes, no := true, false
	conn := storage.Connection{ID: "acme-oidc"}
	cases := []struct {
		name   string
		stored string
		id     identity
		want   verdict
	}{
		{"email, any case", "", identity{Subject: "s1", Email: " Olivia@ACME.example "}, matchEmail},
		{"email verified", "", identity{Subject: "s1", Email: "olivia@acme.example", EmailVerified: &yes}, matchEmail},
		{"email not verified", "", identity{Subject: "s1", Email: "olivia@acme.example", EmailVerified: &no}, mismatchUnverif},
		{"other email", "", identity{Subject: "s1", Email: "mallory@acme.example"}, mismatch},
		{"no email", "", identity{Subject: "s1"}, mismatch},
		{"stored subject", "acme-oidc|s1", identity{Subject: "s1", Email: "renamed@acme.example"}, matchSubject},
		{"stored subject, another subject with her email", "acme-oidc|s1", identity{Subject: "s2", Email: "olivia@acme.example"}, mismatch},
		{"stored subject, no subject upstream (transient)", "acme-oidc|s1", identity{Email: "olivia@acme.example"}, matchEmail},
		{"subject of another connection: email decides", "old-saml|s9", identity{Subject: "s1", Email: "olivia@acme.example"}, matchEmail},
		{"prefix is not a connection", "acme-oidc-2|s1", identity{Subject: "s1", Email: "x@acme.example"}, mismatch},
	}
	for _, tc := range cases {
		u := storage.User{ID: "u", Email: "olivia@acme.example", UpstreamSubject: tc.stored}
		if got := match(u, conn, tc.id); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

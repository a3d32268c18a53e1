package oidc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/provider/oidc"
	"gatehouse/storage"
)

// RevokeUser: at once, introspection says the user's access tokens are
// inactive, UserInfo refuses them and their refresh tokens are refused;
// other users' tokens are untouched; tokens issued afterwards work.
func TestRevokeUser(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "offline_access", "admin")
	tok, _ := r.signIn(e.browser(), "olivia@acme.example")
	carl, _ := r.signIn(e.browser(), "carl@globex.example")
	ctx := context.Background()

	uid, scopes, err := e.p.VerifyAccessToken(ctx, tok.AccessToken)
	if err != nil || uid != "u-olivia" || len(scopes) != 3 {
		t.Fatalf("VerifyAccessToken: %q %v %v", uid, scopes, err)
	}

	must(t, e.p.RevokeUser(ctx, "u-olivia"))
	if m := e.introspect(t, tok.AccessToken, ""); m["active"] != false {
		t.Fatalf("access token active after RevokeUser: %v", m)
	}
	if st := e.userInfoStatus(t, tok.AccessToken); st != 401 {
		t.Fatalf("userinfo after RevokeUser: %d", st)
	}
	if _, _, err := e.p.VerifyAccessToken(ctx, tok.AccessToken); !errors.Is(err, oidc.ErrInvalidToken) {
		t.Fatalf("VerifyAccessToken after RevokeUser: %v", err)
	}
	_, err = r.refresh(tok.RefreshToken)
	wantOAuthError(t, err, "invalid_grant")

	if m := e.introspect(t, carl.AccessToken, ""); m["active"] != true {
		t.Fatalf("another user's token: %v", m)
	}
	if _, err := r.refresh(carl.RefreshToken); err != nil {
		t.Fatalf("another user's refresh: %v", err)
	}

	t.Run("tokens issued afterwards work", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond) // the marker has one-second resolution
		tok, _ := r.signIn(e.browser(), "olivia@acme.example")
		if m := e.introspect(t, tok.AccessToken, ""); m["active"] != true {
			t.Fatalf("new token: %v", m)
		}
	})
	t.Run("a deleted user's tokens fail VerifyAccessToken", func(t *testing.T) {
		tok, _ := r.signIn(e.browser(), "tina@acme.example")
		if _, _, err := e.p.VerifyAccessToken(ctx, tok.AccessToken); err != nil {
			t.Fatal(err)
		}
		must(t, e.store.DeleteUser(ctx, "u-tina"))
		if _, _, err := e.p.VerifyAccessToken(ctx, tok.AccessToken); !errors.Is(err, oidc.ErrInvalidToken) {
			t.Fatalf("deleted user: %v", err)
		}
		// Refresh also checks the user.
		_, err := r.refresh(tok.RefreshToken)
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("a deactivated user's refresh is refused", func(t *testing.T) {
		tok, _ := r.signIn(e.browser(), "carl@globex.example")
		_, err := e.store.UpdateUser(ctx, "u-carl", func(u storage.User) (storage.User, error) { u.Active = false; return u, nil })
		must(t, err)
		_, err = r.refresh(tok.RefreshToken)
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("bad tokens", func(t *testing.T) {
		for _, raw := range []string{"", "x", "a.b.c", tamper(carl.AccessToken), carl.Extra("id_token").(string)} {
			if _, _, err := e.p.VerifyAccessToken(ctx, raw); !errors.Is(err, oidc.ErrInvalidToken) {
				t.Errorf("%q: %v", raw, err)
			}
		}
	})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"gatehouse/provider"
	"gatehouse/provider/account"
	"gatehouse/provider/admin"
	"gatehouse/provider/federation"
	"gatehouse/provider/login"
	"gatehouse/provider/mfa"
	"gatehouse/provider/oidc"
	"gatehouse/provider/saml"
	"gatehouse/provider/web"
	"gatehouse/storage"
)

// system is every subsystem built for one node, with what must happen at
// shutdown.
type system struct {
	mounters []provider.Mounter
	// stop waits for background work a subsystem started for a request
	// (back-channel logouts, SAML logout requests); queued mail is drained
	// when Deps closes.
	stop func()
	// background are loops serve runs for the node's life (housekeeping),
	// each in its own goroutine until the context ends.
	background []func(ctx context.Context)
}

// wire builds the protocol subsystems from deps. The only place that knows
// them all; each takes the fields it needs as its own config.
func wire(d *Deps) (*system, error) {
	cfg := d.Config
	secure := web.Secure(strings.HasPrefix(cfg.Issuer, "https://"))
	now := d.Now

	loginSvc := login.New(login.Config{
		Issuer:              cfg.Issuer,
		Directory:           d.Store,
		Ephemeral:           d.Ephemeral,
		Roles:               d.Roles,
		PasswordParams:      d.Passwords,
		MaxConcurrentHashes: cfg.Security.MaxConcurrentHashes,
		LockoutThreshold:    cfg.Security.LockoutThreshold,
		LockoutDuration:     cfg.Security.LockoutDuration.Duration,
		SessionTTL:          cfg.Session.TTL.Duration,
		Secure:              secure,
		Now:                 now,
		Logger:              d.Logger.With("subsystem", "login"),
	})
	currentUser := func(r *http.Request) (string, string, bool) {
		s, ok := loginSvc.Current(r)
		if !ok {
			return "", "", false
		}
		return s.UserID, s.ID, true
	}

	// Steps run in the order added: federation first (an SSO user leaves
	// for their partner's IdP and needs no factor here), then the factors.
	fed, err := federation.New(federation.Config{
		Issuer:                cfg.Issuer,
		Store:                 d.Store,
		Ephemeral:             d.Ephemeral,
		Login:                 loginSvc,
		Box:                   d.Box,
		Keys:                  d.Keys,
		AllowPrivateUpstreams: cfg.Federation.AllowPrivateUpstreams,
		Secure:                secure,
		Now:                   now,
		Logger:                d.Logger.With("subsystem", "federation"),
	})
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	loginSvc.Use(fed.Step())
	factors, err := mfa.New(mfa.Config{
		Issuer:      cfg.Issuer,
		Directory:   d.Store,
		Ephemeral:   d.Ephemeral,
		Box:         d.Box,
		SMSWebhook:  cfg.SMS.Webhook,
		CurrentUser: currentUser,
		SessionTTL:  cfg.Session.TTL.Duration,
		Secure:      secure,
		Now:         now,
		Logger:      d.Logger.With("subsystem", "mfa"),
	})
	if err != nil {
		return nil, fmt.Errorf("second factors: %w", err)
	}
	for _, st := range factors.Steps() {
		loginSvc.Use(st)
	}

	op, err := oidc.New(oidc.Config{
		Issuer:          cfg.Issuer,
		Store:           d.Store,
		Ephemeral:       d.Ephemeral,
		Clients:         d.Clients,
		Keys:            d.Keys,
		Login:           loginSvc,
		Roles:           d.Roles,
		AccessTokenTTL:  cfg.Tokens.AccessTokenTTL.Duration,
		RefreshTokenTTL: cfg.Tokens.RefreshTokenTTL.Duration,
		IDTokenTTL:      cfg.Tokens.IDTokenTTL.Duration,
		Now:             now,
		Logger:          d.Logger.With("subsystem", "oidc"),
	})
	if err != nil {
		return nil, fmt.Errorf("openid connect: %w", err)
	}
	idp, err := saml.New(saml.Config{
		Issuer:           cfg.Issuer,
		Directory:        d.Store,
		Ephemeral:        d.Ephemeral,
		Clients:          d.Clients,
		Keys:             d.Keys,
		Login:            loginSvc,
		ServiceProviders: d.Store,
		Now:              now,
		Logger:           d.Logger.With("subsystem", "saml"),
	})
	if err != nil {
		return nil, fmt.Errorf("saml: %w", err)
	}

	acct := account.New(account.Config{
		Issuer:         cfg.Issuer,
		Store:          d.Store,
		Ephemeral:      d.Ephemeral,
		Mail:           d.Mail,
		PasswordParams: d.Passwords,
		CurrentUser:    currentUser,
		EndSessions:    loginSvc.EndUserSessions,
		ResetLockout:   loginSvc.ResetLockout,
		SecurityPath:   "/account/security",
		Services: func(ctx context.Context, u storage.User) []account.Service {
			var out []account.Service
			for _, l := range idp.Services(ctx, u.Role) {
				out = append(out, account.Service{Name: l.Name, URL: l.URL})
			}
			return out
		},
		Secure: secure,
		Now:    now,
		Logger: d.Logger.With("subsystem", "account"),
	})

	adm := admin.New(admin.Config{
		Issuer:      cfg.Issuer,
		Store:       d.Store,
		Ephemeral:   d.Ephemeral,
		Roles:       d.Roles,
		Box:         d.Box,
		VerifyToken: op.VerifyAccessToken,
		CurrentUser: func(r *http.Request) (string, bool) {
			id, _, ok := currentUser(r)
			return id, ok
		},
		Sessions:       endUser{login: loginSvc, tokens: op},
		Invites:        acct,
		Reinvites:      acct,
		InviteRefusal:  inviteRefusal,
		TestConnection: testConnection(fed),
		EmailChanges:   acct,
		Notices:        acct,
		Secure:         secure,
		Now:            now,
		Logger:         d.Logger.With("subsystem", "admin"),
	})

	return &system{
		mounters: []provider.Mounter{op, idp, loginSvc, fed, factors, acct, adm},
		stop: func() {
			op.Wait()
			idp.Wait()
		},
		background: []func(context.Context){op.Housekeep},
	}, nil
}

// endUser ends everything a user holds when an admin deletes or
// deactivates them: every SSO session on every node (which tells the
// relying parties), and every token, so introspection, UserInfo and refresh
// refuse them at once.
type endUser struct {
	login  *login.Service
	tokens *oidc.Provider
}

func (e endUser) EndUser(ctx context.Context, userID string) error {
	return errors.Join(
		e.login.EndUserSessions(ctx, userID, ""),
		e.tokens.RevokeUser(ctx, userID),
	)
}

// inviteRefusal tells admin which of account's refusals to resend an
// invitation are the user's state rather than a failure.
func inviteRefusal(err error) admin.InviteRefusal {
	switch {
	case errors.Is(err, account.ErrAlreadySetUp):
		return admin.InviteSetUp
	case errors.Is(err, account.ErrInactive):
		return admin.InviteInactive
	}
	return admin.InviteFailed
}

// testConnection is federation's connection test in admin's terms.
func testConnection(fed *federation.Federation) func(context.Context, string) (admin.ConnectionReport, error) {
	return func(ctx context.Context, id string) (admin.ConnectionReport, error) {
		rep, err := fed.Test(ctx, id)
		if err != nil {
			return admin.ConnectionReport{}, err
		}
		out := admin.ConnectionReport{OK: rep.OK, Checks: make([]admin.ConnectionCheck, len(rep.Checks))}
		for i, c := range rep.Checks {
			out.Checks[i] = admin.ConnectionCheck{Name: c.Name, OK: c.OK, Detail: c.Detail}
		}
		return out, nil
	}
}

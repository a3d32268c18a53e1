package login

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"gatehouse/passwords"
	"gatehouse/storage"
)

// passwordStep is /login: it identifies the user by username and checks
// their password. A user whose sign-in goes through their partner's
// connection (sso on) is identified without a password and left for the
// federation step, which authenticates them.
type passwordStep struct{ s *Service }

// Form limits. A password is bounded by passwords.MaxBytes so that nobody
// can make argon2id hash megabytes.
const (
	maxUsernameLen = 320
	maxPasswordLen = passwords.MaxBytes
)

// Page texts. Unknown users, wrong passwords and inactive accounts share
// one text and one status, so the page tells nobody which accounts exist.
const (
	textWrong  = "The username or password is wrong."
	textLocked = "This account is locked after too many failed sign-ins. Ask your administrator to unlock it, or reset your password."
)

func (p *passwordStep) Name() string { return "password" }

// Check: the step is done once someone identified the user (an SSO
// session, this step, or its hand-off to federation).
func (p *passwordStep) Check(ctx context.Context, t *Turn) (Need, error) {
	if t.Flow.UserID != "" {
		return Need{}, nil
	}
	return Need{Page: true, Passive: ErrLoginRequired}, nil
}

// loginPage is the data of login.html.
type loginPage struct {
	Username string
	Locked   bool
}

func (p *passwordStep) render(w http.ResponseWriter, r *http.Request, t *Turn, status int, errText string, d loginPage) {
	t.Render(w, r, status, p, "login", errText, d)
}

func (p *passwordStep) Serve(w http.ResponseWriter, r *http.Request, t *Turn) {
	if r.Method != http.MethodPost {
		p.render(w, r, t, http.StatusOK, "", loginPage{Username: t.Flow.LoginHint})
		return
	}
	ctx := r.Context()
	s := p.s
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	d := loginPage{Username: username}
	switch {
	case username == "":
		p.render(w, r, t, http.StatusBadRequest, "Enter your username (your email address, or username@domain).", d)
		return
	case len(username) > maxUsernameLen:
		d.Username = ""
		p.render(w, r, t, http.StatusBadRequest, "The username is too long: at most 320 characters.", d)
		return
	case len(password) > maxPasswordLen:
		p.render(w, r, t, http.StatusBadRequest, "The password is too long: at most 1024 bytes.", d)
		return
	}

	u, found, err := s.findUser(ctx, username)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	now := s.now()
	if found && u.Active && u.Locked(now) {
		d.Locked = true
		p.render(w, r, t, http.StatusForbidden, textLocked, d)
		return
	}
	if found && u.Active && u.SSO {
		// The partner's connection authenticates this user; the password
		// is not looked at (INTERFACE.md section 5).
		t.SetUser(u)
		t.Next(w, r)
		return
	}
	if !found || !u.Active || u.PasswordHash == "" {
		// Spend the same work as a real check, then say the same thing.
		if _, _, err := s.verify(ctx, s.dummyHash, password); err != nil && ctx.Err() != nil {
			return
		}
		p.render(w, r, t, http.StatusUnauthorized, textWrong, d)
		return
	}

	ok, rehash, err := s.verify(ctx, u.PasswordHash, password)
	if err != nil {
		if ctx.Err() != nil {
			return // the browser went away while queued
		}
		// An unreadable stored hash can never match; say what a wrong
		// password gets and tell the operator.
		s.log.Error("login: stored password hash unreadable", "user", u.ID, "err", err)
	}
	if !ok {
		locked, err := s.countFailure(ctx, u.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if locked {
			d.Locked = true
			p.render(w, r, t, http.StatusForbidden, textLocked, d)
			return
		}
		p.render(w, r, t, http.StatusUnauthorized, textWrong, d)
		return
	}

	if err := s.eph.Delete(ctx, LockoutKey(u.ID)); err != nil {
		s.serverError(w, r, err)
		return
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	t.SetUser(u)
	t.Flow.AMR = []string{"pwd"}
	t.Flow.AuthTime = now
	t.Next(w, r)
}

// findUser resolves what the user typed: an email address, or
// username@domain for a co-managing user of the partner with that domain.
func (s *Service) findUser(ctx context.Context, name string) (storage.User, bool, error) {
	name = strings.ToLower(name)
	at := strings.LastIndexByte(name, '@')
	if at <= 0 || at == len(name)-1 {
		return storage.User{}, false, nil
	}
	u, err := s.dir.GetUserByEmail(ctx, name)
	if err == nil {
		return u, true, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, false, err
	}
	partnerID, ok, err := s.partners.lookup(ctx, name[at+1:])
	if err != nil || !ok {
		return storage.User{}, false, err
	}
	u, err = s.dir.GetUserByUsername(ctx, partnerID, name[:at])
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, false, nil
	}
	if err != nil {
		return storage.User{}, false, err
	}
	return u, true, nil
}

// verify checks a password with at most MaxConcurrentHashes hashes running.
func (s *Service) verify(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	if err := s.acquireHash(ctx); err != nil {
		return false, false, err
	}
	defer s.releaseHash()
	return passwords.Verify(s.cfg.PasswordParams, hash, password)
}

// upgradeHash replaces a weaker or older hash after a successful sign-in,
// unless the password changed meanwhile. Failure only delays the upgrade.
func (s *Service) upgradeHash(ctx context.Context, u storage.User, password string) {
	if err := s.acquireHash(ctx); err != nil {
		return
	}
	hash, err := passwords.Hash(s.cfg.PasswordParams, password)
	s.releaseHash()
	if err != nil {
		s.log.Error("login: rehashing a password", "user", u.ID, "err", err)
		return
	}
	_, err = s.dir.UpdateUser(ctx, u.ID, func(cur storage.User) (storage.User, error) {
		if cur.PasswordHash != u.PasswordHash {
			return cur, errUnchanged
		}
		cur.PasswordHash = hash
		return cur, nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		s.log.Warn("login: storing an upgraded password hash", "user", u.ID, "err", err)
	}
}

var errUnchanged = errors.New("login: nothing to change")

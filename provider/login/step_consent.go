package login

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"gatehouse/storage"
)

// consentStep asks the user to let a relying party that is not first-party
// have the scopes it asked for. The answer is remembered per user and
// client; a later request for no more than the remembered scopes is not
// asked again unless the relying party forces it (prompt=consent).
type consentStep struct{ s *Service }

func (consentStep) Name() string         { return "consent" }
func (consentStep) afterAuthentication() {}

func (consentStep) Check(ctx context.Context, t *Turn) (Need, error) {
	f := t.Flow
	if f.Consent == nil || f.Consented {
		return Need{}, nil
	}
	ask := Need{Page: true, Passive: ErrConsentRequired}
	if f.Consent.Force {
		return ask, nil
	}
	c, err := t.Directory().GetConsent(ctx, f.UserID, f.RP)
	if errors.Is(err, storage.ErrNotFound) {
		return ask, nil
	}
	if err != nil {
		return Need{}, err
	}
	for _, sc := range f.Consent.Scopes {
		if !slices.Contains(c.Scopes, sc) {
			return ask, nil
		}
	}
	f.Consented = true
	return Need{}, nil
}

// consentPage is the data of consent.html.
type consentPage struct {
	Client string
	Scopes []scopeText
}

type scopeText struct{ Name, Text string }

// scopeWords says in words what each scope lets the service have.
var scopeWords = map[string]string{
	"openid":         "Know who you are when you sign in",
	"profile":        "Your name and basic profile",
	"email":          "Your email address",
	"phone":          "Your phone number",
	"roles":          "Your roles, your partner and the organizations you belong to",
	"offline_access": "Keep access while you are not using it (stay signed in)",
	"admin":          "Manage users and settings with your rights",
}

func (st consentStep) Serve(w http.ResponseWriter, r *http.Request, t *Turn) {
	f := t.Flow
	if r.Method == http.MethodPost {
		switch r.PostFormValue("consent") {
		case "allow":
			if err := st.remember(r.Context(), t); err != nil {
				t.Unavailable(w, r, err)
				return
			}
			f.Consented = true
			t.Next(w, r)
			return
		case "deny":
			t.Fail(w, r, ErrAccessDenied, "You did not allow the service access.")
			return
		}
		st.render(w, r, t, http.StatusBadRequest, "Choose Allow or Deny (consent).")
		return
	}
	st.render(w, r, t, http.StatusOK, "")
}

func (consentStep) render(w http.ResponseWriter, r *http.Request, t *Turn, status int, errText string) {
	d := consentPage{Client: t.Flow.RPName}
	if d.Client == "" {
		d.Client = t.Flow.RP
	}
	for _, sc := range t.Flow.Consent.Scopes {
		text, ok := scopeWords[sc]
		if !ok {
			text = "Access named \u201c" + sc + "\u201d"
		}
		d.Scopes = append(d.Scopes, scopeText{Name: sc, Text: text})
	}
	t.Render(w, r, status, consentStep{}, "consent", errText, d)
}

// remember stores the grant, adding to what the user allowed before.
func (consentStep) remember(ctx context.Context, t *Turn) error {
	f := t.Flow
	scopes := slices.Clone(f.Consent.Scopes)
	old, err := t.Directory().GetConsent(ctx, f.UserID, f.RP)
	if err == nil {
		scopes = append(scopes, old.Scopes...)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	slices.Sort(scopes)
	return t.Directory().PutConsent(ctx, storage.Consent{
		UserID:    f.UserID,
		ClientID:  f.RP,
		Scopes:    slices.Compact(scopes),
		GrantedAt: t.Now(),
	})
}

package account

import (
	"net/http"
	"strconv"
	"time"
)

// limit is a counter in the ephemeral store, shared by every node: at most
// max events per window for one key.
type limit struct {
	name   string
	max    int64
	window time.Duration
}

// Per-address and per-account limits. They bound mail sent to any one
// mailbox and guesses at any one form, not legitimate use.
var (
	limitForgot      = limit{"forgot", 5, time.Minute}            // per address
	limitForgotUser  = limit{"forgot-user", 3, time.Hour}         // reset mails per account
	limitInvite      = limit{"invite", 5, time.Hour}              // resend requests per address
	limitInviteUser  = limit{"invite-user", 3, time.Hour}         // invitations resent per account
	limitSetPassword = limit{"setpw", 20, time.Minute}            // set-password posts per address
	limitPassword    = limit{"password", 5, 15 * time.Minute}     // /account changes per account
	limitPasswordIP  = limit{"password-ip", 20, 15 * time.Minute} // /account changes per address
)

// over counts one event under key and reports whether it went past the limit.
func (h *Handler) over(r *http.Request, l limit, key string) (bool, error) {
	n, err := h.eph.Incr(r.Context(), "rl:"+l.name+":"+key, l.window)
	if err != nil {
		return false, err
	}
	return n > l.max, nil
}

// limited counts an event and, past the limit, answers 429 itself.
func (h *Handler) limited(w http.ResponseWriter, r *http.Request, l limit, key string) bool {
	over, err := h.over(r, l, key)
	if err != nil {
		h.serverError(w, r, err)
		return true
	}
	if over {
		tooMany(w, l.window)
		return true
	}
	return false
}

func tooMany(w http.ResponseWriter, window time.Duration) {
	w.Header().Set("Retry-After", retryAfter(window))
	message(w, http.StatusTooManyRequests, "Too many requests",
		"There were too many requests from here. Wait a little and try again.", "", "")
}

func retryAfter(d time.Duration) string {
	s := int(d / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

package storage

import "errors"

var (
	// ErrNotFound is returned when the record asked for does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrAlreadyExists is returned when a create would duplicate a unique key
	// (an id, a user's email, a co-managing username within a partner).
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrConflict is returned when a conditional write lost a race, such as a
	// refresh token that another request already used.
	ErrConflict = errors.New("storage: conflict")
	// ErrUnavailable wraps failures to reach a backend (Redis down, database
	// restarting), so the HTTP layer can answer 503 rather than 500.
	ErrUnavailable = errors.New("storage: backend unavailable")
)

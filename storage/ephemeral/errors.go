package ephemeral

import (
	"errors"
	"fmt"
	"time"
)

// ErrWrongType is returned when an operation meets a key holding the other
// kind of data (a set read as a value, a counter that is not a decimal
// integer). It is a programming error, not an outage, so it does not wrap
// storage.ErrUnavailable.
var ErrWrongType = errors.New("ephemeral: key holds the wrong kind of value")

// checkTTL refuses a missing time to live: the contract is that everything in
// this store expires, and a zero passed by mistake would otherwise keep data
// forever in Redis.
func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("ephemeral: ttl must be positive, got %s", ttl)
	}
	return nil
}

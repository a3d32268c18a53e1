// Package ephemeraltest gives tests of other packages a real ephemeral store
// that cleans up after itself: Memory on the wall clock or an injected one,
// or Redis under a key prefix of its own, deleted when the test ends.
//
// The Redis server is $GATEHOUSE_TEST_REDIS (default
// redis://127.0.0.1:6379/0). When it cannot be reached the test is skipped on
// a workstation and fails under CI=true, so CI never passes by skipping.
package ephemeraltest

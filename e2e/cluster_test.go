package e2e

import "testing"

// TestCluster runs the scale-out scenarios (issue 9) on one cluster of three
// nodes on PostgreSQL and Redis: starting a cluster costs seconds, a
// scenario a fraction of one. Each scenario has a user of its own and
// steers its own requests, so they run in parallel; the key rotation runs
// alone at the end, since it changes what every later token is signed with.
func TestCluster(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3)
	f.signInAdmin(t)

	scenarios := []struct {
		name string
		run  func(*testing.T, *fleet)
	}{
		{"SignInAcrossNodes", clusterSignInAcrossNodes},
		{"RefreshReuseRevokesFamily", clusterRefreshReuse},
		{"RevocationHoldsEverywhere", clusterRevocation},
		{"DeletedUserRefusedEverywhere", clusterDeletedUser},
		{"LogoutEndsSessionEverywhere", clusterLogout},
		{"SecondFactorPauseAcrossNodes", clusterMFAPause},
		{"LockoutAndUnlockAcrossNodes", clusterLockout},
		{"ParallelRefreshOneSuccessor", concurrentRefresh},
		{"ParallelWrongPasswordsLockAtThreshold", concurrentLockout},
		{"ParallelWrongPasswordsBelowThreshold", concurrentBelowThreshold},
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, s := range scenarios {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				s.run(t, f)
			})
		}
	})
	t.Run("KeysRotateReachesEveryNode", func(t *testing.T) { clusterKeysRotate(t, f) })
}

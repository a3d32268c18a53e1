package ephemeral_test

import (
	"testing"

	"gatehouse/storage"
	"gatehouse/storage/conformance"
	"gatehouse/storage/ephemeral/ephemeraltest"
)

func TestMemoryConformance(t *testing.T) {
	conformance.RunEphemeral(t, func(t *testing.T) storage.Ephemeral {
		return ephemeraltest.Memory(t)
	})
}

func TestRedisConformance(t *testing.T) {
	conformance.RunEphemeral(t, func(t *testing.T) storage.Ephemeral {
		return ephemeraltest.Redis(t)
	})
}

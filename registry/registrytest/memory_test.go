package registrytest_test

import (
	"testing"

	"github.com/pushrules/pushrules/registry"
	"github.com/pushrules/pushrules/registry/registrytest"
)

func TestMemoryConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Store {
		return registry.NewMemory()
	})
}

// A Faulty store that injects nothing must be indistinguishable from the
// store it wraps.
func TestFaultyPassThroughConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Store {
		return registrytest.NewFaulty(registry.NewMemory())
	})
}

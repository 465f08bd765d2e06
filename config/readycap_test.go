package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaxReadyAuctions(t *testing.T) {
	c, err := Load(env(nil))
	require.NoError(t, err)
	assert.Equal(t, 100, c.MaxReadyAuctions, "the default")
	c, err = Load(env(map[string]string{"GAVEL_MAX_READY_AUCTIONS": "0"}))
	require.NoError(t, err)
	assert.Equal(t, 0, c.MaxReadyAuctions, "0 turns the cap off")
	for _, bad := range []string{"-1", "many", "1000001"} {
		_, err = Load(env(map[string]string{"GAVEL_MAX_READY_AUCTIONS": bad}))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "GAVEL_MAX_READY_AUCTIONS", bad)
	}
}

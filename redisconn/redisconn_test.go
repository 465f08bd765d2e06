package redisconn

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestURLs(t *testing.T) {
	c, where, err := client("redis://127.0.0.1:6390/3")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:6390", where)
	assert.Equal(t, 3, c.Options().DB)
	_ = c.Close()

	c, where, err = client("redis://127.0.0.1:26390/2?master_name=gavel&addr=127.0.0.1:26391")
	require.NoError(t, err)
	assert.Contains(t, where, `master "gavel"`)
	assert.Contains(t, where, "127.0.0.1:26391")
	assert.Equal(t, 2, c.Options().DB)
	_ = c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = Open(ctx, "redis://127.0.0.1:1/0?master_name=gavel")
	assert.ErrorContains(t, err, `master "gavel"`, "no sentinel answers: the error names the master")
	_, _, err = client("redis://host:notaport/0")
	assert.Error(t, err)
}

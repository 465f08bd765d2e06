package api

import (
	"bytes"
	"encoding/gob"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSessionValuesRoundTrip(t *testing.T) {
	data, err := encodeSession(map[any]any{userIDKey: int64(1)<<53 + 1, "theme": "dark"})
	require.NoError(t, err)
	values, err := decodeSession(data)
	require.NoError(t, err)
	// An int64 beyond float64's precision comes back exact and typed, as sessionUserID needs.
	require.Equal(t, map[any]any{userIDKey: int64(1)<<53 + 1, "theme": "dark"}, values)

	_, err = encodeSession(map[any]any{1: "x"})
	require.Error(t, err)
	_, err = decodeSession([]byte("{not json"))
	require.Error(t, err)
}

// Sessions written with gob by earlier versions stay valid after an upgrade.
func TestSessionValuesFromGob(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(map[any]any{userIDKey: int64(42)}))
	values, err := decodeSession(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, int64(42), values[userIDKey])
}

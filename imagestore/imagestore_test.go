package imagestore

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirRoundTripAndEscapes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	secret := filepath.Join(filepath.Dir(root), "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("secret"), 0o600))
	d, err := NewDir(filepath.Join(root, "images"))
	require.NoError(t, err)

	key, err := d.Put(ctx, "42", bytes.NewReader([]byte("bytes")))
	require.NoError(t, err)
	f, err := d.Open(ctx, key)
	require.NoError(t, err)
	b, _ := io.ReadAll(f)
	f.Close()
	assert.Equal(t, "bytes", string(b))

	for _, bad := range []string{"../secret.txt", "../../secret.txt", "/etc/passwd", "42/../../secret.txt",
		"42/" + filepath.Base(key) + "/..", "", ".", "42\\..\\..\\secret.txt", "42/ABCDEF"} {
		_, err := d.Open(ctx, bad)
		assert.ErrorIs(t, err, ErrNotFound, bad)
		assert.NoError(t, d.Delete(ctx, bad), bad)
	}
	_, err = d.Put(ctx, "../x", bytes.NewReader(nil))
	assert.Error(t, err, "a prefix cannot climb out either")
	_, err = os.Stat(secret)
	assert.NoError(t, err, "nothing outside the store was deleted")

	require.NoError(t, d.Delete(ctx, key))
	_, err = d.Open(ctx, key)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.NoError(t, d.Delete(ctx, key), "deleting twice is fine")
}

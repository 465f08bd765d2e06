// Package imagestore keeps the bytes of uploaded images behind a small interface, so that
// object storage can replace the local directory later.
package imagestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Store keeps image bytes under opaque keys that it makes itself.
type Store interface {
	// Put stores the bytes of r under a new key and returns the key.
	Put(ctx context.Context, prefix string, r io.Reader) (key string, err error)
	// Open returns the bytes under key; ErrNotFound when there are none.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrNotFound is returned for a key with no bytes, and for any key the store did not make.
var ErrNotFound = errors.New("image not found")

// keyPattern is the only shape of key the directory store makes and accepts: no "..",
// no absolute paths, nothing that could leave the directory.
var keyPattern = regexp.MustCompile(`^[a-z0-9]{1,32}/[0-9a-f]{32}$`)

// Dir is a Store in a local directory.
type Dir struct{ root string }

// NewDir opens (and creates) the directory store at root.
func NewDir(root string) (*Dir, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return &Dir{root: abs}, nil
}

func (d *Dir) path(key string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", ErrNotFound
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes r to a temporary file and renames it into place, so a reader never sees a
// half-written image.
func (d *Dir) Put(_ context.Context, prefix string, r io.Reader) (string, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	key := prefix + "/" + hex.EncodeToString(b)
	p, err := d.path(key)
	if err != nil {
		return "", fmt.Errorf("image store: bad prefix %q", prefix)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", err
	}
	return key, nil
}

// Open opens the file under key.
func (d *Dir) Open(_ context.Context, key string) (io.ReadSeekCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete removes the file under key.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

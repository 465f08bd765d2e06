package auction

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/live"
	"github.com/uptrace/bun"
)

// Limits of an auction.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 5000
	MaxStartPrice     = 1_000_000_000_000
	// MaxExtensionSeconds caps soft close's extension_seconds.
	MaxExtensionSeconds = 3600
	MaxDuration         = 30 * 24 * time.Hour
	StartGrace          = 60 * time.Second
	MaxImageSize        = 5 << 20
	MaxImages           = 10
)

// Catalogue errors.
var (
	ErrForbidden        = errors.New("only the seller may change this auction")
	ErrNotEditable      = errors.New("the auction has started and can no longer change")
	ErrImageLimit       = fmt.Errorf("an auction has at most %d images", MaxImages)
	ErrUnsupportedImage = errors.New("the image must be a JPEG, PNG, GIF or WebP file")
	ErrImageTooLarge    = fmt.Errorf("the image is larger than %d bytes", MaxImageSize)
	ErrTooManyAuctions  = errors.New("the seller has as many auctions waiting to start as allowed; delete one or wait for one to start")
)

// AuctionInput is a new auction, or the fields of an edit (nil: unchanged).
type AuctionInput struct {
	Name        *string
	Description *string
	StartPrice  *int64
	StartAt     *time.Time
	EndAt       *time.Time
	// The formats: a nil field is absent; ReservePrice and BuyNowPrice point to nil to clear.
	ReservePrice, BuyNowPrice **int64
	ExtensionSeconds          *int64
}

// Transitions is told when an auction must open and close, so tasks can do it on time;
// the scheduler's batches are the safety net when a task is lost. Cancel withdraws what
// was scheduled for times that no longer hold; a withdrawn task that runs anyway finds
// nothing to do.
type Transitions interface {
	ScheduleOpen(ctx context.Context, auctionID int64, at time.Time) error
	ScheduleClose(ctx context.Context, auctionID int64, at time.Time) error
	Cancel(ctx context.Context, auctionID int64, start, end time.Time)
}

// Catalogue lists, creates and changes auctions and their images.
type Catalogue struct {
	DB          *db.DB
	Images      imagestore.Store
	Transitions Transitions // may be nil
	// Status receives the status event of each auction opened (nil: none is sent).
	Status StatusPublisher
	Log    *slog.Logger
	Now    func() time.Time
	// MaxReady caps the READY auctions, not yet started, that one seller may have
	// (ErrTooManyAuctions beyond); 0: no cap.
	MaxReady int
}

func (c *Catalogue) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// validate checks a's fields after applying an input, as api/openapi.yaml says.
func (c *Catalogue) validate(a *db.Auction, in AuctionInput) error {
	var v validator
	n := utf8.RuneCountInString(a.Name)
	v.check(n >= 1 && n <= MaxNameLen && utf8.ValidString(a.Name), "name", "must be 1 to %d characters", MaxNameLen)
	v.check(utf8.RuneCountInString(a.Description) <= MaxDescriptionLen && utf8.ValidString(a.Description),
		"description", "must be at most %d characters", MaxDescriptionLen)
	v.check(a.StartPrice >= 1 && a.StartPrice <= MaxStartPrice, "start_price", "must be an integer from 1 to %d", int64(MaxStartPrice))
	if in.StartAt != nil {
		v.check(!a.StartAt.Before(c.now().Add(-StartGrace)), "start_at", "must be at most 60 seconds in the past")
	}
	if a.EndAt.After(a.StartAt) {
		v.check(a.EndAt.Sub(a.StartAt) <= MaxDuration, "end_at", "must be at most 30 days after start_at")
	} else {
		v.check(false, "end_at", "must be after start_at")
	}
	if r := a.ReservePrice; r != nil {
		v.check(*r >= a.StartPrice && *r <= MaxStartPrice, "reserve_price", "must be at least start_price and at most %d", int64(MaxStartPrice))
	}
	if b := a.BuyNowPrice; b != nil {
		v.check(*b > a.StartPrice && *b <= MaxStartPrice, "buy_now_price", "must be more than start_price and at most %d", int64(MaxStartPrice))
		if r := a.ReservePrice; r != nil {
			v.check(*b >= *r, "buy_now_price", "must be at least reserve_price")
		}
	}
	v.check(a.ExtensionSeconds >= 0 && a.ExtensionSeconds <= MaxExtensionSeconds, "extension_seconds",
		"must be an integer from 0 to %d", MaxExtensionSeconds)
	return v.err()
}

// Create lists a new auction for the seller.
func (c *Catalogue) Create(ctx context.Context, sellerID int64, in AuctionInput) (*db.AuctionView, error) {
	var v validator
	v.check(in.Name != nil, "name", "is required")
	v.check(in.StartPrice != nil, "start_price", "is required")
	v.check(in.StartAt != nil, "start_at", "is required")
	v.check(in.EndAt != nil, "end_at", "is required")
	if err := v.err(); err != nil {
		return nil, err
	}
	a := &db.Auction{SellerID: sellerID, Status: db.StatusReady}
	apply(a, in)
	if err := c.validate(a, in); err != nil {
		return nil, err
	}
	if c.MaxReady <= 0 {
		if err := db.InsertAuction(ctx, c.DB, a); err != nil {
			return nil, fmt.Errorf("create auction: %w", err)
		}
	} else {
		err := c.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
			// The seller's lock (BEGIN IMMEDIATE on SQLite) makes the count and the insert
			// one step, so concurrent creations cannot pass the cap together.
			if err := db.LockSellerListings(ctx, tx, sellerID); err != nil {
				return err
			}
			n, err := db.CountReadyAuctions(ctx, tx, sellerID)
			if err != nil {
				return err
			}
			if n >= int64(c.MaxReady) {
				return ErrTooManyAuctions
			}
			return db.InsertAuction(ctx, tx, a)
		})
		if errors.Is(err, ErrTooManyAuctions) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("create auction: %w", err)
		}
	}
	c.schedule(ctx, a)
	return c.Get(ctx, a.ID, sellerID)
}

func apply(a *db.Auction, in AuctionInput) {
	if in.Name != nil {
		a.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.StartPrice != nil {
		a.StartPrice, a.CurrentPrice = *in.StartPrice, *in.StartPrice
	}
	if in.StartAt != nil {
		a.StartAt = in.StartAt.UTC().Truncate(time.Microsecond)
	}
	if in.EndAt != nil {
		a.EndAt = in.EndAt.UTC().Truncate(time.Microsecond)
	}
	end := a.EndAt
	a.OriginalEndAt = &end // READY: the end has never moved
	if in.ReservePrice != nil {
		a.ReservePrice = *in.ReservePrice
	}
	if in.BuyNowPrice != nil {
		a.BuyNowPrice = *in.BuyNowPrice
	}
	if in.ExtensionSeconds != nil {
		a.ExtensionSeconds = *in.ExtensionSeconds
	}
}

// Get returns the auction as viewerID (0: anonymous) sees it.
func (c *Catalogue) Get(ctx context.Context, id, viewerID int64) (*db.AuctionView, error) {
	v, err := db.AuctionViewByID(ctx, c.DB, id, viewerID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNotFound
	}
	return v, err
}

// editable loads the auction and says why the seller may not change it, if they may not.
func (c *Catalogue) editable(ctx context.Context, idb bun.IDB, id, sellerID int64, lock bool) (*db.Auction, error) {
	a, err := db.AuctionByID(ctx, idb, id, lock)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if a.SellerID != sellerID {
		return nil, ErrForbidden
	}
	ok, err := db.Editable(ctx, idb, a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotEditable
	}
	return a, nil
}

// Update edits the seller's auction while it is READY. The write itself re-checks the
// seller, the status and the start, so an edit racing the start cannot land after it.
func (c *Catalogue) Update(ctx context.Context, id, sellerID int64, in AuctionInput) (*db.AuctionView, error) {
	a, err := c.editable(ctx, c.DB, id, sellerID, false)
	if err != nil {
		return nil, err
	}
	oldStart, oldEnd := a.StartAt, a.EndAt
	apply(a, in)
	if err := c.validate(a, in); err != nil {
		return nil, err
	}
	if err := db.UpdateAuctionIfEditable(ctx, c.DB, a); err != nil {
		if errors.Is(err, db.ErrNotEditable) {
			return nil, ErrNotEditable
		}
		return nil, err
	}
	if c.Transitions != nil && (!a.StartAt.Equal(oldStart) || !a.EndAt.Equal(oldEnd)) {
		c.Transitions.Cancel(ctx, a.ID, oldStart, oldEnd)
		c.schedule(ctx, a)
	}
	return c.Get(ctx, id, sellerID)
}

// Delete removes the seller's auction while it is READY, and its images.
func (c *Catalogue) Delete(ctx context.Context, id, sellerID int64) error {
	a, err := c.editable(ctx, c.DB, id, sellerID, false)
	if err != nil {
		return err
	}
	var keys []string
	err = c.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		keys, err = db.DeleteAuctionIfEditable(ctx, tx, id, sellerID)
		return err
	})
	if errors.Is(err, db.ErrNotEditable) {
		return ErrNotEditable
	}
	if err != nil {
		return err
	}
	if c.Transitions != nil {
		c.Transitions.Cancel(ctx, id, a.StartAt, a.EndAt)
	}
	c.deleteFiles(ctx, keys)
	return nil
}

// List returns a page of auctions.
func (c *Catalogue) List(ctx context.Context, f db.ListFilter) ([]db.AuctionSummary, error) {
	return db.ListAuctions(ctx, c.DB, f)
}

// AddImage stores an image for the seller's auction. Its type is decided from its bytes,
// which are decoded and re-encoded (CleanImage): what is stored, and its size, are the
// re-encoded image's.
func (c *Catalogue) AddImage(ctx context.Context, auctionID, sellerID int64, r io.Reader) (*db.AuctionImage, error) {
	if _, err := c.editable(ctx, c.DB, auctionID, sellerID, false); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxImageSize+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if len(data) > MaxImageSize {
		return nil, ErrImageTooLarge
	}
	data, contentType, err := CleanImage(ctx, data)
	if err != nil {
		return nil, err
	}
	key, err := c.Images.Put(ctx, strconv.FormatInt(auctionID, 10), bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("store image: %w", err)
	}
	sum := sha256.Sum256(data)
	img := &db.AuctionImage{AuctionID: auctionID, StorageKey: key, ContentType: contentType,
		Size: int64(len(data)), ETag: hex.EncodeToString(sum[:])}
	err = c.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		// The lock (BEGIN IMMEDIATE on SQLite) makes the count and the insert one step,
		// so concurrent uploads cannot pass the limit together.
		if _, err := c.editable(ctx, tx, auctionID, sellerID, true); err != nil {
			return err
		}
		n, err := db.CountImages(ctx, tx, auctionID)
		if err != nil {
			return err
		}
		if n >= MaxImages {
			return ErrImageLimit
		}
		if err := db.InsertImage(ctx, tx, img); err != nil {
			return err
		}
		return db.RefreshThumbnail(ctx, tx, auctionID)
	})
	if err != nil {
		c.deleteFiles(ctx, []string{key})
		return nil, err
	}
	return img, nil
}

// DeleteImage removes an image of the seller's auction while it is READY.
func (c *Catalogue) DeleteImage(ctx context.Context, auctionID, imageID, sellerID int64) error {
	var key string
	err := c.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := c.editable(ctx, tx, auctionID, sellerID, true); err != nil {
			return err
		}
		img, err := db.ImageByID(ctx, tx, imageID)
		if errors.Is(err, db.ErrNotFound) || (err == nil && img.AuctionID != auctionID) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		key = img.StorageKey
		if err := db.DeleteImage(ctx, tx, imageID); err != nil {
			return err
		}
		return db.RefreshThumbnail(ctx, tx, auctionID)
	})
	if err != nil {
		return err
	}
	c.deleteFiles(ctx, []string{key})
	return nil
}

// Image returns an image's row and bytes.
func (c *Catalogue) Image(ctx context.Context, id int64) (*db.AuctionImage, io.ReadSeekCloser, error) {
	img, err := db.ImageByID(ctx, c.DB, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := c.Images.Open(ctx, img.StorageKey)
	if errors.Is(err, imagestore.ErrNotFound) {
		return nil, nil, ErrNotFound
	}
	return img, f, err
}

// StatusPublisher sends an auction's status events to the live streams.
type StatusPublisher interface {
	PublishStatus(ctx context.Context, e live.StatusEvent) error
}

// OpenDue opens every READY auction whose start has come; the scheduler's safety net.
func (c *Catalogue) OpenDue(ctx context.Context, chunk int) (int64, error) {
	var total int64
	for {
		opened, err := db.OpenDueAuctionsReturning(ctx, c.DB, int64(chunk))
		total += int64(len(opened))
		c.publishOpened(ctx, opened...)
		if err != nil || len(opened) < chunk {
			return total, err
		}
	}
}

// Open opens one auction if its start has come; the task scheduled at its start.
func (c *Catalogue) Open(ctx context.Context, id int64) (bool, error) {
	o, err := db.OpenAuctionReturning(ctx, c.DB, id)
	if o != nil {
		c.publishOpened(ctx, *o)
	}
	return o != nil, err
}

// publishOpened sends the PENDING status event of auctions just opened. A lost event is
// no loss of state: a new stream starts from the database's.
func (c *Catalogue) publishOpened(ctx context.Context, opened ...db.Opened) {
	if c.Status == nil {
		return
	}
	for _, o := range opened {
		err := c.Status.PublishStatus(ctx, live.StatusEvent{AuctionID: o.ID, Status: db.StatusPending, EndAt: live.Timestamp(o.EndAt)})
		if err != nil && c.Log != nil {
			c.Log.Warn("publish auction opened", "auction_id", o.ID, "err", err)
		}
	}
}

func (c *Catalogue) schedule(ctx context.Context, a *db.Auction) {
	if c.Transitions == nil {
		return
	}
	// A lost task is no loss: the scheduler's batches open and close it anyway.
	if err := c.Transitions.ScheduleOpen(ctx, a.ID, a.StartAt); err != nil && c.Log != nil {
		c.Log.Warn("schedule auction open", "auction_id", a.ID, "err", err)
	}
	if err := c.Transitions.ScheduleClose(ctx, a.ID, a.EndAt); err != nil && c.Log != nil {
		c.Log.Warn("schedule auction close", "auction_id", a.ID, "err", err)
	}
}

// deleteFiles deletes the files of keys that no image row names any more.
func (c *Catalogue) deleteFiles(ctx context.Context, keys []string) {
	for _, k := range keys {
		if used, err := db.ImageKeyInUse(ctx, c.DB, k); err != nil || used {
			continue
		}
		if err := c.Images.Delete(ctx, k); err != nil && c.Log != nil {
			c.Log.Warn("delete image file", "key", k, "err", err)
		}
	}
}

// SniffImage returns the content type of a JPEG, PNG, GIF or WebP from its first bytes,
// or "" for anything else.
func SniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "image/webp"
	}
	return ""
}

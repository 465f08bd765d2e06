// Package seed loads realistic demo and benchmark data: users, auctions in every status
// with their times, and image rows, fast enough for a million auctions.
package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/imagestore"
	"github.com/gavelhq/gavel/search"
)

// Options say how much to load.
type Options struct {
	Auctions int64
	Users    int64
	// ImagesPerAuction is the average number of image rows per auction (0..4 each).
	ImagesPerAuction float64
	// Seed makes the data repeatable.
	Seed uint64
	// Password is every seeded user's password.
	Password string
	// Points is what every seeded user holds to bid with (a charge in the ledger);
	// negative: none. 0 means DefaultPoints.
	Points int64
}

// DefaultPoints is what each seeded user gets unless Options.Points says otherwise.
const DefaultPoints = 100_000

// Email is the e-mail of the seeded user with the given ID: predictable, so that the
// people trying the demo can log in.
func Email(userID int64) string { return fmt.Sprintf("seed-%d@example.com", userID) }

// Result says what was loaded.
type Result struct {
	Users, Auctions, Images int64
	// FirstUserID and LastUserID bound the IDs of the users loaded (see Email).
	FirstUserID, LastUserID int64
	// Points is what each of them holds.
	Points int64
	Took   time.Duration
}

// demoImages is how many distinct image files the image rows share.
const demoImages = 12

// Run loads the data. It appends to what is there: users, auctions and images take ids
// after the largest existing ones, and users' e-mails follow from their ids (Email).
func Run(ctx context.Context, log *slog.Logger, d *db.DB, store imagestore.Store, o Options) (Result, error) {
	start := time.Now()
	if o.Users <= 0 {
		o.Users = max(10, o.Auctions/1000)
	}
	if o.Password == "" {
		o.Password = "gavel-demo"
	}
	if o.Points == 0 {
		o.Points = DefaultPoints
	}
	o.Points = max(o.Points, 0)
	files, err := demoFiles(ctx, store)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = d.Load(ctx, func(ctx context.Context, l *db.Loader) error {
		l.Progress = func(table string, n int64) {
			if n == 0 {
				log.Info("seed: " + table)
			} else if n%200_000 == 0 {
				log.Info("seed: loading", "table", table, "rows", n, "elapsed", time.Since(start).Round(100*time.Millisecond))
			}
		}
		var err error
		res, err = load(ctx, l, files, o)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	log.Info("seed: analyzing", "elapsed", time.Since(start).Round(100*time.Millisecond))
	// The auctions, their words and the words' completions are what every list reads:
	// vacuum them (their index-only scans then skip the heap); statistics suffice for the
	// rest.
	if err := d.Vacuum(ctx, "auctions", "auction_words", "search_terms"); err != nil {
		return res, err
	}
	if err := d.Analyze(ctx, "users", "auction_images"); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	return res, nil
}

func load(ctx context.Context, l *db.Loader, files []demoFile, o Options) (Result, error) {
	var res Result
	rng := rand.New(rand.NewPCG(o.Seed, uint64(time.Now().UnixNano())))
	now := time.Now().UTC()
	var bases [4]int64
	if err := l.DeferIndexes(ctx, "auction_words"); err != nil {
		return res, err
	}
	for i, t := range []string{"users", "auctions", "auction_images", "point_ledger"} {
		var err error
		if bases[i], err = l.MaxID(ctx, t); err != nil {
			return res, err
		}
		if t == "point_ledger" {
			continue // one row per user: not worth rebuilding its indexes
		}
		if err := l.DeferIndexes(ctx, t); err != nil {
			return res, err
		}
	}
	userBase, auctionBase, imageBase, ledgerBase := bases[0], bases[1], bases[2], bases[3]

	hash := auction.HashPassword(o.Password)
	var k int64
	var err error
	res.Users, err = l.Copy(ctx, "users",
		[]string{"id", "email", "email_key", "password_hash", "nickname", "birth_date", "gender", "role",
			"points_available", "points_held", "created_at", "updated_at"},
		func() ([]any, bool) {
			if k == o.Users {
				return nil, false
			}
			k++
			email := Email(userBase + k)
			birth := time.Date(1950+rng.IntN(58), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
			return []any{userBase + k, email, email, hash, nicknames[rng.IntN(len(nicknames))], birth,
				auction.Genders[rng.IntN(len(auction.Genders))], "user", o.Points, int64(0), now, now}, true
		})
	if err != nil {
		return res, err
	}
	res.FirstUserID, res.LastUserID, res.Points = userBase+1, userBase+res.Users, o.Points
	// Each user's points come from a charge in the ledger, as if they had bought them.
	if o.Points > 0 {
		k = 0
		_, err = l.Copy(ctx, "point_ledger", []string{"id", "user_id", "kind", "delta", "held_delta", "created_at"},
			func() ([]any, bool) {
				if k == res.Users {
					return nil, false
				}
				k++
				return []any{ledgerBase + k, userBase + k, db.KindCharge, o.Points, int64(0), now}, true
			})
		if err != nil {
			return res, err
		}
	}

	// Image rows are made with their auctions and loaded after them (they reference them).
	type imageRow struct{ id, auctionID int64 }
	var images []imageRow
	var a int64
	res.Auctions, err = l.Copy(ctx, "auctions",
		[]string{"id", "seller_id", "name", "description", "start_price", "current_price", "status",
			"start_at", "end_at", "bid_count", "like_count", "subscriber_count", "thumbnail_id", "created_at", "updated_at", "search_words", "search_sig"},
		func() ([]any, bool) {
			if a == o.Auctions {
				return nil, false
			}
			a++
			id := auctionBase + a
			status, startAt, endAt, createdAt := times(rng, now)
			price := int64(math.Round(10 * math.Pow(10, rng.Float64()*4)))
			var thumbnail any // the first image, or NULL
			for n := rng.IntN(int(2*o.ImagesPerAuction) + 1); n > 0; n-- {
				img := imageRow{imageBase + int64(len(images)) + 1, id}
				if thumbnail == nil {
					thumbnail = img.id
				}
				images = append(images, img)
			}
			likes := int64(0)
			if rng.IntN(3) == 0 {
				likes = int64(rng.ExpFloat64() * 20)
			}
			n := name(rng)
			return []any{id, userBase + 1 + rng.Int64N(o.Users), n, description(rng), price, price, status,
				startAt, endAt, int64(0), likes, int64(0), thumbnail, createdAt, createdAt, search.Index(n), search.Signature(n)}, true
		})
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := l.IndexAuctionWords(ctx, auctionBase); err != nil {
		return res, err
	}
	if l.Progress != nil {
		l.Progress("auction_words: indexed in "+time.Since(start).Round(time.Millisecond).String(), 0)
	}
	var i int
	res.Images, err = l.Copy(ctx, "auction_images",
		[]string{"id", "auction_id", "storage_key", "content_type", "size", "etag", "created_at"},
		func() ([]any, bool) {
			if i == len(images) {
				return nil, false
			}
			img, f := images[i], files[i%len(files)]
			i++
			return []any{img.id, img.auctionID, f.key, "image/png", f.size, f.etag, now}, true
		})
	if err != nil {
		return res, err
	}
	for _, t := range []string{"users", "auctions", "auction_images", "point_ledger"} {
		if err := l.SyncIDSequence(ctx, t); err != nil {
			return res, err
		}
	}
	return res, nil
}

// times picks a status and times that agree with it and with now.
func times(rng *rand.Rand, now time.Time) (status string, startAt, endAt, createdAt time.Time) {
	span := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }
	switch r := rng.IntN(100); {
	case r < 45:
		endAt = now.Add(-span(time.Minute, 30*24*time.Hour))
		startAt = endAt.Add(-span(time.Hour, 7*24*time.Hour))
		status = db.StatusDone
	case r < 80:
		startAt = now.Add(-span(time.Minute, 10*24*time.Hour))
		endAt = now.Add(span(time.Hour, 10*24*time.Hour))
		status = db.StatusPending
	default:
		startAt = now.Add(span(time.Hour, 7*24*time.Hour))
		endAt = startAt.Add(span(time.Hour, 10*24*time.Hour))
		status = db.StatusReady
	}
	createdAt = startAt.Add(-span(time.Minute, 2*24*time.Hour))
	if createdAt.After(now) {
		createdAt = now.Add(-span(time.Second, time.Hour))
	}
	return status, startAt.Truncate(time.Microsecond), endAt.Truncate(time.Microsecond), createdAt.Truncate(time.Microsecond)
}

func name(rng *rand.Rand) string {
	switch k := rng.IntN(20); {
	case k < 2: // one in ten Korean
		return koreanAdjectives[rng.IntN(len(koreanAdjectives))] + " " + koreanNouns[rng.IntN(len(koreanNouns))]
	case k == 2: // one in twenty with an accented Latin word first
		return accentedAdjectives[rng.IntN(len(accentedAdjectives))] + " " + nouns[rng.IntN(len(nouns))]
	}
	n := adjectives[rng.IntN(len(adjectives))] + " " + nouns[rng.IntN(len(nouns))]
	if q := qualifiers[rng.IntN(len(qualifiers))]; q != "" {
		n += " " + q
	}
	return n
}

func description(rng *rand.Rand) string {
	var b strings.Builder
	for i := 1 + rng.IntN(3); i > 0; i-- {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(descriptionLines[rng.IntN(len(descriptionLines))])
	}
	return b.String()
}

type demoFile struct {
	key, etag string
	size      int64
}

// demoFiles stores a few small PNGs that the seeded image rows share.
func demoFiles(ctx context.Context, store imagestore.Store) ([]demoFile, error) {
	var out []demoFile
	for i := range demoImages {
		img := image.NewRGBA(image.Rect(0, 0, 64, 64))
		hue := float64(i) / demoImages
		for y := range 64 {
			for x := range 64 {
				img.Set(x, y, color.RGBA{uint8(255 * hue), uint8(4 * x), uint8(4 * y), 255})
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, err
		}
		key, err := store.Put(ctx, "seed", bytes.NewReader(buf.Bytes()))
		if err != nil {
			return nil, fmt.Errorf("seed images: %w", err)
		}
		sum := sha256.Sum256(buf.Bytes())
		out = append(out, demoFile{key: key, etag: hex.EncodeToString(sum[:]), size: int64(buf.Len())})
	}
	return out, nil
}

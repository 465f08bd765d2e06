package db

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gavelhq/gavel/search"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// ErrNotEditable is returned when a conditional write finds the auction started, or not
// the caller's.
var ErrNotEditable = fmt.Errorf("auction not editable")

// now is the database's clock in a statement: PostgreSQL's statement time, or the
// process's clock for SQLite, which runs in the process.
func now(idb bun.IDB) any {
	if idb.Dialect().Name() == dialect.PG {
		return bun.Safe("statement_timestamp()")
	}
	return time.Now().UTC()
}

// Now reads the database's clock.
func Now(ctx context.Context, idb bun.IDB) (time.Time, error) {
	if idb.Dialect().Name() != dialect.PG {
		return time.Now().UTC(), nil
	}
	var t time.Time
	err := idb.NewRaw("SELECT statement_timestamp()").Scan(ctx, &t)
	return t.UTC(), err
}

// indexName writes the search fields of the auction's name, which every write of a name
// must write with it.
func (a *Auction) indexName() {
	a.SearchWords, a.SearchSig = search.Index(a.Name), search.Signature(a.Name)
}

// InsertAuction inserts a and sets its ID and times.
func InsertAuction(ctx context.Context, idb bun.IDB, a *Auction) error {
	t := time.Now().UTC().Truncate(time.Microsecond)
	a.CreatedAt, a.UpdatedAt = t, t
	a.indexName()
	if _, err := idb.NewInsert().Model(a).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("insert auction: %w", err)
	}
	return indexAuctionWords(ctx, idb, a.ID, a.SearchWords)
}

// sellerListingsLock is the first key of the PostgreSQL advisory locks that serialise one
// seller's auction creations (the second is the seller's ID).
const sellerListingsLock = 0x6761766c

// LockSellerListings takes, for the rest of the transaction, the lock that serialises the
// seller's auction creations (PostgreSQL; SQLite's transactions already hold the write lock).
func LockSellerListings(ctx context.Context, tx bun.Tx, sellerID int64) error {
	if tx.Dialect().Name() != dialect.PG {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, ?)", sellerListingsLock, int32(sellerID))
	return err
}

// CountReadyAuctions counts the seller's auctions that are READY and not yet started by
// the database's clock.
func CountReadyAuctions(ctx context.Context, idb bun.IDB, sellerID int64) (int64, error) {
	n, err := idb.NewSelect().Model((*Auction)(nil)).
		Where("a.seller_id = ? AND a.status = ? AND a.start_at > ?", sellerID, StatusReady, now(idb)).
		Count(ctx)
	return int64(n), err
}

// AuctionByID reads an auction, locking its row when lock is set (PostgreSQL; SQLite's
// transactions already hold the write lock).
func AuctionByID(ctx context.Context, idb bun.IDB, id int64, lock bool) (*Auction, error) {
	a := new(Auction)
	q := idb.NewSelect().Model(a).Where("a.id = ?", id)
	if lock && idb.Dialect().Name() == dialect.PG {
		// NO KEY UPDATE: it does not wait for the KEY SHARE locks that placing a bid takes
		// on the auction, so accepting bids never blocks deciding them.
		q = q.For(LockDecide)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return a, nil
}

// AuctionViewByID reads an auction with its seller, leading bid, images and whether
// viewerID (0: nobody) likes and follows it.
func AuctionViewByID(ctx context.Context, idb bun.IDB, id, viewerID int64) (*AuctionView, error) {
	v := new(AuctionView)
	err := idb.NewSelect().Model(&v.Auction).
		ColumnExpr("a.*").
		ColumnExpr("s.nickname AS seller_nickname").
		ColumnExpr("b.amount AS leading_amount, b.status AS leading_status, bu.nickname AS leading_nickname").
		ColumnExpr("EXISTS (SELECT 1 FROM likes AS l WHERE l.auction_id = a.id AND l.user_id = ?) AS liked_by_viewer", viewerID).
		ColumnExpr("EXISTS (SELECT 1 FROM subscriptions AS su WHERE su.auction_id = a.id AND su.user_id = ?) AS subscribed_by_viewer", viewerID).
		Join("JOIN users AS s ON s.id = a.seller_id").
		Join("LEFT JOIN bids AS b ON b.id = a.leading_bid_id").
		Join("LEFT JOIN users AS bu ON bu.id = b.bidder_id").
		Where("a.id = ?", id).
		Scan(ctx, v)
	if err != nil {
		return nil, notFound(err)
	}
	if v.Images, err = AuctionImages(ctx, idb, id); err != nil {
		return nil, err
	}
	return v, nil
}

// UpdateAuctionIfEditable writes a's editable fields only while the auction is the
// seller's, READY and not yet started by the database's clock, all in the one statement
// that writes, so an edit racing the start cannot slip through. It returns ErrNotEditable
// when the conditions do not hold.
func UpdateAuctionIfEditable(ctx context.Context, idb bun.IDB, a *Auction) error {
	a.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	a.indexName()
	res, err := idb.NewUpdate().Model(a).
		Column("name", "description", "start_price", "current_price", "start_at", "end_at", "updated_at",
			"reserve_price", "buy_now_price", "extension_seconds", "original_end_at", "search_words", "search_sig").
		Where("a.id = ? AND a.seller_id = ? AND a.status = ? AND a.start_at > ?", a.ID, a.SellerID, StatusReady, now(idb)).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("update auction: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotEditable
	}
	return indexAuctionWords(ctx, idb, a.ID, a.SearchWords)
}

// DeleteAuctionIfEditable deletes the auction under the same conditions as an edit and
// returns the storage keys of its images.
func DeleteAuctionIfEditable(ctx context.Context, idb bun.IDB, id, sellerID int64) ([]string, error) {
	var keys []string
	if err := idb.NewSelect().Model((*AuctionImage)(nil)).Column("storage_key").
		Where("auction_id = ?", id).Scan(ctx, &keys); err != nil {
		return nil, fmt.Errorf("delete auction: %w", err)
	}
	res, err := idb.NewDelete().Model((*Auction)(nil)).
		Where("a.id = ? AND a.seller_id = ? AND a.status = ? AND a.start_at > ?", id, sellerID, StatusReady, now(idb)).
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("delete auction: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrNotEditable
	}
	return keys, nil
}

// Editable reports whether the auction may still change by the database's clock.
func Editable(ctx context.Context, idb bun.IDB, a *Auction) (bool, error) {
	t, err := Now(ctx, idb)
	return a.Status == StatusReady && a.StartAt.After(t), err
}

// OpenDueAuctions moves READY auctions whose start has come to PENDING, at most limit of
// them, and returns how many it moved.
func OpenDueAuctions(ctx context.Context, idb bun.IDB, limit int64) (int64, error) {
	opened, err := OpenDueAuctionsReturning(ctx, idb, limit)
	return int64(len(opened)), err
}

// Opened is an auction that was just opened, for its status event.
type Opened struct {
	ID    int64     `bun:"id"`
	EndAt time.Time `bun:"end_at"`
}

// OpenDueAuctionsReturning is OpenDueAuctions, returning the auctions it opened.
func OpenDueAuctionsReturning(ctx context.Context, idb bun.IDB, limit int64) ([]Opened, error) {
	ids := idb.NewSelect().Model((*Auction)(nil)).Column("a.id").
		Where("a.status = ? AND a.start_at <= ?", StatusReady, now(idb)).OrderExpr("a.start_at").Limit(limit)
	if idb.Dialect().Name() == dialect.PG {
		ids = ids.For("UPDATE SKIP LOCKED") // a second scheduler takes the next chunk instead
	}
	var opened []Opened
	_, err := idb.NewUpdate().Model((*Auction)(nil)).
		Set("status = ?", StatusPending).Set("updated_at = ?", time.Now().UTC()).
		Where("a.id IN (?)", ids).Where("a.status = ?", StatusReady).
		Returning("id, end_at").
		Exec(ctx, &opened)
	if err != nil {
		return nil, fmt.Errorf("open due auctions: %w", err)
	}
	return opened, nil
}

// OpenAuction moves one auction to PENDING if it is READY and its start has come.
func OpenAuction(ctx context.Context, idb bun.IDB, id int64) (bool, error) {
	o, err := OpenAuctionReturning(ctx, idb, id)
	return o != nil, err
}

// OpenAuctionReturning is OpenAuction, returning the auction it opened (nil: none).
func OpenAuctionReturning(ctx context.Context, idb bun.IDB, id int64) (*Opened, error) {
	var opened []Opened
	_, err := idb.NewUpdate().Model((*Auction)(nil)).
		Set("status = ?", StatusPending).Set("updated_at = ?", time.Now().UTC()).
		Where("a.id = ? AND a.status = ? AND a.start_at <= ?", id, StatusReady, now(idb)).
		Returning("id, end_at").
		Exec(ctx, &opened)
	if err != nil {
		return nil, fmt.Errorf("open auction: %w", err)
	}
	if len(opened) == 0 {
		return nil, nil
	}
	return &opened[0], nil
}

// AuctionImages lists an auction's images in upload order.
func AuctionImages(ctx context.Context, idb bun.IDB, auctionID int64) ([]AuctionImage, error) {
	var imgs []AuctionImage
	err := idb.NewSelect().Model(&imgs).Where("auction_id = ?", auctionID).OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("auction images: %w", err)
	}
	return imgs, nil
}

// CountImages counts an auction's images.
func CountImages(ctx context.Context, idb bun.IDB, auctionID int64) (int64, error) {
	return idb.NewSelect().Model((*AuctionImage)(nil)).Where("auction_id = ?", auctionID).Count(ctx)
}

// InsertImage records an uploaded image.
func InsertImage(ctx context.Context, idb bun.IDB, img *AuctionImage) error {
	img.CreatedAt = time.Now().UTC()
	if _, err := idb.NewInsert().Model(img).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("insert image: %w", err)
	}
	return nil
}

// RefreshThumbnail points the auction's thumbnail at its first image, or at none; the
// writes that add or delete an image call it in their transaction.
func RefreshThumbnail(ctx context.Context, idb bun.IDB, auctionID int64) error {
	_, err := idb.NewUpdate().Model((*Auction)(nil)).
		Set("thumbnail_id = (SELECT MIN(i.id) FROM auction_images AS i WHERE i.auction_id = ?)", auctionID).
		Where("a.id = ?", auctionID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("refresh thumbnail: %w", err)
	}
	return nil
}

// ImageByID reads an image's row.
func ImageByID(ctx context.Context, idb bun.IDB, id int64) (*AuctionImage, error) {
	img := new(AuctionImage)
	if err := idb.NewSelect().Model(img).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return img, nil
}

// DeleteImage deletes an image's row.
func DeleteImage(ctx context.Context, idb bun.IDB, id int64) error {
	_, err := idb.NewDelete().Model((*AuctionImage)(nil)).Where("id = ?", id).Exec(ctx)
	return err
}

// List sorts.
const (
	SortNewest     = "newest"
	SortEndingSoon = "ending_soon"
	SortPriceAsc   = "price_asc"
	SortPriceDesc  = "price_desc"
	SortMostBids   = "most_bids"
	SortPopular    = "popular"
)

// ListPosition is where a page starts: just after the item with these sort keys.
type ListPosition struct {
	Time time.Time `json:"t,omitzero"`
	N    int64     `json:"n,omitempty"`
	ID   int64     `json:"i"`
}

// ListFilter selects and orders auctions.
type ListFilter struct {
	Status   string
	Q        string
	MinPrice *int64
	MaxPrice *int64
	SellerID int64
	// SubscriberID keeps the auctions that user subscribes to.
	SubscriberID int64
	Sort         string
	After        *ListPosition
	Limit        int64
}

// PositionOf is the position just after s in the sort.
func PositionOf(sort string, s AuctionSummary) ListPosition {
	switch sort {
	case SortEndingSoon:
		return ListPosition{Time: s.EndAt, ID: s.ID}
	case SortPriceAsc, SortPriceDesc:
		return ListPosition{N: s.CurrentPrice, ID: s.ID}
	case SortMostBids:
		return ListPosition{N: s.BidCount, ID: s.ID}
	case SortPopular:
		return ListPosition{N: s.LikeCount, ID: s.ID}
	default:
		return ListPosition{Time: s.CreatedAt, ID: s.ID}
	}
}

// sortAscending reports whether the sort orders by its key ascending (ending_soon,
// price_asc); ties go by ID in the same direction, so that one index read forward or
// backward serves a key's two sorts.
func sortAscending(sort string) bool { return sort == SortEndingSoon || sort == SortPriceAsc }

// ListAuctions returns one page of auctions in one query, each with its first image (kept
// on the auction row), as a keyset scan from f.After along the index of the sort; a search
// (f.Q) reads the word index instead (see listSearch).
func ListAuctions(ctx context.Context, idb bun.IDB, f ListFilter) ([]AuctionSummary, error) {
	if f.Q != "" {
		return listSearch(ctx, idb, f)
	}
	var out []AuctionSummary
	var q listSQL
	if err := scanRead(ctx, idb, q.auctions(nil, f), q.args, &out); err != nil {
		return nil, fmt.Errorf("list auctions: %w", err)
	}
	return out, nil
}

// summaryColumns are the columns of an AuctionSummary, from auctions (alias a) or from
// auction_words (alias w), which copies them.
func summaryColumns(alias, id string) string {
	cols := []string{id}
	for _, c := range summaryNames[1:] {
		cols = append(cols, alias+"."+c)
	}
	return strings.Join(cols, ", ")
}

// sortKey is the column a sort orders by (then by ID).
func sortKey(sort string) string {
	switch sort {
	case SortEndingSoon:
		return "end_at"
	case SortPriceAsc, SortPriceDesc:
		return "current_price"
	case SortMostBids:
		return "bid_count"
	case SortPopular:
		return "like_count"
	}
	return "created_at"
}

// listSQL builds the statement of a list read: its text, with ? for each argument, and
// its arguments in the order of the text (scanRead runs it).
type listSQL struct {
	args []any
}

// arg adds an argument and returns its placeholder.
func (s *listSQL) arg(v any) string {
	s.args = append(s.args, v)
	return "?"
}

// auctions is a page of f read from auctions (alias a), also kept by conds.
func (s *listSQL) auctions(conds []string, f ListFilter) string {
	return s.page(summaryColumns("a", "a.id"), "auctions AS a", "a", "a.id", conds, f)
}

// page is "SELECT cols FROM from" kept by conds and f's filters, from the keyset of
// f.After, in the order of f's sort, at most f.Limit rows. from has the summary columns
// under alias and the auction's ID as id. The arguments of from and conds must be added
// before page is called, in the order of their text; conds are joined by AND as they are,
// so one with an OR must bracket it.
func (s *listSQL) page(cols, from, alias, id string, conds []string, f ListFilter) string {
	col := func(c string) string { return alias + "." + c }
	conds = slices.Clone(conds)
	if f.Status != "" {
		conds = append(conds, col("status")+" = "+s.arg(f.Status))
	}
	if f.SellerID != 0 {
		conds = append(conds, col("seller_id")+" = "+s.arg(f.SellerID))
	}
	if f.SubscriberID != 0 {
		conds = append(conds, id+" IN (SELECT s.auction_id FROM subscriptions AS s WHERE s.user_id = "+s.arg(f.SubscriberID)+")")
	}
	if f.MinPrice != nil {
		conds = append(conds, col("current_price")+" >= "+s.arg(*f.MinPrice))
	}
	if f.MaxPrice != nil {
		conds = append(conds, col("current_price")+" <= "+s.arg(*f.MaxPrice))
	}
	key := col(sortKey(f.Sort))
	op, dir := "<", " DESC"
	if sortAscending(f.Sort) {
		op, dir = ">", " ASC"
	}
	if p := f.After; p != nil {
		var after any = p.N
		if strings.HasSuffix(key, "_at") {
			after = p.Time.UTC()
		}
		conds = append(conds, "("+key+", "+id+") "+op+" ("+s.arg(after)+", "+s.arg(p.ID)+")")
	}
	order := key + dir + ", " + id + dir
	q := "SELECT " + cols + " FROM " + from
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q + " ORDER BY " + order + " LIMIT " + strconv.FormatInt(f.Limit, 10)
}

// escapeLike makes s match literally inside a LIKE pattern that escapes with a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ImageKeyInUse reports whether any image row still names the storage key.
func ImageKeyInUse(ctx context.Context, idb bun.IDB, key string) (bool, error) {
	return idb.NewSelect().Model((*AuctionImage)(nil)).Where("storage_key = ?", key).Exists(ctx)
}

// AuctionForBid reads an auction in a transaction placing a bid on it, with a KEY SHARE
// lock on PostgreSQL (see PlaceHold).
func AuctionForBid(ctx context.Context, idb bun.IDB, id int64) (*Auction, error) {
	a := new(Auction)
	q := idb.NewSelect().Model(a).Where("a.id = ?", id)
	if idb.Dialect().Name() == dialect.PG {
		q = q.For("KEY SHARE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	return a, nil
}

// OpenSummaries reads the summaries of the auctions with the IDs that are still open and
// not sold by excludeSeller, in the order of ids.
func OpenSummaries(ctx context.Context, idb bun.IDB, ids []int64, excludeSeller int64) ([]AuctionSummary, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []AuctionSummary
	var q listSQL
	conds := []string{"a.id IN (" + q.arg(bun.List(ids)) + ") AND a.seller_id <> " + q.arg(excludeSeller) +
		" AND a.status <> " + q.arg(StatusDone) + " AND a.end_at > " + q.arg(now(idb))}
	if err := scanRead(ctx, idb, q.auctions(conds, ListFilter{Limit: int64(len(ids))}), q.args, &rows); err != nil {
		return nil, fmt.Errorf("open summaries: %w", err)
	}
	byID := make(map[int64]AuctionSummary, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := make([]AuctionSummary, 0, len(rows))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// PopularOpen lists the most liked auctions still open, leaving out excludeSeller's.
func PopularOpen(ctx context.Context, idb bun.IDB, excludeSeller, limit int64) ([]AuctionSummary, error) {
	var rows []AuctionSummary
	var q listSQL
	conds := []string{"a.seller_id <> " + q.arg(excludeSeller) + " AND a.status <> " + q.arg(StatusDone) + " AND a.end_at > " + q.arg(now(idb))}
	if err := scanRead(ctx, idb, q.auctions(conds, ListFilter{Sort: SortPopular, Limit: limit}), q.args, &rows); err != nil {
		return nil, fmt.Errorf("popular open auctions: %w", err)
	}
	return rows, nil
}

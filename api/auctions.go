package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gavelhq/gavel/auction"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/search"
	"github.com/gin-gonic/gin"
)

type sellerJSON struct {
	ID       int64  `json:"id"`
	Nickname string `json:"nickname"`
}

type imageRefJSON struct {
	ID  int64  `json:"id"`
	URL string `json:"url"`
}

type leadingBidJSON struct {
	Amount         int64  `json:"amount"`
	BidderNickname string `json:"bidder_nickname"`
}

type winnerJSON struct {
	BidderNickname string `json:"bidder_nickname"`
	Amount         int64  `json:"amount"`
}

type auctionJSON struct {
	ID              int64           `json:"id"`
	Seller          sellerJSON      `json:"seller"`
	Name            string          `json:"name"`
	Description     string          `json:"description"`
	StartPrice      int64           `json:"start_price"`
	CurrentPrice    int64           `json:"current_price"`
	MinNextBid      int64           `json:"min_next_bid"`
	Status          string          `json:"status"`
	StartAt         string          `json:"start_at"`
	EndAt           string          `json:"end_at"`
	OriginalEndAt   string          `json:"original_end_at"`
	Extension       int64           `json:"extension_seconds"`
	ReservePrice    *int64          `json:"reserve_price"`
	ReserveMet      *bool           `json:"reserve_met"`
	BuyNowPrice     *int64          `json:"buy_now_price"`
	BuyNowAvailable bool            `json:"buy_now_available"`
	BidCount        int64           `json:"bid_count"`
	LikeCount       int64           `json:"like_count"`
	SubscriberCount int64           `json:"subscriber_count"`
	Images          []imageRefJSON  `json:"images"`
	LeadingBid      *leadingBidJSON `json:"leading_bid"`
	Winner          *winnerJSON     `json:"winner"`
	LikedByMe       bool            `json:"liked_by_me"`
	SubscribedByMe  bool            `json:"subscribed_by_me"`
	CreatedAt       string          `json:"created_at"`
	UpdatedAt       string          `json:"updated_at"`
}

type auctionSummaryJSON struct {
	ID           int64   `json:"id"`
	Name         string  `json:"name"`
	CurrentPrice int64   `json:"current_price"`
	Status       string  `json:"status"`
	StartAt      string  `json:"start_at"`
	EndAt        string  `json:"end_at"`
	BidCount     int64   `json:"bid_count"`
	LikeCount    int64   `json:"like_count"`
	ThumbnailURL *string `json:"thumbnail_url"`
	SellerID     int64   `json:"seller_id"`
}

func imageURL(id int64) string { return "/api/v1/images/" + strconv.FormatInt(id, 10) }

// toAuctionJSON is the auction as viewerID (0: anonymous) sees it: the reserve price is
// the seller's to see.
func toAuctionJSON(v *db.AuctionView, viewerID int64) auctionJSON {
	out := auctionJSON{
		ID: v.ID, Seller: sellerJSON{ID: v.SellerID, Nickname: v.SellerNickname},
		Name: v.Name, Description: v.Description, StartPrice: v.StartPrice, CurrentPrice: v.CurrentPrice,
		MinNextBid: auction.MinNextBid(&v.Auction), Status: v.Status,
		StartAt: timestamp(v.StartAt), EndAt: timestamp(v.EndAt), OriginalEndAt: timestamp(v.OriginalEnd()),
		Extension: v.ExtensionSeconds, ReserveMet: auction.ReserveMet(&v.Auction), BuyNowPrice: v.BuyNowPrice,
		BuyNowAvailable: auction.BuyNowAvailable(&v.Auction),
		BidCount:        v.BidCount, LikeCount: v.LikeCount, SubscriberCount: v.SubscriberCount,
		Images:    make([]imageRefJSON, 0, len(v.Images)),
		LikedByMe: v.LikedByViewer, SubscribedByMe: v.SubscribedByViewer,
		CreatedAt: timestamp(v.CreatedAt), UpdatedAt: timestamp(v.UpdatedAt),
	}
	if viewerID != 0 && viewerID == v.SellerID {
		out.ReservePrice = v.ReservePrice
	}
	for _, img := range v.Images {
		out.Images = append(out.Images, imageRefJSON{ID: img.ID, URL: imageURL(img.ID)})
	}
	if v.LeadingAmount != nil && v.LeadingNickname != nil {
		masked := auction.MaskNickname(*v.LeadingNickname)
		out.LeadingBid = &leadingBidJSON{Amount: *v.LeadingAmount, BidderNickname: masked}
		if v.Status == db.StatusDone && v.LeadingStatus != nil && *v.LeadingStatus == "won" {
			out.Winner = &winnerJSON{BidderNickname: masked, Amount: *v.LeadingAmount}
		}
	}
	return out
}

func toSummaryJSON(s db.AuctionSummary) auctionSummaryJSON {
	out := auctionSummaryJSON{
		ID: s.ID, Name: s.Name, CurrentPrice: s.CurrentPrice, Status: s.Status,
		StartAt: timestamp(s.StartAt), EndAt: timestamp(s.EndAt), BidCount: s.BidCount, LikeCount: s.LikeCount,
		SellerID: s.SellerID,
	}
	if s.ThumbnailID != nil {
		u := imageURL(*s.ThumbnailID)
		out.ThumbnailURL = &u
	}
	return out
}

// auctionRequest is the body of a create or an edit; absent fields are nil.
type auctionRequest struct {
	Name         *string     `json:"name"`
	Description  *string     `json:"description"`
	StartPrice   *int64      `json:"start_price"`
	StartAt      *string     `json:"start_at"`
	EndAt        *string     `json:"end_at"`
	ReservePrice nullableInt `json:"reserve_price"`
	BuyNowPrice  nullableInt `json:"buy_now_price"`
	Extension    *int64      `json:"extension_seconds"`
}

// nullableInt is an optional integer field that null clears: Set says it was present.
type nullableInt struct {
	Set   bool
	Value *int64
}

func (n *nullableInt) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// decodeAuction reads the body of a create or an edit.
func decodeAuction(r *http.Request) (auction.AuctionInput, *Problem) {
	var req auctionRequest
	if p := decodeJSON(r, &req); p != nil {
		return auction.AuctionInput{}, p
	}
	in := auction.AuctionInput{Name: req.Name, Description: req.Description, StartPrice: req.StartPrice}
	if req.ReservePrice.Set {
		in.ReservePrice = &req.ReservePrice.Value
	}
	if req.BuyNowPrice.Set {
		in.BuyNowPrice = &req.BuyNowPrice.Value
	}
	in.ExtensionSeconds = req.Extension
	for _, f := range []struct {
		name string
		raw  *string
		dst  **time.Time
	}{{"start_at", req.StartAt, &in.StartAt}, {"end_at", req.EndAt, &in.EndAt}} {
		if f.raw == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339, *f.raw)
		if err != nil {
			return in, invalid(f.name, "must be an RFC 3339 time such as 2026-11-26T15:04:05Z")
		}
		*f.dst = &t
	}
	return in, nil
}

// pathID reads a positive 64-bit integer path parameter; anything else is 404.
func pathID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		writeProblem(c, newProblem(http.StatusNotFound, "not_found", "There is nothing at this path."))
		return 0, false
	}
	return id, true
}

func (s *Server) handleCreateAuction(c *gin.Context) {
	in, p := decodeAuction(c.Request)
	if p != nil {
		writeProblem(c, p)
		return
	}
	v, err := s.catalogue.Create(c.Request.Context(), currentUserID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/auctions/"+strconv.FormatInt(v.ID, 10))
	c.JSON(http.StatusCreated, toAuctionJSON(v, currentUserID(c)))
}

func (s *Server) handleGetAuction(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	viewer := sessionUserID(c)
	v, err := s.catalogue.Get(c.Request.Context(), id, viewer)
	if err != nil {
		s.fail(c, err)
		return
	}
	if viewer != 0 {
		// A like not flushed yet counts for liked_by_me at once (like_count catches up).
		if liked, ok, err := s.likes.Pending(c.Request.Context(), id, viewer); err == nil && ok {
			v.LikedByViewer = liked
		}
	}
	c.JSON(http.StatusOK, toAuctionJSON(v, viewer))
}

func (s *Server) handleUpdateAuction(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	in, p := decodeAuction(c.Request)
	if p != nil {
		writeProblem(c, p)
		return
	}
	v, err := s.catalogue.Update(c.Request.Context(), id, currentUserID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toAuctionJSON(v, currentUserID(c)))
}

func (s *Server) handleDeleteAuction(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	if err := s.catalogue.Delete(c.Request.Context(), id, currentUserID(c)); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// listCursor is the position of the last item of a page, for the sort it was made for.
type listCursor struct {
	Sort string          `json:"s"`
	Pos  db.ListPosition `json:"p"`
}

var statuses = map[string]bool{db.StatusReady: true, db.StatusPending: true, db.StatusDone: true}

var sorts = map[string]bool{
	db.SortNewest: true, db.SortEndingSoon: true, db.SortPriceAsc: true,
	db.SortPriceDesc: true, db.SortMostBids: true, db.SortPopular: true,
}

// listFilter reads the list query of api/openapi.yaml.
func (s *Server) listFilter(c *gin.Context) (db.ListFilter, *Problem) {
	var bad badParams
	f := db.ListFilter{Sort: c.DefaultQuery("sort", db.SortNewest), Status: c.Query("status"), Q: strings.TrimSpace(c.Query("q"))}
	if !sorts[f.Sort] {
		bad.add("sort", "must be one of newest, ending_soon, price_asc, price_desc, most_bids, popular")
	}
	if _, ok := c.GetQuery("status"); ok && !statuses[f.Status] {
		bad.add("status", "must be one of READY, PENDING, DONE")
	}
	switch {
	case !utf8.ValidString(f.Q):
		bad.add("q", "must be valid UTF-8")
	case utf8.RuneCountInString(f.Q) > 100:
		bad.add("q", "must be at most 100 characters")
	case f.Q != "" && len(search.Words(f.Q)) == 0:
		bad.add("q", "must contain a word: a letter or a digit")
	}
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"min_price", &f.MinPrice}, {"max_price", &f.MaxPrice}} {
		if raw, ok := c.GetQuery(p.name); ok {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				bad.add(p.name, "must be an integer")
				continue
			}
			*p.dst = &n
		}
	}
	if raw, ok := c.GetQuery("seller_id"); ok {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			bad.add("seller_id", "must be a positive integer")
		}
		f.SellerID = n
	}
	var cur listCursor
	limit, has, p := s.pageParams(c, &cur)
	bad.merge(p)
	if has && cur.Sort != f.Sort {
		bad.add("cursor", "belongs to another sort")
	}
	if p := bad.problem(); p != nil {
		return f, p
	}
	if has {
		f.After = &cur.Pos
	}
	f.Limit = limit
	return f, nil
}

// auctionPage reads the list query and loads the page it asks for.
// scope narrows the page to one seller's auctions or to one user's subscriptions.
func (s *Server) auctionPage(c *gin.Context, scope func(*db.ListFilter)) (*Page[auctionSummaryJSON], error) {
	f, p := s.listFilter(c)
	if p != nil {
		return nil, p
	}
	if scope != nil {
		scope(&f)
	}
	limit := f.Limit
	f.Limit++
	rows, err := s.catalogue.List(c.Request.Context(), f)
	if err != nil {
		return nil, err
	}
	page := &Page[auctionSummaryJSON]{Items: make([]auctionSummaryJSON, 0, min(int64(len(rows)), limit))}
	for i, r := range rows {
		if int64(i) == limit {
			next := s.cursors.encode(listCursor{Sort: f.Sort, Pos: db.PositionOf(f.Sort, rows[i-1])})
			page.NextCursor = &next
			break
		}
		page.Items = append(page.Items, toSummaryJSON(r))
	}
	return page, nil
}

// handleListAuctions serves the public list, through the micro-cache when it is on.
func (s *Server) handleListAuctions(c *gin.Context) {
	var failure error
	body, ok := s.listCache.get(c.Request.URL.RawQuery, func() ([]byte, bool) {
		page, err := s.auctionPage(c, nil)
		if err != nil {
			failure = err
			return nil, false
		}
		b, err := jsonMarshal(page)
		failure = err
		return b, err == nil
	})
	if !ok {
		s.fail(c, failure)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

func (s *Server) handleListMyAuctions(c *gin.Context) {
	page, err := s.auctionPage(c, func(f *db.ListFilter) { f.SellerID = currentUserID(c) })
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

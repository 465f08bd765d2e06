package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type auctionOut struct {
	ID     int64 `json:"id"`
	Seller struct {
		ID       int64  `json:"id"`
		Nickname string `json:"nickname"`
	} `json:"seller"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	StartPrice   int64  `json:"start_price"`
	CurrentPrice int64  `json:"current_price"`
	MinNextBid   int64  `json:"min_next_bid"`
	Status       string `json:"status"`
	StartAt      string `json:"start_at"`
	EndAt        string `json:"end_at"`
	Images       []struct {
		ID  int64  `json:"id"`
		URL string `json:"url"`
	} `json:"images"`
	LeadingBid      *struct{} `json:"leading_bid"`
	SubscriberCount int64     `json:"subscriber_count"`
	SubscribedByMe  bool      `json:"subscribed_by_me"`
	LikeCount       int64     `json:"like_count"`
	LikedByMe       bool      `json:"liked_by_me"`
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// createAuction lists an auction starting in `in` and lasting a day.
func (c *client) createAuction(t *testing.T, name string, price int64, in time.Duration) auctionOut {
	t.Helper()
	start := time.Now().Add(in)
	res := c.do("POST", "/api/v1/auctions", map[string]any{
		"name": name, "description": "A fine " + name, "start_price": price,
		"start_at": rfc(start), "end_at": rfc(start.Add(24 * time.Hour)),
	})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var a auctionOut
	res.decode(t, &a)
	return a
}

func TestAuctionCreateReadEditDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seller := h.login("seller")
	other := h.login("other")

	a := seller.createAuction(t, "Brass telescope", 250, time.Hour)
	assert.Equal(t, "READY", a.Status)
	assert.Equal(t, int64(250), a.CurrentPrice)
	assert.Equal(t, int64(250), a.MinNextBid, "no bid yet: the start price")
	assert.Equal(t, "seller", a.Seller.Nickname)
	assert.Nil(t, a.LeadingBid)

	path := fmt.Sprintf("/api/v1/auctions/%d", a.ID)
	res := h.client().do("GET", path, nil)
	require.Equal(t, http.StatusOK, res.status, "reading is public")

	res = other.do("PATCH", path, map[string]any{"name": "Mine now"})
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Equal(t, "forbidden", res.problemCode(t))
	assert.Equal(t, http.StatusForbidden, other.do("DELETE", path, nil).status)
	assert.Equal(t, http.StatusUnauthorized, h.client().do("PATCH", path, map[string]any{"name": "x"}).status)

	res = seller.do("PATCH", path, map[string]any{"name": "Brass telescope, 1890", "start_price": 300})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var edited auctionOut
	res.decode(t, &edited)
	assert.Equal(t, "Brass telescope, 1890", edited.Name)
	assert.Equal(t, "A fine Brass telescope", edited.Description, "fields left out are unchanged")
	assert.Equal(t, int64(300), edited.CurrentPrice)

	// The time rules apply to the times that result from the edit.
	start, _ := time.Parse(time.RFC3339, edited.StartAt)
	res = seller.do("PATCH", path, map[string]any{"end_at": rfc(start.Add(31 * 24 * time.Hour))})
	assert.Equal(t, http.StatusBadRequest, res.status)
	res = seller.do("PATCH", path, map[string]any{"start_at": rfc(start.Add(25 * time.Hour))})
	assert.Equal(t, http.StatusBadRequest, res.status, "a start after the end")

	for _, missing := range []string{"/api/v1/auctions/999999", "/api/v1/auctions/0", "/api/v1/auctions/-1", "/api/v1/auctions/abc", "/api/v1/auctions/99999999999999999999"} {
		res := seller.do("GET", missing, nil)
		assert.Equal(t, http.StatusNotFound, res.status, missing)
		assert.Equal(t, "not_found", res.problemCode(t))
	}
	assert.Equal(t, http.StatusNotFound, seller.do("PATCH", "/api/v1/auctions/999999", map[string]any{"name": "x"}).status)

	require.Equal(t, http.StatusNoContent, seller.do("DELETE", path, nil).status)
	assert.Equal(t, http.StatusNotFound, h.client().do("GET", path, nil).status)
}

func TestAuctionValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("val")
	now := time.Now()
	ok := func() map[string]any {
		return map[string]any{"name": "Lamp", "description": "", "start_price": 10,
			"start_at": rfc(now.Add(time.Minute)), "end_at": rfc(now.Add(time.Hour))}
	}
	cases := []struct {
		name, field string
		edit        func(m map[string]any)
	}{
		{"name missing", "name", func(m map[string]any) { delete(m, "name") }},
		{"name empty", "name", func(m map[string]any) { m["name"] = " " }},
		{"name long", "name", func(m map[string]any) { m["name"] = strings.Repeat("n", 101) }},
		{"description long", "description", func(m map[string]any) { m["description"] = strings.Repeat("d", 5001) }},
		{"price zero", "start_price", func(m map[string]any) { m["start_price"] = 0 }},
		{"price missing", "start_price", func(m map[string]any) { delete(m, "start_price") }},
		{"price text", "start_price", func(m map[string]any) { m["start_price"] = "10" }},
		{"start not a time", "start_at", func(m map[string]any) { m["start_at"] = "tomorrow" }},
		{"start long past", "start_at", func(m map[string]any) { m["start_at"] = rfc(now.Add(-2 * time.Minute)) }},
		{"end before start", "end_at", func(m map[string]any) { m["end_at"] = rfc(now) }},
		{"end equals start", "end_at", func(m map[string]any) { m["end_at"] = m["start_at"] }},
		{"longer than 30 days", "end_at", func(m map[string]any) { m["end_at"] = rfc(now.Add(time.Minute + 30*24*time.Hour + time.Second)) }},
		{"end missing", "end_at", func(m map[string]any) { delete(m, "end_at") }},
	}
	for _, tc := range cases {
		body := ok()
		tc.edit(body)
		res := c.do("POST", "/api/v1/auctions", body)
		if assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.name, res.body) {
			assert.Contains(t, string(res.body), `"field":"`+tc.field+`"`, tc.name)
		}
	}
	// The edges that are allowed: a start up to 60 s in the past, exactly 30 days long.
	body := ok()
	body["start_at"] = rfc(now.Add(-50 * time.Second))
	body["end_at"] = rfc(now.Add(-50*time.Second + 30*24*time.Hour))
	res := c.do("POST", "/api/v1/auctions", body)
	assert.Equal(t, http.StatusCreated, res.status, "%s", res.body)
}

// TestEditsCannotLandAfterTheStart races edits against the auction's start, and checks
// the rule holds by the clock even when nothing has moved the auction to PENDING yet.
func TestEditsCannotLandAfterTheStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("racer")
	ctx := context.Background()

	a := c.createAuction(t, "Racing bike", 100, 1500*time.Millisecond)
	path := fmt.Sprintf("/api/v1/auctions/%d", a.ID)
	var edits, refusals int
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		res := c.do("PATCH", path, map[string]any{"description": fmt.Sprintf("edit %d", edits)})
		if res.status == http.StatusOK {
			require.Zero(t, refusals, "an edit succeeded after one was refused")
			edits++
			continue
		}
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		require.Equal(t, "auction_not_editable", res.problemCode(t))
		refusals++
		if refusals > 20 {
			break
		}
	}
	require.Positive(t, edits)
	require.Positive(t, refusals)
	row, err := db.AuctionByID(ctx, h.db, a.ID, false)
	require.NoError(t, err)
	assert.True(t, row.UpdatedAt.Before(row.StartAt), "last edit at %v, start at %v", row.UpdatedAt, row.StartAt)
	assert.Equal(t, "READY", row.Status, "nothing opened it: the rule is the clock's, not the status's")
	assert.Equal(t, http.StatusConflict, c.do("DELETE", path, nil).status)
	res := c.do("POST", path+"/images", nil)
	assert.Contains(t, []int{http.StatusConflict, http.StatusUnsupportedMediaType}, res.status)

	// Once open, still refused.
	n, err := db.OpenDueAuctions(ctx, h.db, 100)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	assert.Equal(t, http.StatusConflict, c.do("PATCH", path, map[string]any{"name": "late"}).status)
}

// listed is what the tests know of each auction they made, to compute expected orders.
type listed struct {
	id, price, bids, likes int64
	seller                 int64
	name, status           string
	created, end           time.Time
}

func TestListingEveryFilterAndSort(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	sellers := []*client{h.login("alpha"), h.login("beta")}
	var sellerIDs []int64
	for _, s := range sellers {
		_, id := s.balance(t)
		sellerIDs = append(sellerIDs, id)
	}
	names := []string{"Leica camera", "Pocket watch", "Camera strap", "Oak table", "Wrist WATCH", "Vinyl 100%_rare"}
	statusesCycle := []string{"READY", "PENDING", "DONE"}
	var all []listed
	base := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	for i := range 30 {
		price := int64(100 + (i*37)%7*50) // many ties
		a := sellers[i%2].createAuction(t, names[i%len(names)], price, time.Duration(i+1)*time.Hour)
		st := statusesCycle[i%3]
		bids, likes := int64(i%4), int64((i*7)%5)
		_, err := h.db.NewUpdate().Model((*db.Auction)(nil)).
			Set("status = ?", st).Set("bid_count = ?", bids).Set("like_count = ?", likes).
			Set("end_at = ?", base.Add(-time.Duration(i%5)*time.Hour)). // ties on end_at
			Where("id = ?", a.ID).Exec(ctx)
		require.NoError(t, err)
		row, err := db.AuctionByID(ctx, h.db, a.ID, false)
		require.NoError(t, err)
		all = append(all, listed{id: a.ID, price: price, bids: bids, likes: likes, seller: sellerIDs[i%2],
			name: row.Name, status: st, created: row.CreatedAt, end: row.EndAt})
	}

	less := map[string]func(a, b listed) bool{
		"newest": func(a, b listed) bool {
			return a.created.After(b.created) || a.created.Equal(b.created) && a.id > b.id
		},
		"ending_soon": func(a, b listed) bool { return a.end.Before(b.end) || a.end.Equal(b.end) && a.id < b.id },
		"price_asc":   func(a, b listed) bool { return a.price < b.price || a.price == b.price && a.id < b.id },
		"price_desc":  func(a, b listed) bool { return a.price > b.price || a.price == b.price && a.id > b.id },
		"most_bids":   func(a, b listed) bool { return a.bids > b.bids || a.bids == b.bids && a.id > b.id },
		"popular":     func(a, b listed) bool { return a.likes > b.likes || a.likes == b.likes && a.id > b.id },
	}
	type filter struct {
		query string
		keep  func(l listed) bool
	}
	filters := []filter{
		{"", func(listed) bool { return true }},
		{"status=PENDING", func(l listed) bool { return l.status == "PENDING" }},
		{"q=camera", func(l listed) bool { return nameMatches(l.name, "camera") }},
		{"q=WATCH", func(l listed) bool { return nameMatches(l.name, "watch") }},
		{"q=" + url.QueryEscape("100%_"), func(l listed) bool { return nameMatches(l.name, "100") }},
		{"q=" + url.QueryEscape("ra"), func(l listed) bool { return nameMatches(l.name, "ra") }},
		{"q=" + url.QueryEscape("wat po"), func(l listed) bool { return nameMatches(l.name, "wat", "po") }},
		{"q=" + url.QueryEscape("Cam, STR!"), func(l listed) bool { return nameMatches(l.name, "cam", "str") }},
		{"q=amera", func(l listed) bool { return false }},
		{"min_price=200&max_price=300", func(l listed) bool { return l.price >= 200 && l.price <= 300 }},
		{"max_price=150", func(l listed) bool { return l.price <= 150 }},
		{fmt.Sprintf("seller_id=%d", sellerIDs[1]), func(l listed) bool { return l.seller == sellerIDs[1] }},
		{"status=DONE&min_price=150&q=ca", func(l listed) bool {
			return l.status == "DONE" && l.price >= 150 && nameMatches(l.name, "ca")
		}},
		{fmt.Sprintf("status=READY&seller_id=%d&max_price=350", sellerIDs[0]), func(l listed) bool {
			return l.status == "READY" && l.seller == sellerIDs[0] && l.price <= 350
		}},
	}
	anon := h.client()
	for sortName, lessFn := range less {
		for _, f := range filters {
			want := []int64{}
			sorted := slices.Clone(all)
			sort.SliceStable(sorted, func(i, j int) bool { return lessFn(sorted[i], sorted[j]) })
			for _, l := range sorted {
				if f.keep(l) {
					want = append(want, l.id)
				}
			}
			got := pageThrough(t, anon, "/api/v1/auctions?sort="+sortName+"&"+f.query, 4)
			assert.Equal(t, want, got, "sort=%s %s", sortName, f.query)
		}
	}
	// The default sort is newest, and /me/auctions is the caller's own.
	assert.Equal(t, pageThrough(t, anon, "/api/v1/auctions?sort=newest", 7), pageThrough(t, anon, "/api/v1/auctions", 7))
	mine := pageThrough(t, sellers[1], "/api/v1/me/auctions?sort=price_asc", 5)
	want := pageThrough(t, anon, fmt.Sprintf("/api/v1/auctions?sort=price_asc&seller_id=%d", sellerIDs[1]), 5)
	assert.Equal(t, want, mine)
	assert.Len(t, mine, 15)
}

var asciiWord = regexp.MustCompile(`[a-z0-9]+`)

// nameMatches is the search rule of api/openapi.yaml for these ASCII names, written apart
// from package search: every query word is a prefix of a word of the name, ignoring case.
func nameMatches(name string, queryWords ...string) bool {
	words := asciiWord.FindAllString(strings.ToLower(name), -1)
	for _, q := range queryWords {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}

// pageThrough follows next_cursor to the end and returns the IDs in order; it fails on a
// repeated item.
func pageThrough(t *testing.T, c *client, path string, limit int) []int64 {
	t.Helper()
	ids := []int64{}
	seen := map[int64]bool{}
	cursor := ""
	for pages := 0; pages < 100; pages++ {
		p := fmt.Sprintf("%s&limit=%d", path, limit)
		if !strings.Contains(path, "?") {
			p = fmt.Sprintf("%s?limit=%d", path, limit)
		}
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		res := c.do("GET", p, nil)
		require.Equal(t, http.StatusOK, res.status, "%s: %s", p, res.body)
		var page struct {
			Items []struct {
				ID           int64   `json:"id"`
				ThumbnailURL *string `json:"thumbnail_url"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		res.decode(t, &page)
		require.LessOrEqual(t, len(page.Items), limit)
		for _, it := range page.Items {
			require.False(t, seen[it.ID], "item %d repeated", it.ID)
			seen[it.ID] = true
			ids = append(ids, it.ID)
		}
		if page.NextCursor == nil {
			return ids
		}
		cursor = *page.NextCursor
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestListingRefusesBadQueries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.login("q")
	c.createAuction(t, "Thing", 10, time.Hour)
	c.createAuction(t, "Other thing", 10, time.Hour)
	res := c.do("GET", "/api/v1/auctions?limit=1&sort=price_desc", nil)
	var page struct {
		NextCursor *string `json:"next_cursor"`
	}
	res.decode(t, &page)
	require.NotNil(t, page.NextCursor)
	for _, q := range []string{
		"sort=cheapest", "sort=", "status=OPEN", "status=ready", "min_price=ten", "max_price=1.5",
		"seller_id=0", "seller_id=x", "limit=0", "limit=101", "limit=-1", "limit=2.0",
		"cursor=abc", "cursor=" + url.QueryEscape(*page.NextCursor) + "x",
		"sort=newest&cursor=" + url.QueryEscape(*page.NextCursor), // another sort's cursor
		"q=" + strings.Repeat("q", 101),
		"q=" + url.QueryEscape("%"), "q=" + url.QueryEscape("-- ?!"), // no word
	} {
		res := c.do("GET", "/api/v1/auctions?"+q, nil)
		assert.Equal(t, http.StatusBadRequest, res.status, q)
		assert.Equal(t, "validation_failed", res.problemCode(t), q)
	}
	// Every bad parameter is named, not only the first.
	res = c.do("GET", "/api/v1/auctions?sort=cheapest&status=OPEN&min_price=ten&max_price=x&seller_id=0&limit=0&cursor=abc&q="+strings.Repeat("q", 101), nil)
	assert.Equal(t, http.StatusBadRequest, res.status)
	var bad struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	res.decode(t, &bad)
	var fields []string
	for _, e := range bad.Errors {
		fields = append(fields, e.Field)
	}
	assert.ElementsMatch(t, []string{"sort", "status", "q", "min_price", "max_price", "seller_id", "limit", "cursor"}, fields)
	res = c.do("GET", "/api/v1/me/bids?status=nope&limit=500", nil)
	res.decode(t, &bad)
	assert.Len(t, bad.Errors, 2, "%s", res.body)
	res = c.do("GET", "/api/v1/auctions?sort=price_desc&cursor="+url.QueryEscape(*page.NextCursor), nil)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, http.StatusUnauthorized, h.client().do("GET", "/api/v1/me/auctions", nil).status)
}

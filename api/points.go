package api

import (
	"net/http"

	"github.com/gavelhq/gavel/db"
	"github.com/gin-gonic/gin"
)

type ledgerJSON struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	Delta     int64  `json:"delta"`
	HeldDelta int64  `json:"held_delta"`
	BidID     *int64 `json:"bid_id"`
	AuctionID *int64 `json:"auction_id"`
	CreatedAt string `json:"created_at"`
}

// idempotencyKey reads the optional Idempotency-Key header: 1..64 visible ASCII characters.
func idempotencyKey(c *gin.Context) (string, *Problem) {
	vals := c.Request.Header.Values("Idempotency-Key")
	if len(vals) == 0 {
		return "", nil
	}
	k := vals[0]
	if len(vals) > 1 || !validRequestID(k) {
		return "", invalid("Idempotency-Key", "must be 1 to 64 visible ASCII characters")
	}
	return k, nil
}

func (s *Server) handleCharge(c *gin.Context) {
	key, p := idempotencyKey(c)
	if p != nil {
		writeProblem(c, p)
		return
	}
	var req struct {
		Amount int64 `json:"amount"`
	}
	if p := decodeJSON(c.Request, &req); p != nil {
		writeProblem(c, p)
		return
	}
	pts, err := s.wallet.Charge(c.Request.Context(), currentUserID(c), req.Amount, key)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, pts)
}

func (s *Server) handleLedger(c *gin.Context) {
	before, limit, ok := s.idPage(c, &badParams{})
	if !ok {
		return
	}
	rows, err := s.wallet.Ledger(c.Request.Context(), currentUserID(c), before, limit+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageOf(s, rows, limit, toLedgerJSON, func(r db.LedgerEntry) int64 { return r.ID }))
}

func toLedgerJSON(r db.LedgerEntry) ledgerJSON {
	return ledgerJSON{ID: r.ID, Kind: r.Kind, Delta: r.Delta, HeldDelta: r.HeldDelta,
		BidID: r.BidID, AuctionID: r.AuctionID, CreatedAt: timestamp(r.CreatedAt)}
}

package auction

import "github.com/gavelhq/gavel/db"

// Increment is the smallest raise over a current price, by the increment table of api/openapi.yaml.
func Increment(price int64) int64 {
	switch {
	case price < 1_000:
		return 10
	case price < 10_000:
		return 100
	case price < 100_000:
		return 500
	case price < 1_000_000:
		return 1_000
	default:
		return 5_000
	}
}

// MinNextBid is the least a bid must offer now: the start price while nobody has bid,
// else the current price plus its increment.
func MinNextBid(a *db.Auction) int64 {
	if a.LeadingBidID == nil {
		return a.StartPrice
	}
	return a.CurrentPrice + Increment(a.CurrentPrice)
}

// MaskNickname hides most of a nickname in public views: the first two characters and
// "***", or only the first for a nickname of one or two characters.
func MaskNickname(nick string) string {
	r := []rune(nick)
	if len(r) <= 2 {
		if len(r) == 0 {
			return "***"
		}
		return string(r[:1]) + "***"
	}
	return string(r[:2]) + "***"
}

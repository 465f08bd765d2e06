package auction

import (
	"testing"

	"github.com/gavelhq/gavel/db"
	"github.com/stretchr/testify/assert"
)

func TestIncrementTable(t *testing.T) {
	for _, tc := range []struct{ price, inc int64 }{
		{1, 10}, {999, 10}, {1_000, 100}, {9_999, 100}, {10_000, 500}, {99_999, 500},
		{100_000, 1_000}, {999_999, 1_000}, {1_000_000, 5_000}, {50_000_000, 5_000},
	} {
		assert.Equal(t, tc.inc, Increment(tc.price), "price %d", tc.price)
	}
	lead := int64(7)
	assert.Equal(t, int64(500), MinNextBid(&db.Auction{StartPrice: 500, CurrentPrice: 500}), "no bid: the start price")
	assert.Equal(t, int64(1_100), MinNextBid(&db.Auction{StartPrice: 500, CurrentPrice: 1_000, LeadingBidID: &lead}))
}

func TestMaskNickname(t *testing.T) {
	for in, want := range map[string]string{"neo": "ne***", "nemo": "ne***", "ab": "a***", "a": "a***", "": "***", "Łukasz": "Łu***"} {
		assert.Equal(t, want, MaskNickname(in), in)
	}
}

func TestSniffImage(t *testing.T) {
	assert.Equal(t, "image/jpeg", SniffImage([]byte{0xFF, 0xD8, 0xFF, 0xDB}))
	assert.Equal(t, "image/png", SniffImage([]byte("\x89PNG\r\n\x1a\n....")))
	assert.Equal(t, "image/gif", SniffImage([]byte("GIF87a....")))
	assert.Equal(t, "image/webp", SniffImage([]byte("RIFF\x00\x00\x00\x00WEBPVP8L")))
	for _, bad := range []string{"", "RIFF\x00\x00\x00\x00WAVE", "<svg xmlns='http://www.w3.org/2000/svg'/>", "GIF90a", "\x89PNG"} {
		assert.Empty(t, SniffImage([]byte(bad)), "%q", bad)
	}
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse")
	assert.True(t, CheckPassword(h, "correct horse"))
	assert.False(t, CheckPassword(h, "correct horsf"))
	assert.NotEqual(t, h, HashPassword("correct horse"), "salted")
	assert.False(t, CheckPassword("garbage", "x"))
}

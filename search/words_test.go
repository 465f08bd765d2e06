package search

import (
	"reflect"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Vintage camera bag", []string{"vintage", "camera", "bag"}},
		{"Vinyl 100%_rare", []string{"vinyl", "100", "rare"}},
		{"  CAMERA camera Camera ", []string{"camera"}},
		{"Mid-century (1960s) lamp", []string{"mid", "century", "1960s", "lamp"}},
		{"빈티지 카메라 가방", []string{"빈티지", "카메라", "가방"}},
		{"Café Müller", []string{"café", "müller"}},
		{"Cafe\u0301", []string{"café"}},              // decomposed: composed by NFC
		{"\u1100\u1161\u11A8", []string{"각"}},         // conjoining jamo: composed into one syllable
		{"हिन्दी किताब", []string{"हिन्दी", "किताब"}}, // vowel signs and virama are marks inside the word
		{"ÆRØ", []string{"ærø"}},
		{"%%%", nil},
		{"\u0301x", []string{"x"}}, // a mark with no letter before it is no word
		{"", nil},
	} {
		if got := Words(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestIndexNeedleIsWordPrefix pins the substring test the database runs to the rule: a
// needle occurs in an index exactly when its word is a prefix of one of the name's words.
func TestIndexNeedleIsWordPrefix(t *testing.T) {
	names := []string{"Vintage camera bag", "Vinyl 100%_rare", "빈티지 카메라", "Café Müller", "tripod", "Art deco lamp"}
	queries := []string{"vint", "cam", "amera", "bag", "100", "00", "rare", "카메", "메라", "caf", "müll", "ller", "t", "deco lamp", "o"}
	for _, n := range names {
		words := Words(n)
		for _, q := range queries {
			for _, qw := range Words(q) {
				want := false
				for _, w := range words {
					want = want || strings.HasPrefix(w, qw)
				}
				if got := strings.Contains(Index(n), Needle(qw)); got != want {
					t.Errorf("name %q, query word %q: substring test says %v, the rule says %v", n, qw, got, want)
				}
			}
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, w := range []string{"camera", "camping", "cam", "cam\U0010FFFE", "카메라"} {
		in := strings.HasPrefix(w, "cam")
		if got := w >= "cam" && w < PrefixEnd("cam"); got != in {
			t.Errorf("%q in the range of cam: %v, want %v", w, got, in)
		}
	}
	if w := "can"; w < PrefixEnd("cam") {
		t.Errorf("%q sorts below the end of prefix cam", w)
	}
}

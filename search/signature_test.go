package search

import (
	"math/bits"
	"strings"
	"testing"
)

// TestSignatureHoldsTheMaskOfEveryMatch pins the index's pre-test to the rule: for every
// query word that is a prefix of a word of a name, the name's Signature holds its Mask, so
// the pre-test never drops a match; a word of fewer than three code points has no Mask.
func TestSignatureHoldsTheMaskOfEveryMatch(t *testing.T) {
	names := []string{"Vintage camera bag", "Swiss pocket watch (1960s)", "빈티지 카메라 가방", "Café Müller", "Cafe\u0301 crème",
		"Collector's piece", "tripod", "Art deco lamp", "हिन्दी किताब", "Ærø set of two"}
	for _, n := range names {
		sig := Signature(n)
		for _, w := range Words(n) {
			for i := range w + " " {
				q := (w + " ")[:i]
				if i == 0 || !strings.HasPrefix(w, q) || Words(q) == nil || Words(q)[0] != q {
					continue // not a whole code point, or not a query word
				}
				m := Mask(q)
				if m == 0 {
					if len([]rune(q)) >= 3 {
						t.Errorf("Mask(%q) = 0 for a word of three code points or more", q)
					}
					continue
				}
				if n := bits.OnesCount64(uint64(m)); n < 1 || n > 2 {
					t.Errorf("Mask(%q) = %b, want one or two bits", q, m)
				}
				if sig&m != m {
					t.Errorf("Signature(%q) = %b lacks Mask(%q) = %b", n, sig, q, m)
				}
			}
		}
	}
	if Mask("ca") != 0 || Mask("카메") != 0 {
		t.Error("a query word of two code points has a mask: its completions need not share their first three")
	}
	if Signature("") != 0 {
		t.Error("a name without words has bits")
	}
}

// TestSignatureTellsWordsApart checks that the pre-test filters: over the seed's kind of
// vocabulary, most query words' bits are absent from a name without them.
func TestSignatureTellsWordsApart(t *testing.T) {
	words := strings.Fields("watch camera guitar lamp swiss vintage leather jacket barometer sextant abacus tripod " +
		"violin cello banjo radio mirror vase bowl teapot kettle ring wallet coat scarf hat sofa desk rug globe map")
	distinct := map[int64]bool{}
	for _, w := range words {
		distinct[Mask(w)] = true
	}
	if len(distinct) < len(words)*2/3 {
		t.Errorf("%d words share %d bits", len(words), len(distinct))
	}
}

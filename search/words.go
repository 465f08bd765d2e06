// Package search holds the one definition of what a search matches (api/openapi.yaml,
// "Search"): names and queries are split into words here, and only here. The database
// stores what Words and Index return (db: the auction_words table and the auctions'
// search_words column) and compares them as plain strings.
package search

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxQueryWords bounds the words of one query: q is at most 100 characters, so at most 50
// words of one letter; more would only be a longer filter.
const MaxQueryWords = 50

// Words splits s into its words, in order and without repeats: the runs of letters and
// digits of any script, with the combining marks that follow them (the vowel signs of
// Devanagari, an accent typed as a separate code point), in Unicode normal form C and
// lower case. "Vinyl 100%_rare" has the words vinyl, 100 and rare; "Café" typed as
// "Cafe" + U+0301 is café.
func Words(s string) []string {
	s = norm.NFC.String(s)
	var out []string
	seen := map[string]bool{}
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			w := b.String()
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.M, r) && b.Len() > 0:
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// Index is the form of a name's words that a query's other words are tested against: the
// words joined by spaces, with a space before each. A query word w is a prefix of a word
// of the name exactly when " "+w occurs in Index(name), since no word holds a space; that
// substring test is all the database does with it (see Needle).
func Index(name string) string {
	ws := Words(name)
	if len(ws) == 0 {
		return ""
	}
	return " " + strings.Join(ws, " ")
}

// Needle is what a query word looks for in an Index.
func Needle(word string) string { return " " + word }

// PrefixEnd is the least string above every string that starts with prefix, in the byte
// order that the database compares words in (COLLATE "C" on PostgreSQL, BINARY on
// SQLite): prefix followed by the greatest code point, which no word holds since it is
// not a letter, a digit or a mark.
func PrefixEnd(prefix string) string { return prefix + string(rune(unicode.MaxRune)) }

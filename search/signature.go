package search

import (
	"hash/fnv"
	"unicode/utf8"
)

// signatureRunes is how many leading code points of a word choose its bits in a
// Signature: every word that a query word of at least that many code points begins starts
// with the same ones, so the query word's bits (Mask) are set in the signature of every
// name it matches.
const signatureRunes = 3

// Signature is a 64-bit summary of a name's words for the database to test a query's
// other words with, in an index alone, before it reads a row: the bits of each word's
// first signatureRunes code points (the whole word when shorter), two of the 64 chosen by
// a hash of them (one when both choices meet), so that a name without the word holds
// both by chance rarely (about 2 % for a name of four words). A name matches a query
// word only if its signature holds the word's Mask; a name whose signature holds it may
// still not match (another word with the bit), so the substring test of Index follows.
func Signature(name string) int64 {
	var sig uint64
	for _, w := range Words(name) {
		sig |= wordBits(w)
	}
	return int64(sig)
}

// Mask is the bits that every name matching the query word has in its Signature, or 0 (no
// test) for a word shorter than signatureRunes code points, whose completions need not
// share their first ones.
func Mask(word string) int64 {
	if utf8.RuneCountInString(word) < signatureRunes {
		return 0
	}
	return int64(wordBits(word))
}

func wordBits(word string) uint64 {
	key := word
	n := 0
	for i := range word {
		if n == signatureRunes {
			key = word[:i]
			break
		}
		n++
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	x := h.Sum32()
	return 1<<(x%64) | 1<<(x>>6%64)
}

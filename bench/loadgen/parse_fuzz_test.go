package loadgen

import (
	"bytes"
	"slices"
	"testing"
)

// parseOutcome is what a parser made of a stream: everything a caller of
// feed can see.
type parseOutcome struct {
	used     int // bytes consumed before the parser stopped
	failed   bool
	done     bool
	eofDone  bool // done once the stream ends (a body delimited by EOF)
	status   int
	close    bool
	body     []byte
	cookies  []string
	location string
}

// parseInPieces feeds data to a fresh parser as a socket would deliver it,
// in pieces that end at the given offsets, keeping the unused bytes for the
// next call as the engines do.
func parseInPieces(data []byte, cuts []int, capture bool) parseOutcome {
	p := parser{Capture: capture, MaxBody: 64}
	var o parseOutcome
	pending := 0 // data[o.used:pending] is buffered and not parsed yet
	for _, cut := range append(cuts, len(data)) {
		if cut <= pending {
			continue
		}
		pending = cut
		n, err := p.feed(data[o.used:pending])
		if n < 0 || n > pending-o.used {
			panic("feed used more bytes than it was given")
		}
		o.used += n
		if err != nil {
			o.failed = true
			break
		}
		if p.done() {
			break
		}
	}
	o.done = p.done()
	if !o.failed && !o.done {
		o.eofDone = p.eof()
	}
	o.status, o.close, o.location = p.status, p.close, p.Location
	o.body, o.cookies = p.Body, p.Cookies
	if !capture && (len(o.body) > 0 || len(o.cookies) > 0 || o.location != "") {
		panic("captured without Capture")
	}
	return o
}

// FuzzParse checks that the response parser never panics, never uses more
// than it is given, keeps at most MaxBody bytes of a body, and reaches the
// same outcome however the stream is split: whole, in two pieces at any
// point, and byte by byte. The seed corpus is in testdata/fuzz/FuzzParse
// and runs with every go test; go test -fuzz FuzzParse explores further.
func FuzzParse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), uint16(20), true)
	f.Fuzz(func(t *testing.T, data []byte, split uint16, capture bool) {
		whole := parseInPieces(data, nil, capture)
		if whole.failed && whole.done {
			t.Fatalf("failed and done")
		}
		if len(whole.body) > 64 {
			t.Fatalf("kept %d body bytes, more than MaxBody", len(whole.body))
		}
		if whole.done && (whole.status < 200 || whole.status > 999) {
			t.Fatalf("done with status %d", whole.status)
		}
		cut := 0
		if len(data) > 0 {
			cut = int(split) % (len(data) + 1)
		}
		bytewise := make([]int, len(data))
		for i := range bytewise {
			bytewise[i] = i + 1
		}
		for _, cuts := range [][]int{{cut}, bytewise} {
			got := parseInPieces(data, cuts, capture)
			if !sameOutcome(got, whole) {
				t.Fatalf("split at %v of %d bytes: %+v\nwhole: %+v", cuts[:min(len(cuts), 1)], len(data), got, whole)
			}
		}
	})
}

func sameOutcome(a, b parseOutcome) bool {
	if a.failed || b.failed {
		// Where an error is noticed may depend on the split; that it is
		// noticed may not.
		return a.failed == b.failed
	}
	return a.used == b.used && a.done == b.done && a.eofDone == b.eofDone &&
		a.status == b.status && a.close == b.close && bytes.Equal(a.body, b.body) &&
		slices.Equal(a.cookies, b.cookies) && a.location == b.location
}

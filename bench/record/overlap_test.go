package record_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
)

// A merge says, in the record, when its records were not taken at the same
// time: their rates add up to one no server saw.
func TestMergeNotesRunsThatDidNotOverlap(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	at := func(start time.Duration, secs int) *record.Record {
		r, _ := fake(rng, 1000, secs, "200")
		r.Started = t0.Add(start)
		return r
	}
	for _, tc := range []struct {
		name string
		recs []*record.Record
		want string // a part of the note; "" for none
	}{
		{"together", []*record.Record{at(0, 10), at(time.Second, 10)}, ""},
		{"one after the other", []*record.Record{at(0, 10), at(10*time.Second, 10)}, "not taken at the same time"},
		{"far apart", []*record.Record{at(time.Hour, 10), at(0, 10)}, "not taken at the same time"},
		{"barely together", []*record.Record{at(0, 10), at(8*time.Second, 10)}, "ran together for only 2.0 s"},
		{"no times", []*record.Record{at(0, 10), func() *record.Record { r := at(0, 10); r.Started = time.Time{}; return r }()}, ""},
	} {
		m, err := record.Merge(tc.recs...)
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(m.Notes, "; ")
		if tc.want == "" && notes != "" || tc.want != "" && !strings.Contains(notes, tc.want) {
			t.Errorf("%s: notes %q, want %q", tc.name, notes, tc.want)
		}
		if tc.want != "" && !strings.Contains(strings.Join(m.Warnings(), "; "), tc.want) {
			t.Errorf("%s: Warnings() leaves out the note", tc.name)
		}
	}
}

package driver

import (
	"context"
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scalelab/scalelab/bench/workload"
)

// WriteCheck is what the check for lost writes found after a measurement
// that posted comments: every comment the site acknowledged must be in the
// database exactly once and on its photo's page at the next read (so the
// cache was invalidated); no comment the site refused may be there.
// Comments that got no answer (the request failed, or the run ended while
// it was in flight) may or may not have been taken; they are counted, not
// judged.
type WriteCheck struct {
	Posted       int `json:"posted"`
	Acknowledged int `json:"acknowledged"`
	Refused      int `json:"refused"`
	Unanswered   int `json:"unanswered"`
	// Checked is how many writes were looked up in the database
	// (acknowledged and refused ones); PagesRead how many photo pages
	// were read to see the acknowledged comments.
	Checked   int `json:"checked"`
	PagesRead int `json:"pages_read"`
	// Lost, Duplicated, Unexpected (refused yet stored) and NotShown
	// (stored but missing from its page) are the failures.
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	Unexpected int `json:"unexpected"`
	NotShown   int `json:"not_shown"`
	// Problems describe the first few failures.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether no write was lost, doubled, wrongly stored or hidden.
func (c *WriteCheck) OK() bool {
	return c.Lost == 0 && c.Duplicated == 0 && c.Unexpected == 0 && c.NotShown == 0
}

func (c *WriteCheck) String() string {
	s := fmt.Sprintf("%d comments posted: %d acknowledged, %d refused, %d unanswered; %d checked in the database, %d pages read",
		c.Posted, c.Acknowledged, c.Refused, c.Unanswered, c.Checked, c.PagesRead)
	if !c.OK() {
		s += fmt.Sprintf("; LOST %d, DUPLICATED %d, STORED THOUGH REFUSED %d, NOT SHOWN %d", c.Lost, c.Duplicated, c.Unexpected, c.NotShown)
	}
	return s
}

func (c *WriteCheck) problem(format string, args ...any) {
	if len(c.Problems) < 10 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

// add sums another measurement's check into c.
func (c *WriteCheck) add(o *WriteCheck) {
	c.Posted += o.Posted
	c.Acknowledged += o.Acknowledged
	c.Refused += o.Refused
	c.Unanswered += o.Unanswered
	c.Checked += o.Checked
	c.PagesRead += o.PagesRead
	c.Lost += o.Lost
	c.Duplicated += o.Duplicated
	c.Unexpected += o.Unexpected
	c.NotShown += o.NotShown
	for _, p := range o.Problems {
		c.problem("%s", p)
	}
}

// checkWrites looks the logged writes up in the database at databaseURL
// and reads each acknowledged comment's photo page from the stage at base
// as an anonymous visitor would.
func checkWrites(ctx context.Context, databaseURL, base string, writes []workload.Write) (*WriteCheck, error) {
	c := &WriteCheck{Posted: len(writes)}
	var judged []workload.Write
	for _, w := range writes {
		switch {
		case w.Acknowledged():
			c.Acknowledged++
			judged = append(judged, w)
		case w.Status != 0:
			c.Refused++
			judged = append(judged, w)
		default:
			c.Unanswered++
		}
	}
	if len(judged) == 0 {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return c, fmt.Errorf("check writes: %w", err)
	}
	defer conn.Close(ctx)
	bodies := make([]string, len(judged))
	for i, w := range judged {
		bodies[i] = w.Body
	}
	type stored struct{ photo, n int }
	found := map[string][]stored{}
	rows, err := conn.Query(ctx, `SELECT body, photo_id, count(*) FROM comments WHERE body = ANY($1) GROUP BY body, photo_id`, bodies)
	if err != nil {
		return c, fmt.Errorf("check writes: %w", err)
	}
	for rows.Next() {
		var body string
		var s stored
		if err := rows.Scan(&body, &s.photo, &s.n); err != nil {
			return c, fmt.Errorf("check writes: %w", err)
		}
		found[body] = append(found[body], s)
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("check writes: %w", err)
	}
	c.Checked = len(judged)
	onPage := map[int][]string{} // photo id → acknowledged bodies
	for _, w := range judged {
		n, elsewhere := 0, false
		for _, s := range found[w.Body] {
			n += s.n
			elsewhere = elsewhere || s.photo != w.Photo
		}
		switch {
		case !w.Acknowledged() && n > 0:
			c.Unexpected++
			c.problem("comment %q was answered %d but is stored", w.Body, w.Status)
		case !w.Acknowledged():
		case n == 0:
			c.Lost++
			c.problem("comment %q on photo %d was answered %d but is not stored", w.Body, w.Photo, w.Status)
		case n > 1 || elsewhere:
			c.Duplicated++
			c.problem("comment %q on photo %d is stored %d times", w.Body, w.Photo, n)
		default:
			onPage[w.Photo] = append(onPage[w.Photo], w.Body)
		}
	}
	photos := make([]int, 0, len(onPage))
	for id := range onPage {
		photos = append(photos, id)
	}
	sort.Ints(photos)
	cl := newClient(base)
	for _, id := range photos {
		status, body, err := cl.get("/p/" + strconv.Itoa(id))
		if err != nil {
			return c, fmt.Errorf("check writes: read photo %d: %w", id, err)
		}
		c.PagesRead++
		for _, want := range onPage[id] {
			if status != 200 || !strings.Contains(body, html.EscapeString(want)) {
				c.NotShown++
				c.problem("comment %q is stored but photo %d's page (status %d) does not show it", want, id, status)
			}
		}
	}
	return c, nil
}

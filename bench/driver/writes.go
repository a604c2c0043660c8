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

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/workload"
)

// WriteCheck is the check for lost writes (see record.WriteCheck).
type WriteCheck = record.WriteCheck

// checkWrites looks the logged writes up in the database at databaseURL
// and reads each acknowledged comment's photo page from the stage at base
// as an anonymous visitor would.
func checkWrites(ctx context.Context, databaseURL, base string, writes []workload.Write) (*WriteCheck, error) {
	c := &WriteCheck{Posted: len(writes)}
	judged := tallyWrites(c, writes)
	if len(judged) == 0 {
		return c, nil
	}
	found, err := storedComments(ctx, databaseURL, judged)
	if err != nil {
		return c, fmt.Errorf("check writes: %w", err)
	}
	c.Checked = len(judged)
	onPage := judgeStored(c, judged, found)
	return c, checkPages(c, base, onPage)
}

// tallyWrites counts the writes acknowledged, refused and unanswered, and
// returns those that were answered: the ones the database can judge (an
// unanswered write may or may not have been stored).
func tallyWrites(c *WriteCheck, writes []workload.Write) []workload.Write {
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
	return judged
}

// stored is one photo a comment's body is stored on, and how many times.
type stored struct{ photo, n int }

// storedComments looks the writes' bodies up in the database: for each
// body, the photos it is stored on.
func storedComments(ctx context.Context, databaseURL string, writes []workload.Write) (map[string][]stored, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	bodies := make([]string, len(writes))
	for i, w := range writes {
		bodies[i] = w.Body
	}
	found := map[string][]stored{}
	rows, err := conn.Query(ctx, `SELECT body, photo_id, count(*) FROM comments WHERE body = ANY($1) GROUP BY body, photo_id`, bodies)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var body string
		var s stored
		if err := rows.Scan(&body, &s.photo, &s.n); err != nil {
			return nil, err
		}
		found[body] = append(found[body], s)
	}
	return found, rows.Err()
}

// judgeStored compares each answered write with what is stored: a refused
// write must not be, an acknowledged one exactly once on its photo. It
// returns the acknowledged comments stored as they should be, by photo
// id, whose pages must show them.
func judgeStored(c *WriteCheck, judged []workload.Write, found map[string][]stored) map[int][]string {
	onPage := map[int][]string{}
	for _, w := range judged {
		n, elsewhere := 0, false
		for _, s := range found[w.Body] {
			n += s.n
			elsewhere = elsewhere || s.photo != w.Photo
		}
		switch {
		case !w.Acknowledged() && n > 0:
			c.Unexpected++
			c.Problem("comment %q was answered %d but is stored", w.Body, w.Status)
		case !w.Acknowledged():
		case n == 0:
			c.Lost++
			c.Problem("comment %q on photo %d was answered %d but is not stored", w.Body, w.Photo, w.Status)
		case n > 1 || elsewhere:
			c.Duplicated++
			c.Problem("comment %q on photo %d is stored %d times", w.Body, w.Photo, n)
		default:
			onPage[w.Photo] = append(onPage[w.Photo], w.Body)
		}
	}
	return onPage
}

// checkPages reads each photo's page from the stage at base, in photo
// order, as an anonymous visitor, and counts the comments it does not show.
func checkPages(c *WriteCheck, base string, onPage map[int][]string) error {
	photos := make([]int, 0, len(onPage))
	for id := range onPage {
		photos = append(photos, id)
	}
	sort.Ints(photos)
	cl := newClient(base)
	for _, id := range photos {
		status, body, err := cl.get("/p/" + strconv.Itoa(id))
		if err != nil {
			return fmt.Errorf("check writes: read photo %d: %w", id, err)
		}
		c.PagesRead++
		for _, want := range onPage[id] {
			if status != 200 || !strings.Contains(body, html.EscapeString(want)) {
				c.NotShown++
				c.Problem("comment %q is stored but photo %d's page (status %d) does not show it", want, id, status)
			}
		}
	}
	return nil
}

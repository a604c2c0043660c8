package driver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/bench/workload"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/sitetest"
)

var lab sitetest.Lab

func TestMain(m *testing.M) { sitetest.Main(m, &lab) }

// TestCheckWrites: the check passes a comment that is stored once and
// shown, and catches each way a write can go wrong.
func TestCheckWrites(t *testing.T) {
	ctx := context.Background()
	site, err := app.New(app.Config{Store: &data.Store{DB: lab.Pool}, Sessions: &data.Sessions{DB: lab.Pool}, Images: lab.Images})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	tag := fmt.Sprintf("check %x", time.Now().UnixNano())
	body := func(what string) string { return "Lovely photo! (" + what + ", " + tag + ")" }
	store := func(photo int64, b string) {
		t.Helper()
		if _, err := lab.Pool.Exec(ctx, `INSERT INTO comments (photo_id, user_id, body) VALUES ($1, 1, $2)`, photo, b); err != nil {
			t.Fatal(err)
		}
	}

	// A comment posted through the site, as the workload posts it.
	c := sitetest.NewClient(srv.URL)
	c.Login(t, 2)
	r := c.Post(t, "/p/3/comments", url.Values{"body": {body("posted")}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("post a comment: %d %s", r.Status, r.Body)
	}
	good := []workload.Write{
		{Photo: 3, Body: body("posted"), Status: r.Status, Answered: true},
		{Photo: 4, Body: body("in flight"), Status: 0}, // never answered: not judged
		{Photo: 4, Body: body("refused"), Status: 401, Answered: true},
	}
	wc, err := checkWrites(ctx, lab.Services.DatabaseURL, srv.URL, good)
	if err != nil {
		t.Fatal(err)
	}
	if !wc.OK() || wc.Posted != 3 || wc.Acknowledged != 1 || wc.Refused != 1 || wc.Unanswered != 1 || wc.Checked != 2 || wc.PagesRead != 1 {
		t.Fatalf("a sound run: %s %v", wc, wc.Problems)
	}

	// Each way of losing a write.
	store(5, body("twice"))
	store(5, body("twice"))
	store(6, body("refused yet stored"))
	bad := []workload.Write{
		{Photo: 3, Body: body("never stored"), Status: 303, Answered: true},
		{Photo: 5, Body: body("twice"), Status: 303, Answered: true},
		{Photo: 6, Body: body("refused yet stored"), Status: 503, Answered: true},
	}
	wc, err = checkWrites(ctx, lab.Services.DatabaseURL, srv.URL, bad)
	if err != nil {
		t.Fatal(err)
	}
	if wc.OK() || wc.Lost != 1 || wc.Duplicated != 1 || wc.Unexpected != 1 || len(wc.Problems) != 3 {
		t.Fatalf("a run with lost writes: %s %v", wc, wc.Problems)
	}

	// A stored comment its page does not show (a stale cached page).
	stale := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!DOCTYPE html><p>an old page</p>")
	}))
	defer stale.Close()
	wc, err = checkWrites(ctx, lab.Services.DatabaseURL, stale.URL, good[:1])
	if err != nil {
		t.Fatal(err)
	}
	if wc.OK() || wc.NotShown != 1 {
		t.Fatalf("a comment hidden by a stale page: %s %v", wc, wc.Problems)
	}
}

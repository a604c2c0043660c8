package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/data"
)

// fuzzPhoto is the photo FuzzForm comments on; no other test reads it.
const fuzzPhoto = "/p/123"

// FuzzForm posts arbitrary form bodies, with arbitrary content types, as
// a comment of a logged-in user: the answer is a redirect to the photo
// (stored) or a 4xx, never a 5xx. The same input is tried as the login
// form's "next", which must stay a path on this site.
func FuzzForm(f *testing.F) {
	sessions := &data.Sessions{DB: lab.Pool}
	site, err := app.New(app.Config{Store: &data.Store{DB: lab.Pool}, Sessions: sessions, Images: lab.Images})
	if err != nil {
		f.Fatal(err)
	}
	h := site.Handler()
	id := forgedID()
	if err := sessions.Create(context.Background(), id, data.User{ID: 7}); err != nil {
		f.Fatal(err)
	}
	for _, s := range [][2]string{
		{"application/x-www-form-urlencoded", "body=hello"},
		{"application/x-www-form-urlencoded", "body=%zz"},
		{"application/x-www-form-urlencoded", "body=a&body=b&body=%00"},
		{"application/x-www-form-urlencoded", "body=" + strings.Repeat("é", 1001)},
		{"application/x-www-form-urlencoded; charset=latin1", "body=\xff\xfe"},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nhi\r\n--x--\r\n"},
		{"text/plain", "body=hi"},
		{"", "//evil.example/"},
		{"application/x-www-form-urlencoded", "/\\evil.example"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req := httptest.NewRequest("POST", fuzzPhoto+"/comments", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.AddCookie(&http.Cookie{Name: app.SessionCookie, Value: id})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case w.Code >= 500:
			t.Fatalf("content type %q, body %q: %d %s", contentType, body, w.Code, w.Body.String())
		case w.Code == http.StatusSeeOther && w.Header().Get("Location") != fuzzPhoto:
			t.Fatalf("body %q: redirected to %q", body, w.Header().Get("Location"))
		case w.Code != http.StatusSeeOther && w.Code/100 != 4:
			t.Fatalf("body %q: %d", body, w.Code)
		}
		next := app.LocalPath(body)
		if u, err := url.Parse(next); !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
			err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("next %q becomes %q: not a path on this site", body, next)
		}
	})
}

// FuzzSessionCookie sends arbitrary Cookie headers: the page is the
// anonymous one (no guessed cookie is a live session), never a 5xx, and
// whatever the site accepts as a session id has the shape it issues.
func FuzzSessionCookie(f *testing.F) {
	site, err := app.New(app.Config{Store: &data.Store{DB: lab.Pool}, Sessions: &data.Sessions{DB: lab.Pool}, Images: lab.Images})
	if err != nil {
		f.Fatal(err)
	}
	h := site.Handler()
	for _, s := range []string{
		"session=" + forgedID(), "session=", "session=x", "session=" + strings.Repeat("A", 43),
		"a=b; session=\"abc\"", "session=%00", ";;;", "session=' OR '1'='1", "session=" + strings.Repeat("/", 43),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || strings.Contains(w.Body.String(), "Signed in as") {
			t.Fatalf("cookie %q: %d, signed in %v", cookie, w.Code, strings.Contains(w.Body.String(), "Signed in as"))
		}
		for _, c := range req.Cookies() {
			if app.ValidSessionID(c.Value) && (len(c.Value) != 43 || strings.Trim(c.Value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "") {
				t.Fatalf("%q passes as a session id", c.Value)
			}
		}
	})
}

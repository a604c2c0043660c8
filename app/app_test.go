package app_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/sitetest"
)

var lab sitetest.Lab

func TestMain(m *testing.M) { sitetest.Main(m, &lab) }

// newSite serves the site as stage 2 does (a pool, sessions in the
// database) on a real HTTP server.
func newSite(t testing.TB) *sitetest.Client {
	t.Helper()
	site, err := app.New(app.Config{Store: &data.Store{DB: lab.Pool}, Sessions: &data.Sessions{DB: lab.Pool}, Images: lab.Images})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	return sitetest.NewClient(srv.URL)
}

func TestPages(t *testing.T) {
	c := newSite(t)
	for _, tc := range []struct {
		path     string
		status   int
		contains []string
	}{
		{"/", 200, []string{"<h1>Newest photos</h1>", `src="/static/thumb/`, `action="/login"`}},
		{"/u/user000001", 200, []string{"user000001", " photos</p>", `href="/p/`}},
		{"/p/1", 200, []string{`src="/static/medium/`, `href="/u/user000001"`, "Log in to comment."}},
		{"/t/cat", 200, []string{"Photos tagged “cat”", `href="/p/`}},
		{"/static/style.css", 200, []string{"body {"}},
		{"/healthz", 200, []string{"ok"}},
	} {
		r := c.Get(t, tc.path)
		if r.Status != tc.status {
			t.Errorf("GET %s: status %d, want %d", tc.path, r.Status, tc.status)
		}
		for _, s := range tc.contains {
			if !strings.Contains(r.Body, s) {
				t.Errorf("GET %s: body lacks %q", tc.path, s)
			}
		}
	}
	if n := strings.Count(c.Get(t, "/").Body, `src="/static/thumb/`); n != data.PageSize {
		t.Errorf("front page shows %d thumbnails, want %d", n, data.PageSize)
	}
	img := c.Get(t, "/static/thumb/0000.jpg")
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/jpeg" || len(img.Body) < 500 {
		t.Errorf("thumbnail: %d %q %d bytes", img.Status, img.Header.Get("Content-Type"), len(img.Body))
	}
	if a, b := c.Get(t, "/p/7").Body, c.Get(t, "/p/7").Body; a != b {
		t.Error("the same page twice gave different bytes")
	}
}

// A user with more than one page of photos: the dataset makes 10-20 per
// user, so page 2 exists only after comments... instead check the bounds.
func TestPagination(t *testing.T) {
	c := newSite(t)
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"", 200},
		{"?page=1", 200},
		{"?page=2", 404}, // at most 20 photos: one page
		{"?page=0", 400},
		{"?page=-1", 400},
		{"?page=abc", 400},
		{"?page=99999999", 404},
		{"?page=99999999999999999999999", 400}, // overflows int
	} {
		if r := c.Get(t, "/u/user000002"+tc.query); r.Status != tc.status {
			t.Errorf("user page %s: %d, want %d", tc.query, r.Status, tc.status)
		}
	}
	// Tag pages have many pages; page 2 links back to page 1.
	r := c.Get(t, "/t/cat?page=2")
	if r.Status != 200 || !strings.Contains(r.Body, `href="/t/cat"`) || !strings.Contains(r.Body, `href="/t/cat?page=3"`) {
		t.Errorf("tag page 2: %d, links missing", r.Status)
	}
	if r := c.Get(t, "/t/cat?page=999999"); r.Status != 404 {
		t.Errorf("tag page past the end: %d, want 404", r.Status)
	}
}

func TestLoginLogout(t *testing.T) {
	c := newSite(t)
	name := data.UserName(3)
	// Wrong password and unknown user get the same answer.
	bad := c.Post(t, "/login", url.Values{"name": {name}, "password": {"nope"}})
	unknown := c.Post(t, "/login", url.Values{"name": {"user999999"}, "password": {"nope"}})
	if bad.Status != 401 || unknown.Status != 401 || bad.Body != unknown.Body {
		t.Errorf("bad login: %d, unknown user: %d; want the same 401 page", bad.Status, unknown.Status)
	}
	r := c.Post(t, "/login", url.Values{"name": {name}, "password": {data.Password(name)}, "next": {"/p/4"}})
	if r.Status != 303 || r.Header.Get("Location") != "/p/4" {
		t.Fatalf("login: %d to %q", r.Status, r.Header.Get("Location"))
	}
	cookie := r.Header.Get("Set-Cookie")
	for _, attr := range []string{"session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	page := c.Get(t, "/p/4")
	if !strings.Contains(page.Body, "Signed in as") || !strings.Contains(page.Body, `action="/p/4/comments"`) {
		t.Error("after login the photo page does not show the user or the comment form")
	}
	// An off-site "next" goes to the front page instead.
	c2 := sitetest.NewClient(c.Base)
	r = c2.Post(t, "/login", url.Values{"name": {name}, "password": {data.Password(name)}, "next": {"//evil.example/"}})
	if r.Header.Get("Location") != "/" {
		t.Errorf("login with next=//evil.example/ redirects to %q", r.Header.Get("Location"))
	}

	old, _ := url.Parse(c.Base)
	oldCookies := c.HTTP.Jar.Cookies(old)
	if r := c.Post(t, "/logout", url.Values{}); r.Status != 303 {
		t.Errorf("logout: %d", r.Status)
	}
	if strings.Contains(c.Get(t, "/").Body, "Signed in as") {
		t.Error("still signed in after logout")
	}
	// The old session id is dead on the server, not just forgotten.
	c3 := sitetest.NewClient(c.Base)
	c3.HTTP.Jar.SetCookies(old, oldCookies)
	if strings.Contains(c3.Get(t, "/").Body, "Signed in as") {
		t.Error("the session id from before logout still works")
	}
}

func TestComments(t *testing.T) {
	c := newSite(t)
	// Without a session: refused.
	if r := c.Post(t, "/p/9/comments", url.Values{"body": {"hello"}}); r.Status != 401 {
		t.Errorf("comment without session: %d, want 401", r.Status)
	}
	c.Login(t, 5)
	before := commentCount(t, c.Get(t, "/u/user000001").Body, 9)
	body := `<script>alert("x")</script> nice & sharp`
	// A forged author field is ignored: the author is the session's user.
	r := c.Post(t, "/p/9/comments", url.Values{"body": {body}, "user_id": {"1"}})
	if r.Status != 303 || r.Header.Get("Location") != "/p/9" {
		t.Fatalf("post comment: %d %q %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	page := c.Get(t, "/p/9").Body
	if strings.Contains(page, "<script>alert") {
		t.Error("comment body not escaped")
	}
	want := `<a href="/u/user000005">`
	i := strings.Index(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; nice &amp; sharp")
	if i < 0 || !strings.Contains(page[max(0, i-200):i], want) {
		t.Errorf("the new comment is not on the photo page by user000005")
	}
	// The owner's page counts it and the front page lists it, at once.
	if after := commentCount(t, c.Get(t, "/u/user000001").Body, 9); after != before+1 {
		t.Errorf("owner's page shows %d comments on photo 9, want %d", after, before+1)
	}
	if front := c.Get(t, "/").Body; !strings.Contains(front, `on <a href="/p/9">`) || !strings.Contains(front, "nice &amp; sharp") {
		t.Error("the front page's latest comments lack the new comment")
	}
	// Anonymous visitors see it too.
	if !strings.Contains(newSite(t).Get(t, "/p/9").Body, "nice &amp; sharp") {
		t.Error("comment not visible to others")
	}
	for _, tc := range []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"empty", "/p/9/comments", url.Values{"body": {"   "}}, 400},
		{"too long", "/p/9/comments", url.Values{"body": {strings.Repeat("é", app.MaxCommentLen+1)}}, 400},
		{"no such photo", "/p/999999999/comments", url.Values{"body": {"hi"}}, 404},
		{"bad id", "/p/x/comments", url.Values{"body": {"hi"}}, 404},
		{"NUL byte", "/p/9/comments", url.Values{"body": {"a\x00b"}}, 400},
	} {
		if r := c.Post(t, tc.path, tc.form); r.Status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, r.Status, tc.status)
		}
	}
	// A cross-site form post is refused, even with a valid session.
	r = c.Do(t, "POST", "/p/9/comments", url.Values{"body": {"csrf"}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if r.Status != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", r.Status)
	}
	r = c.Do(t, "POST", "/p/9/comments", url.Values{"body": {"csrf"}}, map[string]string{"Origin": "http://evil.example"})
	if r.Status != http.StatusForbidden {
		t.Errorf("post with a foreign Origin: %d, want 403", r.Status)
	}
	if strings.Contains(c.Get(t, "/p/9").Body, "csrf") {
		t.Error("a refused cross-site comment was stored")
	}
}

// Bad input gets a 4xx with a short page, never a 500, and the server
// keeps answering.
func TestBadInput(t *testing.T) {
	c := newSite(t)
	long := strings.Repeat("a", app.MaxURILength+10)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
		status int
	}{
		{"unknown photo", "GET", "/p/999999999", "", 404},
		{"photo id zero", "GET", "/p/0", "", 404},
		{"photo id not a number", "GET", "/p/abc", "", 404},
		{"photo id overflows", "GET", "/p/99999999999999999999999", "", 404},
		{"negative photo id", "GET", "/p/-3", "", 404},
		{"unknown user", "GET", "/u/nobody", "", 404},
		{"odd user name", "GET", "/u/Robert%27);%20DROP%20TABLE%20users;--", "", 404},
		{"space in request line", "GET", "/u/a b", "", 400},
		{"unknown tag", "GET", "/t/no-such-tag", "", 404},
		{"unknown page", "GET", "/nothing/here", "", 404},
		{"long path", "GET", "/u/" + long, "", 414},
		{"long query", "GET", "/?q=" + long, "", 414},
		{"bad UTF-8 in path", "GET", "/u/%ff%fe", "", 400},
		{"bad UTF-8 in query", "GET", "/?x=%ff", "", 400},
		{"traversal", "GET", "/static/../go.mod", "", 307}, // to the cleaned path, which is 404
		{"encoded traversal", "GET", "/static/thumb/..%2f..%2fpool.json", "", 404},
		{"wrong method", "DELETE", "/p/1", "", 405},
		{"huge form", "POST", "/login", "name=" + strings.Repeat("x", app.MaxFormBytes+1), 413},
		{"malformed form", "POST", "/login", "%zz=1", 400},
		{"NUL in login name", "POST", "/login", "name=use%00r&password=x", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, c.Base, strings.NewReader(tc.body))
			req.URL.Opaque = tc.path // sent as written, not re-encoded
			if tc.method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := c.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			if r := c.Get(t, "/healthz"); r.Status != 200 {
				t.Errorf("after %s the server answers %d", tc.name, r.Status)
			}
		})
	}
	// A forged or malformed session cookie is an anonymous visitor.
	for _, v := range []string{"x", strings.Repeat("A", 43), "%%%", strings.Repeat("z", 5000)} {
		r := c.Do(t, "GET", "/", nil, map[string]string{"Cookie": "session=" + v})
		if r.Status != 200 || strings.Contains(r.Body, "Signed in as") {
			t.Errorf("cookie %.20q: %d", v, r.Status)
		}
	}
}

// FuzzSite sends arbitrary paths, queries and form bodies through the
// site's handler: whatever comes in, the answer is never a 5xx. Its seed
// corpus runs with every go test; "make fuzz" explores further.
func FuzzSite(f *testing.F) {
	site, err := app.New(app.Config{Store: &data.Store{DB: lab.Pool}, Sessions: &data.Sessions{DB: lab.Pool}, Images: lab.Images})
	if err != nil {
		f.Fatal(err)
	}
	h := site.Handler()
	for _, s := range [][3]string{
		{"GET", "/", ""}, {"GET", "/u/user000001?page=2", ""}, {"GET", "/p/12", ""}, {"GET", "/t/cat?page=x", ""},
		{"POST", "/login", "name=user000001&password=pw-user000001"}, {"POST", "/p/1/comments", "body=hi"},
		{"GET", "/static/thumb/0001.jpg", ""}, {"GET", "/u/%ff", ""}, {"GET", "/p/1e9", ""}, {"POST", "/logout", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if method != "GET" && method != "POST" {
			method = "GET"
		}
		req, err := http.NewRequest(method, "http://example.test/", strings.NewReader(body))
		if err != nil {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		req.URL, req.RequestURI = u, target
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q (body %q): %d %s", method, target, body, w.Code, w.Body.String())
		}
	})
}

// commentCount reads the comment count of photo id's card on a list page.
func commentCount(t *testing.T, page string, id int64) int {
	t.Helper()
	re := regexp.MustCompile(`<a href="/p/` + strconv.FormatInt(id, 10) + `">[^<]*</a><br><small>by <a [^>]*>[^<]*</a> · (\d+) comments?</small>`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no card with a comment count for photo %d", id)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// A comment changes the photo's page, the front page and every page of
// its owner's list, each under the key its one cacheable address has.
func TestCommentPageKeys(t *testing.T) {
	c := data.NewComment{Comment: data.Comment{PhotoID: 12}, Owner: data.User{ID: 3, Name: "ann"}, OwnerPhotos: 2*data.PageSize + 1}
	want := []string{"page:/p/12", "page:/", "page:/u/ann", "page:/u/ann?page=2", "page:/u/ann?page=3"}
	if got := app.CommentPageKeys(c); !slices.Equal(got, want) {
		t.Errorf("CommentPageKeys = %q, want %q", got, want)
	}
	c.OwnerPhotos = 0
	if got := app.CommentPageKeys(c); !slices.Equal(got, want[:3]) {
		t.Errorf("without photos: %q, want %q", got, want[:3])
	}
}

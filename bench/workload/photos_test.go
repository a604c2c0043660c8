package workload_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/loadgen"
	"github.com/scalelab/scalelab/bench/workload"
)

// page is the HTML a fake site returns: a few images, some shared between
// pages as the real image pool's are.
func page(path string) []byte {
	n := len(path) % 4
	var b strings.Builder
	b.WriteString("<html><body>")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&b, `<img alt="x" src="/static/img/%03d.jpg">`, n+i)
	}
	if strings.HasPrefix(path, "/t/") && !strings.Contains(path, "?page=3") {
		n := 2
		if strings.Contains(path, "?page=2") {
			n = 3
		}
		fmt.Fprintf(&b, `<a href="%s?page=%d">older</a>`, strings.SplitN(path, "?", 2)[0], n)
	}
	b.WriteString("</body></html>")
	return []byte(b.String())
}

// simulate runs visits without a server, answering as the site would, and
// returns one line per request.
func simulate(w *workload.Photos, visits int) []string {
	var out []string
	for k := 0; k < visits; k++ {
		v := w.Visit(uint64(k))
		var prev *loadgen.Response
		for {
			req, ok := v.Next(prev)
			if !ok {
				break
			}
			out = append(out, fmt.Sprintf("%d %s %s %s %s", k, req.Method, req.Path, req.Cookie, req.Form))
			resp := &loadgen.Response{Status: 200}
			if req.Path == "/login" {
				resp.Cookies = []string{"session=s" + req.Form}
			}
			if req.Kind == loadgen.Page {
				resp.Body = page(req.Path)
			}
			prev = resp
		}
	}
	return out
}

func mustPhotos(tb testing.TB, w workload.Photos) *workload.Photos {
	tb.Helper()
	if err := w.Check(); err != nil {
		tb.Fatal(err)
	}
	return &w
}

func TestSameSeedSameRequests(t *testing.T) {
	opts := workload.Photos{Seed: 7, Users: 1000, LoginShare: 0.3, CommentShare: 0.1}
	a := simulate(mustPhotos(t, opts), 300)
	b := simulate(mustPhotos(t, opts), 300)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatal("the same seed gave different requests")
	}
	opts.Seed = 8
	c := simulate(mustPhotos(t, opts), 300)
	if strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Fatal("different seeds gave the same requests")
	}
}

func TestPhotosMix(t *testing.T) {
	w := mustPhotos(t, workload.Photos{Seed: 1, Users: 1000, LoginShare: 0.2, CommentShare: 0.05})
	const visits = 4000
	lines := simulate(w, visits)
	user := regexp.MustCompile(`^/u/user(\d{6})$`)
	photo := regexp.MustCompile(`^/p/(\d+)$`)
	counts := map[string]int{}
	users := map[string]int{}
	logins, comments := map[string]bool{}, 0
	for _, l := range lines {
		f := strings.SplitN(l, " ", 5)
		visit, method, path, cookie := f[0], f[1], f[2], f[3]
		switch {
		case method == "POST" && path == "/login":
			logins[visit] = true
		case method == "POST":
			comments++
			if !photo.MatchString(strings.TrimSuffix(path, "/comments")) || cookie == "" {
				t.Errorf("comment %q without a photo path or a session", l)
			}
		case path == "/":
			counts["front"]++
		case strings.HasPrefix(path, "/static/"):
			counts["image"]++
		case user.MatchString(path):
			counts["user"]++
			users[user.FindStringSubmatch(path)[1]]++
		case photo.MatchString(path):
			counts["photo"]++
		case strings.HasPrefix(path, "/t/"):
			counts["tag"]++
			if strings.Contains(path, "?page=") {
				counts["next"]++
			}
		default:
			t.Errorf("unexpected request %q", l)
		}
		if logins[visit] && method != "POST" && !strings.HasPrefix(cookie, "session=") {
			t.Errorf("logged-in visitor's request %q has no session cookie", l)
		}
	}
	pages := counts["front"] + counts["user"] + counts["photo"] + counts["tag"]
	if mean := float64(pages) / visits; mean < 3.5 || mean > 4.5 {
		t.Errorf("%.2f pages per visit, want about 4", mean)
	}
	if share := float64(counts["user"]) / float64(pages); share < 0.35 || share > 0.45 {
		t.Errorf("users' pages are %.2f of pages, want about 0.40", share)
	}
	if share := float64(len(logins)) / visits; share < 0.17 || share > 0.23 {
		t.Errorf("%.3f of visitors logged in, want about 0.2", share)
	}
	if share := float64(comments) / visits; share < 0.035 || share > 0.065 {
		t.Errorf("%.3f of visitors commented, want about 0.05", share)
	}
	if counts["image"] == 0 {
		t.Error("no images requested")
	}
	if counts["next"] == 0 {
		t.Error("no next-page link followed")
	}
	// Zipf: the most popular user gets far more than a uniform 1/1000.
	most := 0
	for _, n := range users {
		most = max(most, n)
	}
	if share := float64(most) / float64(counts["user"]); share < 0.05 {
		t.Errorf("the most popular user has %.3f of user pages, want a Zipf head", share)
	}
}

func TestImages(t *testing.T) {
	html := `<img src="/static/a.jpg"><img src="/other/b.jpg"><a href="/static/no.jpg"></a><img class=x src="/static/c.jpg?v=1&amp;s=2">`
	got := strings.Join(workload.Images([]byte(html), 10), " ")
	if want := "/static/a.jpg /static/c.jpg?v=1&s=2"; got != want {
		t.Errorf("Images = %q, want %q", got, want)
	}
	if n := len(workload.Images([]byte(html), 1)); n != 1 {
		t.Errorf("max 1 gave %d", n)
	}
}

func TestNextPage(t *testing.T) {
	html := `<a href="/t/cat">newer</a> <a href="/t/cat?page=3">older</a> <a href="/t/cat?page=2">2</a> <a href="http://x/?page=9">`
	if got := workload.NextPage([]byte(html)); got != "/t/cat?page=3" {
		t.Errorf("NextPage = %q", got)
	}
	if got := workload.NextPage([]byte(`<a href="/u/x">`)); got != "" {
		t.Errorf("NextPage without links = %q", got)
	}
}

func TestParseMix(t *testing.T) {
	m, err := workload.ParseMix("front=1,user=2,photo=3,tag=4")
	if err != nil || m != (workload.Mix{Front: 1, User: 2, Photo: 3, Tag: 4}) {
		t.Errorf("ParseMix = %+v, %v", m, err)
	}
	for _, bad := range []string{"", "front", "front=-1", "video=1", "front=0"} {
		if _, err := workload.ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q): no error", bad)
		}
	}
}

// site is a fake photo site that logs what it is asked, in order.
type site struct {
	mu  sync.Mutex
	log []string
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	cookie, _ := r.Cookie("session")
	s.mu.Lock()
	line := r.Method + " " + r.URL.RequestURI()
	if cookie != nil {
		line += " cookie=" + cookie.Value
	}
	if r.Method == "POST" {
		// The origin must be the site's own: the site refuses cross-site posts.
		origin := "wrong"
		if r.Header.Get("Origin") == "http://"+r.Host {
			origin = "same"
		}
		line += " origin=" + origin + " " + r.PostForm.Encode()
	}
	s.log = append(s.log, line)
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/login":
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "for-" + r.PostFormValue("name")})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	case r.Method == "POST":
		http.Redirect(w, r, strings.TrimSuffix(r.URL.Path, "/comments"), http.StatusSeeOther)
	case strings.HasPrefix(r.URL.Path, "/static/"):
		io.WriteString(w, "JPEG")
	default:
		w.Header().Set("Content-Type", "text/html")
		w.Write(page(r.URL.Path))
	}
}

// runSite loads a fake site with the workload and returns its log.
func runSite(t *testing.T, seed uint64, portable bool) []string {
	s := &site{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	w := mustPhotos(t, workload.Photos{Seed: seed, Users: 500, LoginShare: 0.3, CommentShare: 0.2})
	rec, err := loadgen.Run(context.Background(), loadgen.Options{
		Targets: []*url.URL{u}, Connections: 1, Requests: 300, Workload: w, Portable: portable,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Results.Requests != 300 || rec.Results.ErrorsTotal != 0 {
		t.Fatalf("requests %d, errors %v", rec.Results.Requests, rec.Results.Errors)
	}
	if pv := rec.Results.PageViews; pv == 0 || pv >= 300 {
		t.Errorf("%d page views of 300 requests, want some but not all", pv)
	}
	srv.Close() // every handler has returned
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log
}

// TestPhotosOverHTTP runs the workload against a fake site: the same seed
// sends the same requests, whichever engine sends them; logins keep their
// cookie, comments carry the origin and the session.
func TestPhotosOverHTTP(t *testing.T) {
	a := runSite(t, 3, false)
	b := runSite(t, 3, true)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("the same seed sent different requests: request %d is %q, then %q", i, a[i], b[i])
			}
		}
		t.Fatalf("the same seed sent %d, then %d requests", len(a), len(b))
	}
	var sawLogin, sawComment, sawImage bool
	for i, l := range a {
		// A browser follows the redirect that answers a form post.
		if strings.HasPrefix(l, "POST ") && i+1 < len(a) {
			path := strings.Fields(l)[1]
			want := "GET /"
			if strings.HasSuffix(path, "/comments") {
				want = "GET " + strings.TrimSuffix(path, "/comments")
			}
			if got := a[i+1]; got != want && !strings.HasPrefix(got, want+" ") {
				t.Errorf("after %q came %q, want %q", l, got, want)
			}
		}
		switch {
		case strings.HasPrefix(l, "POST /login"):
			sawLogin = true
			if !strings.Contains(l, "origin=same") || !strings.Contains(l, "password=pw-user") {
				t.Errorf("login %q", l)
			}
		case strings.HasPrefix(l, "POST /p/"):
			sawComment = true
			if !strings.Contains(l, "cookie=for-user") || !strings.Contains(l, "origin=same") || !strings.Contains(l, "body=") {
				t.Errorf("comment %q without a session or body", l)
			}
		case strings.HasPrefix(l, "GET /static/"):
			sawImage = true
		}
	}
	if !sawLogin || !sawComment || !sawImage {
		t.Errorf("login %v, comment %v, image %v: want all", sawLogin, sawComment, sawImage)
	}
	if c := runSite(t, 4, false); strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Error("different seeds sent the same requests")
	}
}

// BenchmarkPhotosOverHTTP measures the workload's request loop against the
// fake site (one op is one request); the site's own cost is included.
func BenchmarkPhotosOverHTTP(b *testing.B) {
	srv := httptest.NewServer(&site{})
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	w := mustPhotos(b, workload.Photos{Seed: 1, Users: 1000, LoginShare: 0.1, CommentShare: 0.02})
	b.ReportAllocs()
	b.ResetTimer()
	rec, err := loadgen.Run(context.Background(), loadgen.Options{
		Targets: []*url.URL{u}, Connections: 8, Requests: int64(b.N), Workload: w,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rec.Results.RequestsPerS, "req/s")
}

// TestPhotosOpenLoop paces page views and posts at the rate; the images of
// each page follow it at once.
func TestPhotosOpenLoop(t *testing.T) {
	for _, portable := range []bool{false, true} {
		srv := httptest.NewServer(&site{})
		defer srv.Close()
		u, _ := url.Parse(srv.URL)
		w := mustPhotos(t, workload.Photos{Seed: 1, Users: 100, LoginShare: 0.1})
		rec, err := loadgen.Run(context.Background(), loadgen.Options{
			Targets: []*url.URL{u}, Connections: 4, Rate: 100, Duration: time.Second, Workload: w, Portable: portable,
		})
		if err != nil {
			t.Fatal(err)
		}
		r := rec.Results
		posts := r.Status["303"] // logins and comments redirect
		// Never faster than the schedule; how many of the 100 due are
		// sent depends on how busy the machine is (late ones are counted).
		if paced := r.PageViews + posts; paced < 1 || paced > 101 {
			t.Errorf("portable=%v: %d page views and posts in 1 s at 100/s", portable, paced)
		}
		if r.Requests <= r.PageViews+posts {
			t.Errorf("portable=%v: %d requests for %d page views: no images", portable, r.Requests, r.PageViews)
		}
	}
}

// TestReturningVisitors: with Returning, most logged-in visits reuse a
// session an earlier visit got instead of logging in; without it, every
// logged-in visit logs in.
func TestReturningVisitors(t *testing.T) {
	count := func(w *workload.Photos) (logins, withCookie int) {
		for _, l := range simulate(w, 2000) {
			switch {
			case strings.Contains(l, "POST /login "):
				logins++
			case strings.Contains(l, " session="):
				withCookie++
			}
		}
		return
	}
	every, _ := count(mustPhotos(t, workload.Photos{Seed: 5, Users: 1000, LoginShare: 0.3}))
	fresh, cookies := count(mustPhotos(t, workload.Photos{Seed: 5, Users: 1000, LoginShare: 0.3, Returning: 0.9}))
	if every < 400 {
		t.Fatalf("%d logins in 2000 visits at a login share of 0.3", every)
	}
	// About 10% of the logged-in visits log in, plus the first ones, before
	// the run has a session to return with.
	if fresh == 0 || fresh > every/4 {
		t.Errorf("%d logins with Returning 0.9, %d without: want about a tenth", fresh, every)
	}
	if cookies == 0 {
		t.Error("no request carried a returning visitor's session")
	}
	if err := (&workload.Photos{Returning: 1.5}).Check(); err == nil {
		t.Error("Returning 1.5 accepted")
	}
}

// TestWriteLog: every comment posted is logged with its photo, its tagged
// body and the answer's status; a failed request is logged unanswered.
func TestWriteLog(t *testing.T) {
	log := &workload.WriteLog{}
	w := mustPhotos(t, workload.Photos{Seed: 9, Users: 100, CommentShare: 0.5, Tag: "run 7", Writes: log})
	posted := 0
	for k := 0; k < 200; k++ {
		v := w.Visit(uint64(k))
		var prev *loadgen.Response
		for {
			req, ok := v.Next(prev)
			if !ok {
				break
			}
			prev = &loadgen.Response{Status: 200}
			if strings.HasSuffix(req.Path, "/comments") {
				posted++
				// Every third comment fails without an answer, every
				// other is refused.
				switch posted % 3 {
				case 0:
					prev = nil
				case 1:
					prev = &loadgen.Response{Status: 303, Location: strings.TrimSuffix(req.Path, "/comments")}
				case 2:
					prev = &loadgen.Response{Status: 503}
				}
			}
			if req.Path == "/login" {
				prev.Cookies = []string{"session=abc"}
			}
		}
	}
	writes := log.Writes()
	if posted < 50 || len(writes) != posted {
		t.Fatalf("%d comments posted, %d logged", posted, len(writes))
	}
	for i, wr := range writes {
		if !strings.Contains(wr.Body, "run 7") || wr.Photo < 1 || !wr.Answered {
			t.Fatalf("write %d: %+v", i, wr)
		}
		want := map[int]int{0: 0, 1: 303, 2: 503}[(i+1)%3]
		if wr.Status != want || wr.Acknowledged() != (want == 303) {
			t.Errorf("write %d: status %d, want %d", i, wr.Status, want)
		}
	}
}

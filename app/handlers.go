package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scalelab/scalelab/data"
)

// Limits on what a request may carry; beyond them the site answers 4xx.
const (
	MaxURILength   = 2048      // path and query: 414 beyond
	MaxFormBytes   = 64 << 10  // POST bodies: 413 beyond
	MaxCommentLen  = 1000      // runes
	LatestComments = 5         // on the front page
	maxPage        = 1_000_000 // pages beyond are 404 without a query
	SessionCookie  = "session"
	sessionIDBytes = 32
)

var (
	validName  = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	validTag   = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	validImage = regexp.MustCompile(`^(thumb|medium)/[0-9]{4}\.jpg$`)
	validID    = regexp.MustCompile(`^[1-9][0-9]{0,17}$`)
)

// page is what every template gets.
type page struct {
	Title  string
	Path   string     // the request path, for the login form's "next"
	Viewer *data.User // nil when not logged in

	Photos   []data.PhotoCard
	Comments []data.CommentView // the front page's latest comments
	User     data.User
	Total    int
	Tag      string
	Photo    data.PhotoDetail

	Page, Pages int
	Prev, Next  string

	Status  string
	Message string
}

// Handler returns the site's HTTP handler: the routes behind the checks
// every request goes through (size limits, valid UTF-8, cross-site POSTs,
// no panic ever reaching the client).
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.front)
	mux.HandleFunc("GET /u/{name}", s.userPage)
	mux.HandleFunc("GET /p/{id}", s.photoPage)
	mux.HandleFunc("POST /p/{id}/comments", s.addComment)
	mux.HandleFunc("GET /t/{tag}", s.tagPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET "+HealthPath, s.health)
	mux.HandleFunc("GET /static/", s.static)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "There is no page at this address.")
	})
	// Browsers mark cross-site requests (Sec-Fetch-Site, Origin): a form
	// posted from another site is refused with 403.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "Cross-site form posts are refused.")
	}))
	var h http.Handler = cop.Handler(mux)
	if s.cfg.Pages != nil {
		h = s.pageCache(h)
	}
	return s.guard(h)
}

// Where a page came from, in the X-Served-By header (stage 4): nginx
// straight from memcached, the app from memcached, or the app rendering it.
const (
	ServedByNginx    = "nginx-memcached"
	ServedByAppCache = "app-cache"
	ServedByApp      = "app-rendered"
)

var pageQuery = regexp.MustCompile(`^page=[1-9][0-9]{0,6}$`)

// cacheable reports whether r asks for an anonymous page that is kept in
// the page cache: a GET without a session cookie, for a page of the site
// in its one canonical spelling (so that a write knows every key to drop).
func cacheable(r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Path == HealthPath || strings.HasPrefix(r.URL.Path, "/static/") {
		return false
	}
	if _, err := r.Cookie(SessionCookie); err == nil {
		return false
	}
	if r.URL.RawQuery != "" && (!pageQuery.MatchString(r.URL.RawQuery) || r.URL.RawQuery == "page=1") {
		return false
	}
	want := r.URL.Path
	if r.URL.RawQuery != "" {
		want += "?" + r.URL.RawQuery
	}
	return r.RequestURI == want && len(r.RequestURI) < 200
}

// pageCache serves anonymous pages from the page cache and fills it.
func (s *Site) pageCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cacheable(r) {
			w.Header().Set("X-Served-By", ServedByApp)
			next.ServeHTTP(w, r)
			return
		}
		key := PageKey(r.RequestURI)
		if !s.missedByNginx(r) {
			if page, ok := s.cfg.Pages.Get(r.Context(), key); ok {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("X-Served-By", ServedByAppCache)
				// An error here is the client gone: nothing is left to do.
				_, _ = w.Write(page)
				return
			}
		}
		w.Header().Set("X-Served-By", ServedByApp)
		fill := s.cfg.Pages.Lease(r.Context(), key)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusOK && strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			fill(rec.body.Bytes())
		} else {
			fill(nil)
		}
	})
}

// missedByNginx reports whether the page of r was just looked up in the
// page cache by stage 4's nginx, which passes it on only after a miss.
func (s *Site) missedByNginx(r *http.Request) bool {
	return s.cfg.TrustPageMiss && r.Header.Get(PageMissedHeader) != ""
}

// recorder passes a response through and keeps a copy of its body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// CommentPageKeys returns the page-cache keys of the pages a new comment
// changes: the photo's page, the front page (latest comments) and every
// page of the owner's list (comment counts), each in the one spelling
// cacheable accepts. The site does not delete them itself: the store's
// cache does, in the same place as the query results it drops (see
// cache.Store.PageKeys).
func CommentPageKeys(c data.NewComment) []string {
	base := "/u/" + c.Owner.Name
	keys := []string{PageKey("/p/" + strconv.FormatInt(c.PhotoID, 10)), PageKey("/"), PageKey(base)}
	for p := 2; p <= data.PageCount(c.OwnerPhotos); p++ {
		keys = append(keys, PageKey(base+"?page="+strconv.Itoa(p)))
	}
	return keys
}

func (s *Site) queryTimeout() time.Duration {
	if s.cfg.QueryTimeout == 0 {
		return DefaultQueryTimeout
	}
	return s.cfg.QueryTimeout
}

// guard is what every request goes through first: limits on the address
// and the body, the database deadline, and a recovered panic as a 500.
func (s *Site) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Printf("app: panic serving %s %q: %v", r.Method, r.URL.Path, v)
				s.fail(w, r, http.StatusInternalServerError, "Something went wrong.")
			}
		}()
		switch {
		case len(r.RequestURI) > MaxURILength || len(r.URL.RawQuery) > MaxURILength:
			s.fail(w, r, http.StatusRequestURITooLong, "The address is too long.")
			return
		case !utf8.ValidString(r.URL.Path) || !validQuery(r.URL.RawQuery):
			s.fail(w, r, http.StatusBadRequest, "The address is not valid UTF-8.")
			return
		}
		// A declared body over the limit is refused before it is read: a
		// client announcing gigabytes and sending nothing would otherwise
		// hold the request until the server's read timeout.
		if r.ContentLength > MaxFormBytes {
			w.Header().Set("Connection", "close")
			s.fail(w, r, http.StatusRequestEntityTooLarge, "The request body is too large.")
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		}
		if d := s.queryTimeout(); d > 0 {
			ctx, cancel := context.WithTimeoutCause(r.Context(), d, ErrQueryDeadline)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// validQuery reports whether every name and value of a query string is
// valid UTF-8 once decoded.
func validQuery(raw string) bool {
	if raw == "" {
		return true
	}
	q, _ := url.ParseQuery(raw)
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

// fail writes a short error page with the given status. It is the one
// place where errors become status codes.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p := &page{Title: http.StatusText(status), Path: "/", Status: strconv.Itoa(status) + " " + http.StatusText(status), Message: msg}
	body, err := s.render("error", p)
	if err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

// failErr maps a store error: not found is 404, anything else 503 (the
// database is unreachable or overloaded; the request may be retried).
func (s *Site) failErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, data.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "Not found.")
		return
	}
	if r.Context().Err() != nil && !errors.Is(context.Cause(r.Context()), ErrQueryDeadline) {
		return // the client has gone
	}
	s.errs.printf("app: %s %s: %v", r.Method, r.URL.Path, err)
	w.Header().Set("Retry-After", "1")
	s.fail(w, r, http.StatusServiceUnavailable, "The site is busy; try again in a moment.")
}

func (s *Site) write(w http.ResponseWriter, r *http.Request, name string, p *page) {
	body, err := s.render(name, p)
	if err != nil {
		log.Printf("app: %v", err)
		s.fail(w, r, http.StatusInternalServerError, "Something went wrong.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(body)
}

// newPage starts a page for r, reading the visitor's session: every page
// shows who is logged in, so every request with a cookie reads it.
func (s *Site) newPage(r *http.Request, title string) *page {
	return &page{Title: title, Path: r.URL.Path, Viewer: s.viewer(r)}
}

// viewer is the logged-in user, or nil: a page whose session cannot be
// read (its store is down) is shown as to an anonymous visitor.
func (s *Site) viewer(r *http.Request) *data.User {
	u, err := s.session(r)
	if err != nil {
		s.errs.printf("app: %v", err)
	}
	return u
}

// session reads the request's session: nil without a cookie, with a
// malformed one, or with an unknown or expired id; an error only when the
// session store failed.
func (s *Site) session(r *http.Request) (*data.User, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || !validSessionID(c.Value) {
		return nil, nil
	}
	u, err := s.cfg.Sessions.Get(r.Context(), c.Value)
	if errors.Is(err, data.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func validSessionID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(sessionIDBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

func newSessionID() string {
	b := make([]byte, sessionIDBytes)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageNumber reads ?page=N (1 when absent). It answers a malformed
// number with 400 and an absurd one with 404 itself, and then returns false.
func (s *Site) pageNumber(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		s.fail(w, r, http.StatusBadRequest, "The page number must be a positive whole number.")
		return 0, false
	}
	if n > maxPage {
		s.fail(w, r, http.StatusNotFound, "There is no such page.")
		return 0, false
	}
	return n, true
}

func (s *Site) front(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "Newest photos")
	var err error
	if p.Photos, err = s.cfg.Store.Newest(r.Context()); err != nil {
		s.failErr(w, r, err)
		return
	}
	if p.Comments, err = s.cfg.Store.LatestComments(r.Context(), LatestComments); err != nil {
		s.failErr(w, r, err)
		return
	}
	s.write(w, r, "front", p)
}

func (s *Site) userPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validName.MatchString(name) {
		s.fail(w, r, http.StatusNotFound, "There is no such user.")
		return
	}
	n, ok := s.pageNumber(w, r)
	if !ok {
		return
	}
	u, err := s.cfg.Store.UserByName(r.Context(), name)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	p := s.newPage(r, u.DisplayName)
	p.User = u
	if p.Photos, p.Total, err = s.cfg.Store.UserPhotos(r.Context(), u, n); err != nil {
		s.failErr(w, r, err)
		return
	}
	p.Pages = data.PageCount(p.Total)
	if n > p.Pages {
		s.fail(w, r, http.StatusNotFound, "There is no such page.")
		return
	}
	p.Page = n
	base := "/u/" + u.Name
	p.Prev, p.Next = pageLinks(base, n, n < p.Pages)
	s.write(w, r, "user", p)
}

func pageLinks(base string, n int, hasNext bool) (prev, next string) {
	if n == 2 {
		prev = base
	} else if n > 2 {
		prev = base + "?page=" + strconv.Itoa(n-1)
	}
	if hasNext {
		next = base + "?page=" + strconv.Itoa(n+1)
	}
	return prev, next
}

func (s *Site) tagPage(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	if !validTag.MatchString(tag) {
		s.fail(w, r, http.StatusNotFound, "There is no such tag.")
		return
	}
	n, ok := s.pageNumber(w, r)
	if !ok {
		return
	}
	p := s.newPage(r, "Tagged "+tag)
	p.Tag, p.Page = tag, n
	var more bool
	var err error
	if p.Photos, more, err = s.cfg.Store.TagPhotos(r.Context(), tag, n); err != nil {
		s.failErr(w, r, err)
		return
	}
	if len(p.Photos) == 0 {
		s.fail(w, r, http.StatusNotFound, "No photos here.")
		return
	}
	p.Prev, p.Next = pageLinks("/t/"+tag, n, more)
	s.write(w, r, "tag", p)
}

func photoID(r *http.Request) (int64, bool) {
	v := r.PathValue("id")
	if !validID.MatchString(v) {
		return 0, false
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil
}

func (s *Site) photoPage(w http.ResponseWriter, r *http.Request) {
	id, ok := photoID(r)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "There is no such photo.")
		return
	}
	d, err := s.cfg.Store.Photo(r.Context(), id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	p := s.newPage(r, d.Title)
	p.Photo = d
	s.write(w, r, "photo", p)
}

func (s *Site) addComment(w http.ResponseWriter, r *http.Request) {
	id, ok := photoID(r)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "There is no such photo.")
		return
	}
	viewer, err := s.session(r)
	if err != nil {
		// Not "log in": the session may well be valid, its store is down.
		s.failErr(w, r, err)
		return
	}
	if viewer == nil {
		s.fail(w, r, http.StatusUnauthorized, "Log in to comment.")
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	body := strings.TrimSpace(r.PostForm.Get("body"))
	switch n := utf8.RuneCountInString(body); {
	case !utf8.ValidString(body):
		s.fail(w, r, http.StatusBadRequest, "The comment is not valid UTF-8.")
		return
	case n == 0:
		s.fail(w, r, http.StatusBadRequest, "The comment is empty.")
		return
	case n > MaxCommentLen:
		s.fail(w, r, http.StatusBadRequest, "The comment is longer than 1000 characters.")
		return
	case strings.ContainsFunc(body, isControl):
		s.fail(w, r, http.StatusBadRequest, "The comment contains control characters.")
		return
	}
	// The author is the session's user, never a form field.
	if _, err := s.cfg.Store.AddComment(r.Context(), id, viewer.ID, body); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/p/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// isControl reports the characters a comment may not hold (PostgreSQL
// refuses NUL outright); line breaks and tabs are fine.
func isControl(r rune) bool {
	return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
}

// parseForm reads a POST form within MaxFormBytes; it answers 413 or 400
// itself and returns false when the form cannot be read.
func (s *Site) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
		} else {
			s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		}
		return false
	}
	return true
}

func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	// The same answer, after the same work (one bcrypt comparison), whether
	// the name is malformed, the user does not exist or the password is
	// wrong: neither the page nor its timing tells which names exist.
	var u data.User
	err := data.ErrNotFound
	if validName.MatchString(name) {
		u, err = s.cfg.Store.UserWithPassword(r.Context(), name)
	}
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		s.failErr(w, r, err)
		return
	}
	ok, upgrade := data.CheckPassword(u.PasswordHash, password)
	if err != nil || !ok {
		s.fail(w, r, http.StatusUnauthorized, "Wrong name or password.")
		return
	}
	if upgrade {
		s.upgradePassword(r, u, password)
	}
	// A new id at every login: a session id known before login is useless.
	if c, err := r.Cookie(SessionCookie); err == nil && validSessionID(c.Value) {
		s.cfg.Sessions.Delete(r.Context(), c.Value)
	}
	id := newSessionID()
	if err := s.cfg.Sessions.Create(r.Context(), id, u); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

// upgradePassword replaces a legacy (seeded) hash by a bcrypt one once the
// password is known to be right. A failure is logged, not shown: the
// login succeeded, and the next one tries again.
func (s *Site) upgradePassword(r *http.Request, u data.User, password string) {
	h, err := data.HashPassword(password)
	if err == nil {
		err = s.cfg.Store.UpgradePassword(r.Context(), u, h)
	}
	if err != nil {
		log.Printf("app: rehash the password of %s: %v", u.Name, err)
	}
}

// localPath returns next if it is a path on this site, else "/": the
// login form cannot be used to send a visitor elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") || len(next) > 256 {
		return "/"
	}
	next = path.Clean(next)
	// It must also read as a URL (FuzzForm found "/0%"), and as one
	// without a scheme or host.
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && validSessionID(c.Value) {
		if err := s.cfg.Sessions.Delete(r.Context(), c.Value); err != nil {
			s.failErr(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// HealthPath is the health check's address: what a supervisor probes, not
// a page a visitor asks for (the modelled app's cost spares it).
const HealthPath = "/healthz"

func (s *Site) health(w http.ResponseWriter, r *http.Request) {
	// The error is logged, never shown: its text names hosts, users and
	// databases, which are no business of whoever asks.
	if err := s.cfg.Store.Ping(r.Context()); err != nil {
		s.failErr(w, r, fmt.Errorf("health check: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// static serves the stylesheet and the image pool. Images are read from
// disk on every request: the cost the talk found at stage 3.
func (s *Site) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	switch {
	case name == "style.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(styleCSS)
	case validImage.MatchString(name) && s.cfg.Images != "":
		file := filepath.Join(s.cfg.Images, filepath.FromSlash(name))
		if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() {
			s.fail(w, r, http.StatusNotFound, "No such file.")
			return
		}
		http.ServeFile(w, r, file)
	default:
		s.fail(w, r, http.StatusNotFound, "No such file.")
	}
}

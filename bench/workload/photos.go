// Package workload holds request mixes that model real visitors, for the
// load generator (bench/loadgen). A workload needs only what a visitor could
// know: the dataset's seed and size, never a database connection.
package workload

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/scalelab/scalelab/bench/loadgen"
)

// The contract with the photo site (app/) and its data generator (data/).
// The workload assumes, without importing either:
//   - users are named UserName(i) = "user%06d" for i in 1..Users, and each
//     one's password is Password(name) = "pw-" + name;
//   - photo ids run from 1 to about 15 x Users (10-20 photos per user);
//     an id that does not exist answers 404, a normal outcome;
//   - tag names come from a fixed list (DefaultTags unless told otherwise);
//   - pages: GET / (front), /u/{name} (a user's photos), /p/{id} (a photo),
//     /t/{tag} (a tag); further pages of a list are the href="...?page=N"
//     links of the page's HTML, followed by some visitors; images are the
//     src="/static/..." attributes of a page's HTML;
//   - POST /login with form fields name and password sets cookie "session";
//     POST /p/{id}/comments with form field body posts a comment for the
//     logged-in user; POSTs carry Origin: http://host:port of the target;
//     a redirect (3xx with a Location path) after a POST is followed with a
//     GET, as a browser does, and counts as a page view.

// DefaultTags are the tag names the data generator uses.
var DefaultTags = []string{
	"sunset", "beach", "cat", "dog", "city", "night", "mountain", "food", "family", "travel",
	"snow", "flowers", "portrait", "street", "architecture", "bw", "macro", "river", "forest", "friends",
	"concert", "sport", "sky", "garden",
}

// NextPageShare is the share of views of a paginated list (a user's
// photos, a tag) after which the visitor follows the link to the next page,
// when there is one.
const NextPageShare = 0.25

// UserName is the name of the i-th seeded user (1-based).
func UserName(i int) string { return fmt.Sprintf("user%06d", i) }

// Password is a seeded user's password.
func Password(name string) string { return "pw-" + name }

// Photos is the photo site's visitor mix. Each visit is one visitor: some
// log in first, then view a few pages (front page, users' pages with the
// popular users Zipf-distributed, photo pages, tag pages), fetching each
// page's images as a browser would (once per visit: the browser caches
// them); a few post a comment on a photo they view.
//
// Shares are probabilities per visit; the zero value of each numeric field
// means its documented default, except the shares, where zero means none.
type Photos struct {
	// Seed makes the mix reproducible: the same seed, the same requests.
	Seed uint64
	// Users is the number of seeded users. Zero means 100,000.
	Users int
	// Photos is the highest photo id to request. Zero means 15 x Users.
	Photos int
	// Tags are the tag names. Nil means DefaultTags.
	Tags []string
	// LoginShare is the share of visitors who log in first.
	LoginShare float64
	// CommentShare is the share of visitors who post a comment (they log
	// in too, whatever LoginShare says).
	CommentShare float64
	// Returning is the share of logged-in visitors who come back with the
	// session cookie an earlier visit of the run got, instead of logging
	// in again: on a real site a login lasts for many visits, and a
	// password check is made slow on purpose (bcrypt), so a workload where
	// every logged-in visit logs in would measure mostly the hash. A
	// returning visitor takes one of the run's recent sessions; while the
	// run has none yet, it logs in. Zero means every logged-in visit logs
	// in. Because which session a returning visitor finds depends on
	// what other connections have done, Returning > 0 gives up the exact
	// same-seed-same-requests property for the logins (the pages viewed
	// are still the same).
	Returning float64
	// Tag is written into every comment's body, so that the comments of one
	// run can be told from all others ("run 3"); see Writes.
	Tag string
	// Writes, when not nil, logs every comment posted and how it was
	// answered, so that the run can be checked for lost writes.
	Writes *WriteLog
	// PagesPerVisit is the mean number of pages a visit views (at least 1,
	// geometrically distributed). Zero means 4.
	PagesPerVisit float64
	// Zipf is the exponent (s > 1) of user and photo popularity: rank r is
	// requested in proportion to 1/r^s. Zero means 1.1.
	Zipf float64
	// MaxImages bounds the images fetched for one page. Zero means 50.
	MaxImages int
	// Mix weighs the kinds of page viewed. Zero means DefaultMix.
	Mix Mix

	// Sessions are the sessions returning visitors come back with. Nil
	// means a new, empty jar for the run. Loads of the same running site
	// may share one (the driver's warm-up and the measurement after it):
	// a run that starts with an empty jar starts with every logged-in
	// visitor logging in, a burst of password checks (bcrypt, slow on
	// purpose) that a site which has been up for a while does not see,
	// and that stalls a fast stage for a second or more.
	Sessions *Sessions
}

// Sessions holds the most recent session cookies of a run (or of several
// loads of one site), shared by its visits, which the load generator may
// run on several goroutines. The zero value is an empty jar.
type Sessions struct {
	mu      sync.Mutex
	cookies []string
	next    int
}

// jarSize bounds the sessions kept: enough for many distinct users, few
// enough that old sessions are forgotten as a real user's would expire.
const jarSize = 1024

func (j *Sessions) put(c string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.cookies) < jarSize {
		j.cookies = append(j.cookies, c)
		return
	}
	j.cookies[j.next] = c
	j.next = (j.next + 1) % jarSize
}

// pick returns one of the sessions, chosen by x in [0, 1), or "".
func (j *Sessions) pick(x float64) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.cookies) == 0 {
		return ""
	}
	return j.cookies[int(x*float64(len(j.cookies)))]
}

// Mix is the relative weight of each kind of page.
type Mix struct {
	Front, User, Photo, Tag float64
}

// DefaultMix: mostly users' pages and photo pages.
var DefaultMix = Mix{Front: 0.10, User: 0.40, Photo: 0.35, Tag: 0.15}

// ParseMix reads "front=0.1,user=0.4,photo=0.35,tag=0.15"; kinds left out
// weigh zero.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f < 0 {
			return m, fmt.Errorf("workload: mix %q: want kind=weight, e.g. user=0.4", part)
		}
		switch k {
		case "front":
			m.Front = f
		case "user":
			m.User = f
		case "photo":
			m.Photo = f
		case "tag":
			m.Tag = f
		default:
			return m, fmt.Errorf("workload: mix: unknown page kind %q (front, user, photo, tag)", k)
		}
	}
	if m.Front+m.User+m.Photo+m.Tag == 0 {
		return m, fmt.Errorf("workload: mix %q weighs nothing", s)
	}
	return m, nil
}

// Check validates the options and fills in the defaults.
func (w *Photos) Check() error {
	if w.Users == 0 {
		w.Users = 100_000
	}
	if w.Photos == 0 {
		w.Photos = 15 * w.Users
	}
	if w.Tags == nil {
		w.Tags = DefaultTags
	}
	if w.PagesPerVisit == 0 {
		w.PagesPerVisit = 4
	}
	if w.Zipf == 0 {
		w.Zipf = 1.1
	}
	if w.MaxImages == 0 {
		w.MaxImages = 50
	}
	if w.Mix == (Mix{}) {
		w.Mix = DefaultMix
	}
	switch {
	case w.Users < 1 || w.Photos < 1:
		return fmt.Errorf("workload: users and photos must be at least 1")
	case len(w.Tags) == 0:
		return fmt.Errorf("workload: no tags")
	case w.LoginShare < 0 || w.LoginShare > 1 || w.CommentShare < 0 || w.CommentShare > 1 || w.Returning < 0 || w.Returning > 1:
		return fmt.Errorf("workload: shares must be between 0 and 1")
	case w.PagesPerVisit < 1:
		return fmt.Errorf("workload: pages per visit must be at least 1")
	case w.Zipf <= 1:
		return fmt.Errorf("workload: the Zipf exponent must be greater than 1")
	case w.Mix.Front < 0 || w.Mix.User < 0 || w.Mix.Photo < 0 || w.Mix.Tag < 0:
		return fmt.Errorf("workload: mix weights must not be negative")
	}
	if w.Sessions == nil {
		w.Sessions = &Sessions{}
	}
	return nil
}

// Visit returns the k-th visit. It depends only on the options and k (and
// on the pages the server returns, for the images), so that the same seed
// sends the same requests. Call Check first.
func (w *Photos) Visit(k uint64) loadgen.Visit {
	v := &visit{w: w, k: k, rng: rand.New(rand.NewPCG(w.Seed, k))}
	u := v.rng.Float64()
	v.comment = u < w.CommentShare
	v.login = v.comment || u < w.LoginShare
	if r := v.rng.Float64(); v.login && r < w.Returning {
		if c := w.Sessions.pick(v.rng.Float64()); c != "" {
			v.cookie, v.loggedIn = c, true
		}
	}
	v.pagesLeft = 1
	// Geometric: each further page with probability 1 - 1/mean.
	for v.pagesLeft < 100 && v.rng.Float64() < 1-1/w.PagesPerVisit {
		v.pagesLeft++
	}
	v.users = rand.NewZipf(v.rng, w.Zipf, 1, uint64(w.Users-1))
	v.photos = rand.NewZipf(v.rng, w.Zipf, 1, uint64(w.Photos-1))
	return v
}

// visit is one visitor's state: the plan, the session, the images to fetch.
type visit struct {
	w   *Photos
	k   uint64
	rng *rand.Rand

	users, photos *rand.Zipf

	login, comment bool
	loggedIn       bool
	pagesLeft      int
	cookie         string
	last           loadgen.Kind
	lastWrite      *Write // the comment just posted, until its answer comes
	lastPhoto      int    // id of the photo page just viewed, for a comment
	follow         bool   // the visitor will follow the page's next-page link
	nextLink       string // that link, once the page came
	redirect       string // where the last POST's answer sent the visitor
	images         []string
	seen           map[string]bool
}

func (v *visit) Next(prev *loadgen.Response) (loadgen.Request, bool) {
	if w := v.lastWrite; w != nil {
		v.lastWrite = nil
		v.w.Writes.answer(w, prev)
	}
	if prev != nil {
		v.learn(prev)
	}
	if v.login && !v.loggedIn {
		v.loggedIn = true // one try, whatever the answer
		name := UserName(1 + v.rng.IntN(v.w.Users))
		form := url.Values{"name": {name}, "password": {Password(name)}}.Encode()
		return v.req(loadgen.Request{Kind: loadgen.Post, Method: "POST", Path: "/login", Form: form}), true
	}
	if v.redirect != "" {
		path := v.redirect
		v.redirect = ""
		return v.req(loadgen.Request{Kind: loadgen.Page, Path: path, WantBody: true}), true
	}
	if len(v.images) > 0 {
		img := v.images[0]
		v.images = v.images[1:]
		return v.req(loadgen.Request{Kind: loadgen.Asset, Path: img}), true
	}
	if v.comment && v.lastPhoto > 0 {
		v.comment = false
		body := fmt.Sprintf("Lovely photo! (visitor %d)", v.k)
		if v.w.Tag != "" {
			body = fmt.Sprintf("Lovely photo! (visitor %d, %s)", v.k, v.w.Tag)
		}
		form := url.Values{"body": {body}}.Encode()
		path := "/p/" + strconv.Itoa(v.lastPhoto) + "/comments"
		if v.w.Writes != nil {
			v.lastWrite = v.w.Writes.add(v.lastPhoto, body)
		}
		v.lastPhoto = 0
		return v.req(loadgen.Request{Kind: loadgen.Post, Method: "POST", Path: path, Form: form}), true
	}
	if v.pagesLeft == 0 {
		return loadgen.Request{}, false
	}
	v.pagesLeft--
	return v.req(loadgen.Request{Kind: loadgen.Page, Path: v.page(), WantBody: true}), true
}

// req stamps the session cookie on a request and remembers its kind.
func (v *visit) req(r loadgen.Request) loadgen.Request {
	if v.cookie != "" {
		r.Cookie = v.cookie
	}
	v.last = r.Kind
	return r
}

// page chooses the next page to view. A visitor who will comment views a
// photo page last if the mix has not led to one before.
func (v *visit) page() string {
	m := v.w.Mix
	x := v.rng.Float64() * (m.Front + m.User + m.Photo + m.Tag)
	if v.comment && v.pagesLeft == 0 {
		x = m.Front + m.User // a photo page
	}
	v.lastPhoto = 0
	v.follow = v.rng.Float64() < NextPageShare
	if link := v.nextLink; link != "" && !(v.comment && v.pagesLeft == 0) {
		v.nextLink = ""
		return link
	}
	switch {
	case x < m.Front:
		return "/"
	case x < m.Front+m.User:
		return "/u/" + UserName(1+permute(v.users.Uint64(), v.w.Users))
	case x < m.Front+m.User+m.Photo:
		id := 1 + permute(v.photos.Uint64(), v.w.Photos)
		if v.comment {
			v.lastPhoto = id
		}
		return "/p/" + strconv.Itoa(id)
	default:
		return "/t/" + url.PathEscape(v.w.Tags[v.rng.IntN(len(v.w.Tags))])
	}
}

// permute maps a popularity rank (0 = most popular) to an index in [0, n),
// spreading the popular ones over the range so that popularity is not tied
// to the order in which the data generator made the rows.
func permute(rank uint64, n int) int {
	const a = 2654435761 // a prime: coprime with n unless n is a multiple of it
	if uint64(n)%a == 0 {
		return int(rank)
	}
	return int((rank*a + 12345) % uint64(n))
}

// learn takes what a visitor keeps from a response: the session cookie of a
// login, where a POST's redirect leads, and the images and next-page link
// of a page.
func (v *visit) learn(r *loadgen.Response) {
	for _, c := range r.Cookies {
		if strings.HasPrefix(c, "session=") && len(c) > len("session=") {
			v.cookie = c
			if v.w.Returning > 0 {
				v.w.Sessions.put(c)
			}
		}
	}
	if v.last == loadgen.Post && r.Status >= 300 && r.Status < 400 &&
		strings.HasPrefix(r.Location, "/") && !strings.HasPrefix(r.Location, "//") {
		v.redirect = r.Location
	}
	if v.last == loadgen.Page && r.Status == 200 {
		if v.follow {
			v.follow = false
			v.nextLink = NextPage(r.Body)
		}
		if v.seen == nil {
			v.seen = map[string]bool{}
		}
		for _, img := range Images(r.Body, v.w.MaxImages) {
			if !v.seen[img] {
				v.seen[img] = true
				v.images = append(v.images, img)
			}
		}
	}
}

// NextPage returns the link to the next page of a paginated list: the
// href="...?page=N" link with the highest N, or "" when there is none.
func NextPage(html []byte) string {
	best, bestN := "", 0
	needle := []byte(`href="`)
	for {
		i := bytes.Index(html, needle)
		if i < 0 {
			return best
		}
		html = html[i+len(needle):]
		j := bytes.IndexByte(html, '"')
		if j < 0 {
			return best
		}
		link := strings.ReplaceAll(string(html[:j]), "&amp;", "&")
		html = html[j:]
		if k := strings.Index(link, "?page="); k > 0 && strings.HasPrefix(link, "/") {
			if n, err := strconv.Atoi(link[k+len("?page="):]); err == nil && n > bestN {
				best, bestN = link, n
			}
		}
	}
}

// Images returns the src="/static/..." paths of an HTML page, in order, at
// most max of them. It scans for the attribute rather than parsing HTML:
// the site's templates write it that way, and a scan is cheap enough to run
// on every page of a load test.
func Images(html []byte, max int) []string {
	var out []string
	needle := []byte(`src="/static/`)
	for len(out) < max {
		i := bytes.Index(html, needle)
		if i < 0 {
			break
		}
		html = html[i+len(`src="`):]
		j := bytes.IndexByte(html, '"')
		if j < 0 {
			break
		}
		out = append(out, strings.ReplaceAll(string(html[:j]), "&amp;", "&"))
		html = html[j:]
	}
	return out
}

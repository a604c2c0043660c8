package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/cache"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/sitetest"
	"github.com/scalelab/scalelab/internal/wait"
)

// serve runs a site with cfg (Images filled in) on a real HTTP server.
func serve(t testing.TB, cfg app.Config) *sitetest.Client {
	t.Helper()
	cfg.Images = lab.Images
	site, err := app.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	return sitetest.NewClient(srv.URL)
}

func storedHash(t *testing.T, id int64) string {
	t.Helper()
	var h string
	if err := lab.Pool.QueryRow(context.Background(), "SELECT password_hash FROM users WHERE id = $1", id).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// The seed's legacy hash is replaced by a bcrypt one at the first login,
// and the user logs in with it from then on; the cached stage keeps no
// hash in memcached.
func TestLoginRehashesLegacyPasswords(t *testing.T) {
	mc := cache.NewClient(lab.Services.MemcachedServers)
	stores := []struct {
		name string
		user int64
		cfg  app.Config
	}{
		{"database", 251, app.Config{Store: &data.Store{DB: lab.Pool}, Sessions: &data.Sessions{DB: lab.Pool}}},
		{"cached", 252, app.Config{Store: &cache.Store{Next: &data.Store{DB: lab.Pool}, MC: mc}, Sessions: &cache.Sessions{MC: mc}}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			name := data.UserName(st.user)
			if h := storedHash(t, st.user); !data.IsLegacy(h) {
				t.Fatalf("%s's seeded hash %.20q… is not in the legacy scheme", name, h)
			}
			c := serve(t, st.cfg)
			c.Get(t, "/u/"+name) // the cached stage caches the user's row
			c.Login(t, st.user)
			after := storedHash(t, st.user)
			if !strings.HasPrefix(after, "$2a$10$") {
				t.Fatalf("after login the stored hash is %.20q…, want bcrypt at cost 10", after)
			}
			if ok, _ := data.CheckPassword(after, data.Password(name)); !ok {
				t.Fatal("the new bcrypt hash does not match the password")
			}
			sitetest.NewClient(c.Base).Login(t, st.user) // with the bcrypt hash
			if storedHash(t, st.user) != after {
				t.Error("a login with a bcrypt hash rewrote it")
			}
			if r := c.Post(t, "/login", url.Values{"name": {name}, "password": {"pw-wrong"}}); r.Status != 401 {
				t.Errorf("wrong password after the rehash: %d, want 401", r.Status)
			}
			c.Get(t, "/u/"+name)
			for _, key := range []string{"q:user:" + name} {
				if it, err := mc.Get(key); err == nil && (strings.Contains(string(it.Value), "$2a$") || strings.Contains(string(it.Value), "sha256")) {
					t.Errorf("memcached holds a password hash under %s: %s", key, it.Value)
				}
			}
		})
	}
}

// An unknown user, a malformed name and a wrong password get the same
// 401 page: the answer does not say which names exist.
func TestLoginRefusalsLookTheSame(t *testing.T) {
	c := newSite(t)
	var bodies []string
	for _, form := range []url.Values{
		{"name": {data.UserName(20)}, "password": {"nope"}},
		{"name": {"user999999"}, "password": {"nope"}},
		{"name": {"Robert'); DROP TABLE users;--"}, "password": {"nope"}},
		{"name": {data.UserName(20)}},
		{},
	} {
		r := c.Post(t, "/login", form)
		if r.Status != 401 || r.Header.Get("Set-Cookie") != "" {
			t.Errorf("login %v: %d, cookie %q; want 401 and no cookie", form, r.Status, r.Header.Get("Set-Cookie"))
		}
		bodies = append(bodies, r.Body)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("refusals differ:\n%s\n%s", bodies[0], b)
		}
	}
}

func forgedID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionCookie(t *testing.T, c *sitetest.Client) string {
	t.Helper()
	u, _ := url.Parse(c.Base)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == app.SessionCookie {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// signedIn reports whether a request with the cookie header shows a
// logged-in page; a refused session must be an anonymous 200, never a 5xx.
func signedIn(t *testing.T, base, cookie string) bool {
	t.Helper()
	r := sitetest.NewClient(base).Do(t, "GET", "/", nil, map[string]string{"Cookie": cookie})
	if r.Status != 200 {
		t.Errorf("GET / with cookie %.40q: %d, want 200", cookie, r.Status)
	}
	return strings.Contains(r.Body, "Signed in as")
}

// Every session store refuses forged, malformed and expired sessions (the
// visitor is anonymous, never a 5xx), and a login rotates the session id:
// the one from before is dead.
func TestSessionStoresRefuseForgedAndExpired(t *testing.T) {
	mc := cache.NewClient(lab.Services.MemcachedServers)
	store := &data.Store{DB: lab.Pool}
	for _, st := range []struct {
		name     string
		user     int64
		sessions app.Sessions
		expire   func(t *testing.T, id string)
	}{
		{"database", 261, &data.Sessions{DB: lab.Pool}, func(t *testing.T, id string) {
			if _, err := lab.Pool.Exec(context.Background(), "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", id); err != nil {
				t.Fatal(err)
			}
		}},
		// The sessions live their default TTL, so that the checks before
		// the expiry do not race a short one on a busy machine; expire
		// then ends the session by its store's own expiry. memcached's:
		// the item (under the key cache.Sessions gives it) is touched to
		// expire in a second, and the test waits until memcached drops it.
		{"memcached", 262, &cache.Sessions{MC: mc}, func(t *testing.T, id string) {
			key := "sess:" + id
			if err := mc.Touch(key, 1); err != nil {
				t.Fatalf("touch the session's item %s: %v", key, err)
			}
			wait.For(t, "memcached to drop the expired session", func() bool {
				_, err := mc.Get(key)
				return errors.Is(err, memcache.ErrCacheMiss)
			})
		}},
		{"memory", 263, &app.MemorySessions{}, nil},
	} {
		if m, ok := st.sessions.(*app.MemorySessions); ok {
			// In memory: its expiry time is moved past (TestMemorySessionsTTL
			// checks that it is the TTL after the login).
			st.expire = func(t *testing.T, id string) { app.ExpireSession(m, id) }
		}
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			c := serve(t, app.Config{Store: store, Sessions: st.sessions})
			c.Login(t, st.user)
			first := sessionCookie(t, c)
			if !signedIn(t, c.Base, "session="+first) {
				t.Fatal("a fresh session is not signed in")
			}
			// A second login (the cookie sent along) gets a new id and
			// kills the old one.
			c.Login(t, st.user)
			id := sessionCookie(t, c)
			if id == first {
				t.Error("the session id was not rotated at login")
			}
			if signedIn(t, c.Base, "session="+first) {
				t.Error("the session id from before the login still works")
			}
			for _, cookie := range []string{
				"session=" + forgedID(),                             // valid-looking, unknown
				"session=" + id[:42],                                // one character short
				"session=" + id + "A",                               // one too many
				"session=" + strings.ToUpper(id[:1]) + id[1:] + "%", // not base64url
				"session=" + strings.Repeat("A", 43),                // well-formed zeros
				"session=" + id[:20] + "'--" + id[23:],              // SQL in the id
				"session=",                                          // empty
				"session=" + strings.Repeat("x", 8000),              // long
			} {
				if cookie == "session="+id {
					continue
				}
				if signedIn(t, c.Base, cookie) {
					t.Errorf("cookie %.60q is signed in", cookie)
				}
			}
			if !signedIn(t, c.Base, "session="+id) {
				t.Fatal("the rotated session is not signed in")
			}
			st.expire(t, id)
			if signedIn(t, c.Base, "session="+id) {
				t.Error("an expired session is still signed in")
			}
			if r := c.Post(t, "/p/5/comments", url.Values{"body": {"after expiry"}}); r.Status != http.StatusUnauthorized {
				t.Errorf("comment with an expired session: %d, want 401", r.Status)
			}
		})
	}
}

// A failed health check answers the site's short 503 page: the database's
// error (its host, user and database names) is logged, never sent.
func TestHealthShowsNoErrorText(t *testing.T) {
	port, err := infra.FreePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	dbURL := fmt.Sprintf("postgres://secretuser@127.0.0.1:%d/secretdb?sslmode=disable&connect_timeout=2", port)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := serve(t, app.Config{Store: &data.Store{DB: pool}, Sessions: &data.Sessions{DB: pool}})
	r := c.Get(t, "/healthz")
	if r.Status != 503 || r.Header.Get("Retry-After") != "1" || !strings.Contains(r.Body, "The site is busy") {
		t.Errorf("health with the database unreachable: %d, Retry-After %q, body %q", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	for _, secret := range []string{"secretuser", "secretdb", strconv.Itoa(port), "connect"} {
		if strings.Contains(r.Body, secret) {
			t.Errorf("the health page shows %q: %s", secret, r.Body)
		}
	}
}

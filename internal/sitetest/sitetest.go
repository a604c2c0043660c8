// Package sitetest holds what the site's and the stages' tests share: a
// private lab loaded with a small dataset, and an HTTP client that logs in.
package sitetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
)

// Dataset is the small dataset the site's tests load.
var Dataset = data.Dataset{Seed: 1, Users: 300}

// Lab is the test package's lab: services, a pool, and the image pool.
type Lab struct {
	Services infra.Services
	Pool     *pgxpool.Pool
	Images   string
}

// Main starts a lab, loads Dataset and the image pool, then runs the
// package's tests (see infratest.Main).
func Main(m *testing.M, lab *Lab) {
	infratest.Main(m, func(dir string, s infra.Services) {
		ctx := context.Background()
		lab.Services = s
		pool, err := pgxpool.New(ctx, s.DatabaseURL)
		if err == nil && !infratest.Inherited() { // a fuzz worker uses its parent's data
			_, err = data.Load(ctx, pool, data.LoadOptions{Dataset: Dataset})
		}
		lab.Images = filepath.Join(dir, "images")
		if err == nil {
			err = data.EnsurePool(lab.Images)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sitetest:", err)
			os.Exit(1)
		}
		lab.Pool = pool
	})
}

// Client is a browser-like client of one site: it keeps cookies and does
// not follow redirects, so tests see them.
type Client struct {
	Base string
	HTTP *http.Client
}

// NewClient returns a client of the site at base.
func NewClient(base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Base: base, HTTP: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is a read response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a request and reads the whole response.
func (c *Client) Do(t testing.TB, method, path string, form url.Values, header map[string]string) Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.Base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{resp.StatusCode, resp.Header, string(b)}
}

// Get is Do for a GET.
func (c *Client) Get(t testing.TB, path string) Response { return c.Do(t, "GET", path, nil, nil) }

// Post is Do for a form POST.
func (c *Client) Post(t testing.TB, path string, form url.Values) Response {
	return c.Do(t, "POST", path, form, nil)
}

// Login logs in as user id of the dataset and fails the test if it cannot.
func (c *Client) Login(t testing.TB, id int64) {
	t.Helper()
	name := data.UserName(id)
	r := c.Post(t, "/login", url.Values{"name": {name}, "password": {data.Password(name)}, "next": {"/"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d: %s", name, r.Status, r.Body)
	}
}

package driver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"time"

	"github.com/scalelab/scalelab/stages"
)

// pageCheck is one URL of the verification and the status it must have.
type pageCheck struct {
	path   string
	status int
}

// verificationPages are fetched from the stage and from the reference
// (stage 2), anonymously and logged in, and must match byte for byte.
func verificationPages(ds Dataset) []pageCheck {
	return []pageCheck{
		{"/", 200}, {"/u/user000001", 200}, {"/u/user000002", 200}, {fmt.Sprintf("/u/%s", userName(ds.Users)), 200},
		{"/u/user000001?page=0", 400}, {"/u/nobody", 404},
		{"/p/1", 200}, {"/p/2", 200}, {fmt.Sprintf("/p/%d", ds.Photos), 200}, {fmt.Sprintf("/p/%d", ds.Photos+1), 404}, {"/p/abc", 404},
		{"/t/cat", 200}, {"/t/sunset?page=2", 200}, {"/t/nosuchtag", 404},
		{"/static/style.css", 200}, {"/static/thumb/0001.jpg", 200}, {"/static/medium/0002.jpg", 200},
		{"/healthz", 200},
	}
}

func userName(i int) string { return fmt.Sprintf("user%06d", i) }

type client struct {
	base string
	http *http.Client
}

func newClient(base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{base: base, http: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) get(path string) (int, string, error) {
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (c *client) login(name string) error {
	resp, err := c.http.PostForm(c.base+"/login", url.Values{"name": {name}, "password": {"pw-" + name}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("login as %s: status %d", name, resp.StatusCode)
	}
	return nil
}

// verifyStage checks a running stage before it is measured. A stage that
// serves a wrong or stale page is refused: its numbers would be about
// another site.
func verifyStage(ctx context.Context, o Options, st Stage, urls []string, ds Dataset) error {
	if st.Process == stages.Baselines {
		return verifyBaselines(urls)
	}
	v := &verification{stage: newClient(urls[0]), pages: verificationPages(ds), times: 1}
	// Cached stages serve a page twice: once rendered, then from the cache.
	if st.Cache {
		v.times = 2
	}
	if refStage := stages.Reference(); st.ID != refStage.ID {
		ref, err := startServe(ctx, o, st.referenceArgs(), referenceLog(o))
		if err != nil {
			return fmt.Errorf("start the reference stage %s: %w", refStage.ID, err)
		}
		defer ref.stop()
		v.reference = newClient(ref.urls[0])
	}
	if err := v.check("anonymous"); err != nil {
		return err
	}
	if err := v.login(userName(1)); err != nil {
		return err
	}
	return v.check("logged in")
}

// verifyBaselines checks stage 0's three URLs: the static page and the
// page Go renders are the same page, and the query answers.
func verifyBaselines(urls []string) error {
	c := newClient("")
	_, static, err1 := c.get(urls[0])
	_, dynamic, err2 := c.get(urls[1])
	code, _, err3 := c.get(urls[2])
	if err := firstErr(err1, err2, err3); err != nil {
		return err
	}
	if static != dynamic || len(static) < 1000 {
		return fmt.Errorf("the static (%d bytes) and dynamic (%d bytes) baseline pages differ", len(static), len(dynamic))
	}
	if code != 200 {
		return fmt.Errorf("the query baseline answered %d", code)
	}
	return nil
}

// verification compares a stage's pages with the reference's, stage 2's.
type verification struct {
	// stage is a client of the stage verified; reference of stage 2, nil
	// when the stage is stage 2 itself (then only statuses are checked).
	stage, reference *client
	pages            []pageCheck
	// times is how often each page is fetched from the stage.
	times int
}

// check fetches every page as who ("anonymous", "logged in").
func (v *verification) check(who string) error {
	for _, p := range v.pages {
		if err := v.checkPage(who, p); err != nil {
			return err
		}
	}
	return nil
}

// checkPage fetches p from the reference, then v.times from the stage,
// which must answer its status and, each time, the reference's page.
func (v *verification) checkPage(who string, p pageCheck) error {
	var want string
	if v.reference != nil {
		code, body, err := v.reference.get(p.path)
		if err != nil {
			return err
		}
		if code != p.status {
			return fmt.Errorf("the reference answered %s %s with %d, want %d", who, p.path, code, p.status)
		}
		want = body
	}
	for i := 0; i < v.times; i++ {
		code, body, err := v.stage.get(p.path)
		if err != nil {
			return err
		}
		if code != p.status {
			return fmt.Errorf("%s %s: status %d, want %d", who, p.path, code, p.status)
		}
		if v.reference != nil && body != want {
			return fmt.Errorf("%s %s: the page differs from stage 2's (%d bytes, stage 2 %d bytes): stale or wrong", who, p.path, len(body), len(want))
		}
	}
	return nil
}

// login logs in as name on the stage and on the reference.
func (v *verification) login(name string) error {
	for _, c := range []*client{v.stage, v.reference} {
		if c != nil {
			if err := c.login(name); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// referenceLog is where the reference stage's output goes.
func referenceLog(o Options) string { return filepath.Join(o.State, "reference.log") }

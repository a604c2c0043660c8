package hostile

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Target is a server to run the corpus against.
type Target struct {
	// Addr is the server's host:port (loopback).
	Addr string
	// Expired is a session id that existed and has expired; empty means a
	// forged one (for a store where expired sessions simply vanish).
	Expired string
	// Probe is the path other clients request while slow ones hold
	// connections; it must answer 2xx. Empty means "/p/1".
	Probe string
	// ClientTimeout is the time the server gives a client to send its
	// headers; slow clients must have been cut off (closed or answered
	// 4xx) within it plus a margin. Zero skips that check.
	ClientTimeout time.Duration
	// Photo is the photo the corpus comments on; zero means 77.
	Photo int64
}

// answer is what a raw request got: a response, or a closed connection.
type answer struct {
	status int
	header http.Header
	body   []byte
	closed error // set when no response came
}

// forbidden are bytes that only a file from outside the image pool could
// contain: the system's password file, the lab's source, its configs.
var forbidden = []string{
	"root:x:0:0", "root:*:0:0", "daemon:x:", // /etc/passwd
	"module github.com/scalelab",                                    // go.mod
	"package main", "package app", "package data", "func (s *Site)", // Go source
	"worker_processes", "daemon off;", // nginx configs
	"-----BEGIN", // keys
}

// Run sends every case of the corpus to the target, one connection each,
// then runs the slow-client check (Slowloris).
func Run(t *testing.T, tg Target) {
	t.Helper()
	if tg.Photo == 0 {
		tg.Photo = 77
	}
	vars := map[string]string{
		"{host}":    tg.Addr,
		"{forged}":  ForgedID(),
		"{expired}": tg.Expired,
		"{photo}":   strconv.FormatInt(tg.Photo, 10),
	}
	if vars["{expired}"] == "" {
		vars["{expired}"] = ForgedID()
	}
	// A live session, where the server has a login (stage 0 does not).
	vars["{session}"] = login(tg.Addr)
	if vars["{session}"] == "" {
		vars["{session}"] = ForgedID()
	}
	for _, c := range Corpus {
		t.Run(c.Name, func(t *testing.T) {
			req := c.Request
			for k, v := range vars {
				req = strings.ReplaceAll(req, k, v)
			}
			a := send(tg.Addr, req, c.BodySize, c.Chunked, 10*time.Second)
			check(t, tg, c, req, a)
		})
	}
	t.Run("slowloris", func(t *testing.T) { Slowloris(t, tg) })
}

// check applies the corpus's rules to one answer.
func check(t *testing.T, tg Target, c Case, req string, a answer) {
	t.Helper()
	line, _, _ := strings.Cut(req, "\n")
	if len(line) > 80 {
		line = line[:80] + "…"
	}
	if a.closed != nil {
		if errors.Is(a.closed, errDial) {
			t.Fatalf("%v", a.closed)
		}
		if isTimeout(a.closed) {
			t.Errorf("%q: no answer and no close within 10 s", line)
		}
		return // a closed connection is a fine answer to a hostile request
	}
	switch {
	case a.status >= 500 && a.status != c.Refused:
		t.Errorf("%q: %d (a 5xx)\n%.300s", line, a.status, a.body)
	case a.status >= 300 && a.status < 400:
		loc := a.header.Get("Location")
		if !(strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//")) && !strings.HasPrefix(loc, "http://"+tg.Addr+"/") {
			t.Errorf("%q: %d to %q, off the site", line, a.status, loc)
		}
	case a.status >= 200 && a.status < 300 && !c.Harmless:
		t.Errorf("%q: %d, want a 4xx (or a closed connection)\n%.300s", line, a.status, a.body)
	case a.status < 200:
		t.Errorf("%q: %d", line, a.status)
	}
	for _, f := range forbidden {
		if bytes.Contains(a.body, []byte(f)) {
			t.Errorf("%q: the answer holds %q: a file from outside the image pool\n%.300s", line, f, a.body)
		}
	}
	if bytes.Contains(a.body, []byte(Marker)) {
		t.Errorf("%q: the answer echoes injected markup unescaped", line)
	}
	if c.Anonymous && bytes.Contains(a.body, []byte("Signed in as")) {
		t.Errorf("%q: a page for a session that is not live shows a logged-in user", line)
	}
}

// errDial marks a connection that could not be made: the test's fault, not
// an answer.
var errDial = errors.New("hostile: dial")

// isTimeout reports whether err is a read that timed out: the server
// neither answered nor closed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// send writes a raw request (and a generated body) on a new connection
// and reads one response. The body is written while the response is read:
// a server may answer 413 and close before the body is all sent, which is
// right, so write errors are ignored.
func send(addr, req string, bodySize int, chunked bool, timeout time.Duration) answer {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return answer{closed: fmt.Errorf("%w %s: %v", errDial, addr, err)}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := newWriter(conn)
		if _, err := io.WriteString(w, req); err != nil || bodySize == 0 {
			return
		}
		writeBody(w, bodySize, chunked)
	}()
	method, _, _ := strings.Cut(req, " ")
	a := read(bufio.NewReader(conn), method)
	conn.Close() // stops the writer
	wg.Wait()
	return a
}

// writeBody sends size bytes of a form body ("a=xxx…"), chunked or not.
func writeBody(w io.Writer, size int, chunked bool) {
	piece := []byte("a=" + strings.Repeat("x", 16<<10-2))
	for sent := 0; sent < size; {
		n := min(len(piece), size-sent)
		var err error
		if chunked {
			_, err = fmt.Fprintf(w, "%x\r\n%s\r\n", n, piece[:n])
		} else {
			_, err = w.Write(piece[:n])
		}
		if err != nil {
			return
		}
		sent += n
		piece = bytes.Repeat([]byte("x"), len(piece))
	}
	if chunked {
		io.WriteString(w, "0\r\n\r\n")
	}
}

// read reads one response, keeping up to 1 MiB of its body.
func read(br *bufio.Reader, method string) answer {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return answer{closed: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // a cut-off body is still an answer
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// writer is where requests are written (see newWriter).
type writer = io.Writer

// ForgedID is a well-formed session id that no server issued.
func ForgedID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login logs in as the dataset's first user and returns the session id,
// or "" if the server has no login.
func login(addr string) string {
	a := send(addr, strings.ReplaceAll(post("/login", "name=user000001&password=pw-user000001"), "{host}", addr), 0, false, 10*time.Second)
	if a.closed != nil || a.status != http.StatusSeeOther {
		return ""
	}
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

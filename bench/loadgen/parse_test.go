package loadgen

import (
	"strings"
	"testing"
)

// TestParserSplits feeds responses in every split of two pieces and byte by
// byte, as a socket may deliver them, and checks that the parser finds the
// same end, status and body each time.
func TestParserSplits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resp   string
		status int
		body   string
		close  bool
	}{
		// A fixed-length body.
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: session=abc; Path=/\r\n\r\nhello", 200, "hello", false},
		// Chunked, with an extension and a trailer.
		{"chunked", "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n", 404, "abc0123456789", false},
		// No body for 304 whatever the headers.
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 304, "", false},
		// HTTP/1.0 closes by default.
		{"http10", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", true},
		// Connection: close.
		{"close", "HTTP/1.1 503 Busy\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n", 503, "", true},
		// An interim 100 Continue before the response.
		{"continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!", 201, "!", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(pieces []string) {
				t.Helper()
				p := parser{Capture: true, MaxBody: 1 << 20}
				var pending string
				for _, piece := range pieces {
					pending += piece
					n, err := p.feed([]byte(pending))
					if err != nil {
						t.Fatalf("%q: %v", pieces, err)
					}
					pending = pending[n:]
				}
				if !p.done() || pending != "" {
					t.Fatalf("%q: done=%v, %d bytes left", pieces, p.done(), len(pending))
				}
				if p.status != tc.status || string(p.Body) != tc.body || p.close != tc.close {
					t.Errorf("%q: status %d body %q close %v; want %d %q %v", pieces, p.status, p.Body, p.close, tc.status, tc.body, tc.close)
				}
			}
			for i := 0; i <= len(tc.resp); i++ {
				check([]string{tc.resp[:i], tc.resp[i:]})
			}
			check(strings.Split(tc.resp, ""))
		})
	}
}

func TestParserCookiesAndErrors(t *testing.T) {
	p := parser{Capture: true, MaxBody: 10}
	resp := "HTTP/1.1 303 See Other\r\nSet-Cookie: session=s3cr3t; HttpOnly\r\nSet-Cookie: theme=dark\r\nLocation: /\r\nContent-Length: 0\r\n\r\n"
	if _, err := p.feed([]byte(resp)); err != nil || !p.done() {
		t.Fatalf("done=%v err=%v", p.done(), err)
	}
	if got := strings.Join(p.Cookies, " "); got != "session=s3cr3t theme=dark" {
		t.Errorf("cookies %q", got)
	}
	if p.Location != "/" {
		t.Errorf("location %q, want /", p.Location)
	}
	for _, bad := range []string{"HTTP/2 200 OK\r\n", "HTTP/1.1 2x0 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("l", maxLine) + "\r\n\r\n"} {
		var q parser
		if _, err := q.feed([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// A body delimited by the end of the connection.
	var q parser
	q.feed([]byte("HTTP/1.1 200 OK\r\n\r\nuntil the end"))
	if q.done() || !q.eof() || !q.close {
		t.Errorf("until-EOF body: done before EOF or not after it")
	}
}

// Package hostile is a corpus of hostile HTTP requests and the runner that
// sends it to a server: every stage's test runs the same corpus against
// the stage's front door.
//
// The requests are raw bytes written to a TCP connection, because Go's
// HTTP client refuses to send most of them (bad methods, NUL bytes,
// conflicting lengths, unencoded spaces). Each answer must be a 4xx, a
// harmless 2xx or 3xx where the case allows it, or a closed connection —
// never a 5xx, never a file from outside the image pool, never a page
// that echoes injected markup or shows a forged session as logged in.
// While slow clients (slowloris) hold connections, the server must keep
// answering other clients.
package hostile

import (
	"fmt"
	"strings"
)

// Case is one hostile request.
type Case struct {
	// Name says what the request tries.
	Name string
	// Request is the raw request, line breaks included. Placeholders:
	// {host} the server's host:port, {session} a logged-in session id
	// (a forged one where logging in is impossible), {forged} a
	// well-formed unknown id, {expired} an expired one, {photo} the
	// photo the corpus comments on.
	Request string
	// Body, when BodySize > 0, follows Request: BodySize bytes of a form,
	// sent in chunks of the chunked encoding when Chunked.
	BodySize int
	Chunked  bool
	// Harmless allows a 2xx: the input is odd but asks for nothing it
	// should not get (an injection that finds no user, a forged session
	// that is simply anonymous).
	Harmless bool
	// Anonymous requires that a 2xx page does not show a logged-in user.
	Anonymous bool
	// Refused lists the one 5xx the request may get: 501 or 505, which
	// HTTP itself prescribes for a transfer coding or protocol version the
	// server does not implement (RFC 9112 §6.1, RFC 9110 §15.6.6). Both
	// nginx and Go's net/http send it before any of the lab's code runs;
	// it says "this request can never work", not that the server failed.
	Refused int
}

// Marker is the markup the corpus injects; no answer may contain it as is.
const Marker = "<script>alert('hostile')</script>"

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: {host}\r\n" + strings.Join(headers, "") + "Connection: close\r\n\r\n"
}

func post(path, body string, headers ...string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		path, strings.Join(headers, ""), len(body), body)
}

func cookie(v string) string { return "Cookie: session=" + v + "\r\n" }

// Corpus is every hostile request, in the order the runner sends them
// (the comment is posted before the page that shows it is read).
var Corpus = []Case{
	// Path traversal on /static: only the image pool and the stylesheet
	// may come out of it.
	{Name: "dot-dot", Request: get("/static/../go.mod")},
	{Name: "dot-dot deep", Request: get("/static/thumb/../../../../../../etc/passwd")},
	{Name: "dot-dot from the root", Request: get("/../../../../etc/passwd")},
	{Name: "encoded dots", Request: get("/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd")},
	{Name: "encoded slash", Request: get("/static/thumb/..%2f..%2f..%2f..%2fetc%2fpasswd")},
	{Name: "double encoding", Request: get("/static/%252e%252e/%252e%252e/etc/passwd")},
	{Name: "overlong UTF-8 dots", Request: get("/static/medium/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd")},
	{Name: "absolute path", Request: get("/static//etc/passwd")},
	{Name: "absolute path, two slashes", Request: get("//etc/passwd")},
	{Name: "the system's password file", Request: get("/etc/passwd")},
	{Name: "backslashes", Request: get(`/static/thumb/..\..\..\..\etc\passwd`)},
	{Name: "encoded backslashes", Request: get("/static/thumb/..%5c..%5c..%5cgo.mod")},
	{Name: "prefix without its slash", Request: get("/static/thumb../pool.json")},
	{Name: "through a file", Request: get("/static/thumb/0001.jpg/../../../go.mod")},
	{Name: "through the stylesheet", Request: get("/static/style.css/../../app/app.go")},
	{Name: "dots doubled", Request: get("/static/thumb/....//....//....//etc/passwd")},
	{Name: "source file", Request: get("/static/../app/handlers.go")},
	{Name: "nginx config", Request: get("/static/../nginx/conf/nginx.conf")},
	{Name: "absolute-form target", Request: "GET http://{host}/static/../../etc/passwd HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},
	{Name: "file URL target", Request: "GET file:///etc/passwd HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},

	// NUL bytes.
	{Name: "NUL after an image", Request: get("/static/thumb/0001.jpg%00.txt")},
	{Name: "NUL in a folder", Request: get("/static/%00/etc/passwd")},
	{Name: "NUL in a name", Request: get("/u/user%00000001")},
	{Name: "NUL in an id", Request: get("/p/1%00")},
	{Name: "NUL in a query", Request: get("/t/cat?page=%00")},
	{Name: "raw NUL in the path", Request: get("/p/1\x00")},
	{Name: "NUL in a header", Request: get("/", "X-Evil: a\x00b\r\n")},

	// Overlong requests.
	{Name: "long address", Request: get("/u/" + strings.Repeat("a", 3000))},
	{Name: "very long address", Request: get("/u/" + strings.Repeat("a", 40000))},
	{Name: "long query", Request: get("/?q=" + strings.Repeat("%41", 3000))},
	{Name: "long header", Request: get("/", "X-Long: "+strings.Repeat("a", 40000)+"\r\n")},
	{Name: "many headers", Request: get("/", strings.Repeat("X-Many: a\r\n", 2000))},
	{Name: "long cookie", Request: get("/", cookie(strings.Repeat("A", 20000))), Harmless: true, Anonymous: true},
	{Name: "long method", Request: strings.Repeat("G", 5000) + " / HTTP/1.1\r\nHost: {host}\r\n\r\n"},

	// Methods and protocol.
	{Name: "unknown method", Request: "FOO / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},
	{Name: "method with a symbol", Request: "G@T / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},
	{Name: "lower-case method", Request: "get / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},
	{Name: "TRACE", Request: "TRACE / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},
	{Name: "CONNECT", Request: "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\nConnection: close\r\n\r\n"},
	{Name: "OPTIONS *", Request: "OPTIONS * HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n", Harmless: true}, // Go answers an empty 200
	{Name: "PUT", Request: "PUT /p/1 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"},
	{Name: "DELETE", Request: "DELETE /p/1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},
	{Name: "unknown version", Request: "GET / HTTP/9.9\r\nHost: {host}\r\nConnection: close\r\n\r\n", Refused: 505},
	{Name: "no Host", Request: "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"},
	{Name: "two Hosts", Request: "GET / HTTP/1.1\r\nHost: {host}\r\nHost: evil.example\r\nConnection: close\r\n\r\n"},
	{Name: "space in the target", Request: "GET /u/a b HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"},
	{Name: "folded header", Request: get("/", "X-Folded: a\r\n b\r\n"), Harmless: true},                         // Go unfolds it
	{Name: "header without a colon", Request: get("/", "NoColon\r\n"), Harmless: true},                          // nginx ignores it
	{Name: "bare LF line ends", Request: "GET / HTTP/1.1\nHost: {host}\nConnection: close\n\n", Harmless: true}, // tolerated by both
	{Name: "foreign Host", Request: "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", Harmless: true},

	// Bodies: lengths that lie or are far over the limit (64 KiB).
	{Name: "huge Content-Length", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\nname=a"},
	{Name: "negative Content-Length", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Length: -1\r\nConnection: close\r\n\r\n"},
	{Name: "two Content-Lengths", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\nContent-Length: 40\r\nConnection: close\r\n\r\nname"},
	{Name: "Content-Length and chunked (smuggling)", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /etc/passwd HTTP/1.1\r\nHost: {host}\r\n\r\n"},
	{Name: "unknown transfer coding", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", Refused: 501},
	{Name: "bad chunk size", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nname=a\r\n0\r\n\r\n"},
	{Name: "enormous chunk size", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffff\r\nname=a\r\n0\r\n\r\n"},
	{Name: "1 MiB form", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n", BodySize: 1 << 20},
	{Name: "1 MiB chunked form", Request: "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", BodySize: 1 << 20, Chunked: true},
	{Name: "1 MiB comment", Request: "POST /p/{photo}/comments HTTP/1.1\r\nHost: {host}\r\nCookie: session={session}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", BodySize: 1 << 20, Chunked: true},
	{Name: "body on a GET", Request: "GET / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n", BodySize: 1 << 20},

	// Cookies and sessions: anything but a live session is anonymous.
	{Name: "forged session", Request: get("/", cookie("{forged}")), Harmless: true, Anonymous: true},
	{Name: "expired session", Request: get("/", cookie("{expired}")), Harmless: true, Anonymous: true},
	{Name: "session with SQL", Request: get("/", cookie("'%20OR%20'1'='1")), Harmless: true, Anonymous: true},
	{Name: "session with quotes", Request: get("/", cookie(`"' OR 1=1--"`)), Harmless: true, Anonymous: true},
	{Name: "session in standard base64", Request: get("/", cookie("abc+/abc+/abc+/abc+/abc+/abc+/abc+/abc+/abc")), Harmless: true, Anonymous: true},
	{Name: "empty session", Request: get("/", cookie("")), Harmless: true, Anonymous: true},
	{Name: "malformed cookie header", Request: get("/", "Cookie: ;;;=;=;session\r\n"), Harmless: true, Anonymous: true},
	{Name: "control byte in a cookie", Request: get("/", cookie("\x01\x02")), Harmless: true, Anonymous: true},
	{Name: "many session cookies", Request: get("/", "Cookie: "+strings.Repeat("session={forged}; ", 100)+"\r\n"), Harmless: true, Anonymous: true},
	{Name: "comment with a forged session", Request: post("/p/{photo}/comments", "body=forged", cookie("{forged}"))},
	{Name: "comment with an expired session", Request: post("/p/{photo}/comments", "body=expired", cookie("{expired}"))},

	// SQL and HTML injection in names, forms, comments and queries.
	{Name: "SQL in a user name", Request: get("/u/admin'--")},
	{Name: "encoded SQL in a user name", Request: get("/u/%27%20OR%201%3D1--")},
	{Name: "SQL in a photo id", Request: get("/p/1%20OR%201=1")},
	{Name: "SQL in a tag", Request: get("/t/cat'%3B%20DROP%20TABLE%20tags%3B--")},
	{Name: "markup in a tag", Request: get("/t/%3Cscript%3Ealert('hostile')%3C%2Fscript%3E")},
	{Name: "SQL in a page number", Request: get("/t/cat?page=1%20OR%201=1")},
	{Name: "SQL after a page number", Request: get("/u/user000001?page=1;DROP%20TABLE%20photos"), Harmless: true}, // the pair is dropped: page 1
	{Name: "markup in a query", Request: get("/?q=%3Cscript%3Ealert('hostile')%3C%2Fscript%3E"), Harmless: true},
	{Name: "SQL in a query", Request: get("/?id=1'%20OR%20'1'='1"), Harmless: true},
	{Name: "SQL in the login name", Request: post("/login", "name=admin'--&password='+OR+'1'='1")},
	{Name: "markup in the login name", Request: post("/login", "name=%3Cscript%3Ealert('hostile')%3C%2Fscript%3E&password=x")},
	{Name: "login sending the visitor away", Request: post("/login", "name=user000001&password=pw-user000001&next=//evil.example/")},
	{Name: "login to a script URL", Request: post("/login", "name=user000001&password=pw-user000001&next=javascript:alert(1)")},
	{Name: "cross-site comment", Request: post("/p/{photo}/comments", "body=csrf", cookie("{session}"), "Origin: http://evil.example\r\n")},
	{Name: "markup and SQL in a comment", Request: post("/p/{photo}/comments",
		"body=%3Cscript%3Ealert('hostile')%3C%2Fscript%3E'%29%3B+DROP+TABLE+comments%3B--", cookie("{session}"))},
	{Name: "the commented photo's page", Request: get("/p/{photo}", cookie("{session}")), Harmless: true},
	{Name: "the commented photo's page, anonymous", Request: get("/p/{photo}"), Harmless: true, Anonymous: true},
}

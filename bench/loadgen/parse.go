package loadgen

import (
	"bytes"
	"errors"
)

// errProtocol marks a response the parser could not understand.
var errProtocol = errors.New("malformed HTTP response")

// Parser states.
const (
	stStatus = iota
	stHeader
	stBody      // Content-Length bytes remain
	stChunkSize // expecting a chunk-size line
	stChunkData // inside a chunk
	stChunkEnd  // the CRLF after a chunk's data
	stTrailer   // trailer lines after the last chunk
	stUntilEOF  // no length given: the body ends when the server closes
	stDone
)

// maxLine bounds a status, header or chunk-size line; longer is an error.
const maxLine = 16 << 10

// parser reads one HTTP/1.x response incrementally, from whatever bytes the
// socket gave, without copying or allocating: it keeps only what a load
// generator needs (status, body size, whether the connection stays open),
// and on request the body and the cookies the response sets.
type parser struct {
	state     int
	status    int
	remaining int64 // body or chunk bytes still expected
	chunked   bool
	close     bool // the server will close the connection after this response
	noBody    bool // the request was HEAD-like: no body whatever the headers say

	// Capture, when set before the response, makes the parser keep up to
	// MaxBody bytes of the body in Body, the name=value part of every
	// Set-Cookie header in Cookies and the Location header. The workload
	// needs them; the fast path leaves it off.
	Capture  bool
	MaxBody  int
	Body     []byte
	Cookies  []string
	Location string
}

// reset prepares the parser for the next response, keeping Body's storage.
func (p *parser) reset() {
	*p = parser{Capture: p.Capture, MaxBody: p.MaxBody, Body: p.Body[:0]}
}

// done reports whether a complete response was read.
func (p *parser) done() bool { return p.state == stDone }

// eof tells the parser the server closed the connection; it returns whether
// that completes the response (a body delimited by the end of the stream).
func (p *parser) eof() bool {
	if p.state == stUntilEOF {
		p.state = stDone
	}
	return p.state == stDone
}

// feed parses as much of b as it can and returns how many bytes it used. It
// stops at a complete response, or when it needs a line that b holds only
// part of: the caller keeps the unused bytes and calls again with more.
func (p *parser) feed(b []byte) (int, error) {
	n := 0
	for n < len(b) && p.state != stDone {
		switch p.state {
		case stBody, stChunkData, stUntilEOF:
			k := len(b) - n
			if p.state != stUntilEOF && int64(k) > p.remaining {
				k = int(p.remaining)
			}
			p.keep(b[n : n+k])
			n += k
			if p.state == stUntilEOF {
				continue
			}
			p.remaining -= int64(k)
			if p.remaining == 0 {
				if p.state == stBody {
					p.state = stDone
				} else {
					p.state = stChunkEnd
				}
			}
		default:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				if len(b)-n > maxLine {
					return n, errProtocol
				}
				return n, nil
			}
			if i > maxLine {
				// The same line split differently would have failed
				// above: a line's length may not depend on the reads.
				return n, errProtocol
			}
			line := b[n : n+i]
			n += i + 1
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if err := p.line(line); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// keep appends body bytes to Body when capturing.
func (p *parser) keep(b []byte) {
	if !p.Capture {
		return
	}
	if room := p.MaxBody - len(p.Body); room > 0 {
		if len(b) > room {
			b = b[:room]
		}
		p.Body = append(p.Body, b...)
	}
}

// line handles one line of the status, header, chunk or trailer sections.
func (p *parser) line(line []byte) error {
	switch p.state {
	case stStatus:
		// "HTTP/1.1 200 OK"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return errProtocol
		}
		s := 0
		for _, c := range line[9:12] {
			if c < '0' || c > '9' {
				return errProtocol
			}
			s = s*10 + int(c-'0')
		}
		if s < 100 {
			return errProtocol // 000-099 are not status codes (RFC 9110, section 15)
		}
		p.status = s
		p.close = line[7] == '0' // HTTP/1.0 closes unless it says keep-alive
		p.remaining = -1
		p.state = stHeader
	case stHeader:
		if len(line) == 0 {
			return p.endHeaders()
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			return errProtocol
		}
		name, value := line[:i], bytes.TrimSpace(line[i+1:])
		switch len(name) {
		case 14: // Content-Length
			if bytes.EqualFold(name, []byte("Content-Length")) {
				v, ok := atoi(value)
				if !ok {
					return errProtocol
				}
				p.remaining = v
			}
		case 17: // Transfer-Encoding
			if bytes.EqualFold(name, []byte("Transfer-Encoding")) && bytes.EqualFold(value, []byte("chunked")) {
				p.chunked = true
			}
		case 8: // Location
			if p.Capture && bytes.EqualFold(name, []byte("Location")) {
				p.Location = string(value)
			}
		case 10: // Connection or Set-Cookie
			if bytes.EqualFold(name, []byte("Connection")) {
				if bytes.EqualFold(value, []byte("close")) {
					p.close = true
				} else if bytes.EqualFold(value, []byte("keep-alive")) {
					p.close = false
				}
			} else if p.Capture && bytes.EqualFold(name, []byte("Set-Cookie")) {
				if j := bytes.IndexByte(value, ';'); j >= 0 {
					value = value[:j]
				}
				p.Cookies = append(p.Cookies, string(value))
			}
		}
	case stChunkSize:
		if j := bytes.IndexByte(line, ';'); j >= 0 {
			line = line[:j]
		}
		v, ok := hexToInt(bytes.TrimSpace(line))
		if !ok {
			return errProtocol
		}
		if v == 0 {
			p.state = stTrailer
		} else {
			p.remaining = v
			p.state = stChunkData
		}
	case stChunkEnd:
		if len(line) != 0 {
			return errProtocol
		}
		p.state = stChunkSize
	case stTrailer:
		if len(line) == 0 {
			p.state = stDone
		}
	}
	return nil
}

// endHeaders chooses how the body is delimited (RFC 9112, section 6.3).
func (p *parser) endHeaders() error {
	switch {
	case p.status < 200:
		// An interim response (100 Continue): the real one follows.
		p.reset()
	case p.noBody || p.status == 204 || p.status == 304:
		p.state = stDone
	case p.chunked:
		p.state = stChunkSize
	case p.remaining == 0:
		p.state = stDone
	case p.remaining > 0:
		p.state = stBody
	default:
		p.state = stUntilEOF
		p.close = true
	}
	return nil
}

// atoi parses a non-negative decimal integer.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// hexToInt parses a chunk size.
func hexToInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// Package httpserver is the one configuration of every Go HTTP server the
// lab runs — the app server, the CGI host, stage 0's Go server — so that
// none of them can be held by a slow or silent client (slowloris) and all
// of them answer a hostile client the same way. It lives apart from the
// stages so that a stage takes these limits from here, not from another
// stage's package.
package httpserver

import (
	"net"
	"net/http"
	"time"
)

// Timeouts bound how long a client may take over each part of its
// requests, so that a slow or silent client (slowloris) cannot hold a
// connection, and a goroutine, for long.
type Timeouts struct {
	// ReadHeader is the time to send a request's headers, counted from
	// its first byte (not reset by each byte, so trickling does not help).
	ReadHeader time.Duration
	// Read is the time to send the whole request, body included.
	Read time.Duration
	// Write is the time from the end of the request's headers to the end
	// of the response.
	Write time.Duration
	// Idle is how long a kept-alive connection may wait for its next request.
	Idle time.Duration
}

// DefaultTimeouts are the timeouts of every Go server the lab runs. A
// page takes milliseconds; these are generous for a person on a slow
// network and short for an attacker.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second}

// OrDefault is t with each zero field replaced by DefaultTimeouts'.
func (t Timeouts) OrDefault() Timeouts {
	d := DefaultTimeouts
	if t.ReadHeader > 0 {
		d.ReadHeader = t.ReadHeader
	}
	if t.Read > 0 {
		d.Read = t.Read
	}
	if t.Write > 0 {
		d.Write = t.Write
	}
	if t.Idle > 0 {
		d.Idle = t.Idle
	}
	return d
}

// MaxHeaderBytes is the most a request's line and headers may take (431
// beyond): a few times what a browser sends.
const MaxHeaderBytes = 16 << 10

// New is the http.Server every stage's Go process uses, with timeouts
// (zero fields: DefaultTimeouts) so that a slow or silent client cannot
// hold a connection, and a limit on headers. Bodies are limited by the
// site (app.MaxFormBytes).
func New(h http.Handler, t Timeouts) *http.Server {
	t = t.OrDefault()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// IdleListener gives each connection accepted on ln the idle timeout that
// net/http/fcgi lacks: a connection on which nothing arrives for t.Idle
// (zero: DefaultTimeouts') is closed. It is for a FastCGI process, which
// only nginx talks to: nginx reads the client's request whole (with its own
// client timeouts) before passing it, so the connection is only ever idle
// between requests, never slow within one; nginx drops its kept upstream
// connections after 60 s idle, before this.
func IdleListener(ln net.Listener, t Timeouts) net.Listener {
	return &idleListener{Listener: ln, idle: t.OrDefault().Idle}
}

type idleListener struct {
	net.Listener
	idle time.Duration
}

func (l *idleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &idleConn{Conn: c, idle: l.idle}, nil
}

type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(b)
}

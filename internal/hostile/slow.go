package hostile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Slow clients, and how many of each the check opens.
const (
	slowHeaders = 24 // send their headers a line at a time, never finishing
	slowBodies  = 8  // announce a form, then send it a few bytes at a time
	drip        = 300 * time.Millisecond
)

// slowHang bounds how long the check waits for a server to cut off the
// clients that never finish their headers: a guard against a server that
// never does, not a measure of how fast it does (a busy machine may take
// far longer than the server's own timeout).
const slowHang = 2 * time.Minute

// slowResult is what happened to one slow connection.
type slowResult struct {
	kind   string
	status int  // an answer's status, 0 if none
	cut    bool // the server answered or closed it before the check's own end
}

// Slowloris holds slow connections open while other clients request
// tg.Probe: those must keep getting 2xx answers while slow clients hold
// their connections. A slow client must get a 4xx or a closed connection,
// never a 5xx. When tg.ClientTimeout is set, the clients that never finish
// their headers must be cut off by the server: the check holds them until
// the server does (with slowHang as a guard against one that never does);
// without it, it holds them for 3 seconds, then closes them itself.
func Slowloris(t *testing.T, tg Target) {
	probe := tg.Probe
	if probe == "" {
		probe = "/p/1"
	}
	hold := 3 * time.Second
	if tg.ClientTimeout > 0 {
		hold = tg.ClientTimeout + slowHang
	}
	stop := time.Now().Add(hold)
	var mu sync.Mutex // guards results
	var results []slowResult
	var wg sync.WaitGroup
	var holding atomic.Int64 // slow-header connections the server has not ended
	var conns []net.Conn     // every slow connection, guarded by mu
	open := func(kind, head string, dripLine func(i int) string) {
		defer wg.Done()
		conn, err := net.DialTimeout("tcp", tg.Addr, slowHang)
		if err != nil {
			t.Errorf("%s: dial: %v", kind, err)
			return
		}
		defer conn.Close()
		conn.SetDeadline(stop)
		mu.Lock()
		conns = append(conns, conn)
		mu.Unlock()
		r := slowResult{kind: kind}
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				r.status = resp.StatusCode
				io.Copy(io.Discard, resp.Body)
			}
			var ne net.Error
			r.cut = !(errors.As(err, &ne) && ne.Timeout()) // not our own deadline
		}()
		w := newWriter(conn)
		io.WriteString(w, head)
	loop:
		for i := 0; ; i++ {
			select {
			case <-done:
				break loop
			case <-time.After(drip):
				if _, err := io.WriteString(w, dripLine(i)); err != nil {
					break loop // the server closed it
				}
			}
		}
		<-done
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	holding.Store(slowHeaders)
	for i := 0; i < slowHeaders; i++ {
		wg.Add(1)
		go func() {
			defer holding.Add(-1)
			open("slow headers", "GET "+probe+" HTTP/1.1\r\nHost: "+tg.Addr+"\r\n",
				func(i int) string { return fmt.Sprintf("X-Slow-%d: a\r\n", i) })
		}()
	}
	for i := 0; i < slowBodies; i++ {
		wg.Add(1)
		go open("slow body", "POST /login HTTP/1.1\r\nHost: "+tg.Addr+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nname=",
			func(int) string { return "xxxxxxxxxx" })
	}

	// Meanwhile other clients are served, each on a new connection, until
	// the slow-header clients are gone. What counts is that requests are
	// answered while slow clients hold connections.
	client := &http.Client{Timeout: slowHang, Transport: &http.Transport{DisableKeepAlives: true}}
	served, servedWhileHeld := 0, 0
	for holding.Load() > 0 && time.Now().Before(stop) {
		held := holding.Load() > 0 // when the request was sent
		resp, err := client.Get("http://" + tg.Addr + probe)
		if err != nil {
			t.Errorf("while slow clients hold connections, GET %s: %v", probe, err)
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Errorf("while slow clients hold connections, GET %s: %d", probe, resp.StatusCode)
		}
		served++
		if held {
			servedWhileHeld++
		}
		time.Sleep(100 * time.Millisecond) // a visitor's pace, not a wait for an event
	}
	// The check is over: the slow clients still open (slow bodies the
	// server lets trickle on) are closed by the check itself.
	mu.Lock()
	for _, c := range conns {
		c.SetDeadline(time.Now())
	}
	mu.Unlock()
	wg.Wait()
	t.Logf("%d slow clients held; %d other requests served meanwhile (%d while slow clients still held)", len(results), served, servedWhileHeld)
	if servedWhileHeld == 0 {
		t.Errorf("no other request was served while slow clients held connections")
	}
	for _, r := range results {
		if r.status >= 500 {
			t.Errorf("%s: %d", r.kind, r.status)
		}
		if r.status >= 200 && r.status < 300 {
			t.Errorf("%s: %d for a request never finished", r.kind, r.status)
		}
		if tg.ClientTimeout > 0 && r.kind == "slow headers" && !r.cut {
			t.Errorf("%s: still open after %v (the server's client timeout is %v)", r.kind, hold, tg.ClientTimeout)
		}
	}
}

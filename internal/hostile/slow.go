package hostile

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Slow clients, and how many of each the check opens.
const (
	slowHeaders = 24 // send their headers a line at a time, never finishing
	slowBodies  = 8  // announce a form, then send it a few bytes at a time
	drip        = 300 * time.Millisecond
)

// slowResult is what happened to one slow connection.
type slowResult struct {
	kind   string
	status int           // an answer's status, 0 if none
	ended  time.Duration // when the server answered or closed; 0 if it never did
}

// Slowloris holds slow connections open while other clients request
// tg.Probe: those must keep getting 2xx answers. A slow client must get a
// 4xx or a closed connection, never a 5xx, and when tg.ClientTimeout is
// set, the clients that never finish their headers must be cut off within
// it (plus a margin). The check is bounded: it lasts ClientTimeout plus 3
// seconds, or 3 seconds.
func Slowloris(t *testing.T, tg Target) {
	probe := tg.Probe
	if probe == "" {
		probe = "/p/1"
	}
	span := 3 * time.Second
	if tg.ClientTimeout > 0 {
		span += tg.ClientTimeout
	}
	start := time.Now()
	stop := start.Add(span)
	var mu sync.Mutex // guards results
	var results []slowResult
	var wg sync.WaitGroup
	open := func(kind, head string, dripLine func(i int) string) {
		defer wg.Done()
		conn, err := net.DialTimeout("tcp", tg.Addr, 5*time.Second)
		if err != nil {
			t.Errorf("%s: dial: %v", kind, err)
			return
		}
		defer conn.Close()
		conn.SetDeadline(stop)
		r := slowResult{kind: kind}
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				r.status = resp.StatusCode
				io.Copy(io.Discard, resp.Body)
			}
			if time.Now().Before(stop) {
				r.ended = time.Since(start)
			}
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
	for i := 0; i < slowHeaders; i++ {
		wg.Add(1)
		go open("slow headers", "GET "+probe+" HTTP/1.1\r\nHost: "+tg.Addr+"\r\n",
			func(i int) string { return fmt.Sprintf("X-Slow-%d: a\r\n", i) })
	}
	for i := 0; i < slowBodies; i++ {
		wg.Add(1)
		go open("slow body", "POST /login HTTP/1.1\r\nHost: "+tg.Addr+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nname=",
			func(int) string { return "xxxxxxxxxx" })
	}

	// Meanwhile other clients are served, each on a new connection.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	served := 0
	for time.Now().Before(stop.Add(-500 * time.Millisecond)) {
		resp, err := client.Get("http://" + tg.Addr + probe)
		if err != nil {
			t.Errorf("while slow clients hold connections, GET %s: %v", probe, err)
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Errorf("while slow clients hold connections, GET %s: %d", probe, resp.StatusCode)
			}
			served++
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("%d slow clients held for up to %v; %d other requests served meanwhile", len(results), span, served)
	if served == 0 {
		t.Errorf("no other request was served while slow clients held connections")
	}
	for _, r := range results {
		if r.status >= 500 {
			t.Errorf("%s: %d", r.kind, r.status)
		}
		if r.status >= 200 && r.status < 300 {
			t.Errorf("%s: %d for a request never finished", r.kind, r.status)
		}
		if tg.ClientTimeout > 0 && r.kind == "slow headers" && r.ended == 0 {
			t.Errorf("%s: still open after %v (the server's client timeout is %v)", r.kind, span, tg.ClientTimeout)
		}
	}
}

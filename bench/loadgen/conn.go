package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// groups splits the targets by address: a connection talks to one server,
// and requests the targets of its group in turn.
func groups(targets []*target) [][]*target {
	var out [][]*target
	index := map[string]int{}
	for _, t := range targets {
		k := t.addr.String()
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], t)
	}
	return out
}

// lconn is one client connection of the portable engine: a net.Conn and a
// fixed read buffer that the parser reads in place.
type lconn struct {
	nc   net.Conn
	buf  []byte
	r, w int // buf[r:w] holds bytes read but not parsed yet
}

func (c *lconn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
	c.r, c.w = 0, 0
}

// roundTrip writes one request and reads its response into p. It returns
// how many bytes it read.
func (c *lconn) roundTrip(wire []byte, p *parser) (int, error) {
	if _, err := c.nc.Write(wire); err != nil {
		return 0, err
	}
	read := 0
	for {
		if c.r < c.w {
			n, err := p.feed(c.buf[c.r:c.w])
			c.r += n
			if err != nil {
				return read, err
			}
			if p.done() {
				return read, nil
			}
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
		} else if c.w == len(c.buf) {
			if c.r == 0 {
				return read, errProtocol // one line fills the buffer
			}
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		read += n
		if err != nil && n == 0 {
			if errors.Is(err, io.EOF) {
				if p.eof() {
					return read, nil
				}
				if p.state != stStatus || read > 0 {
					err = io.ErrUnexpectedEOF
				}
			}
			return read, err
		}
	}
}

// runConns is the portable engine: a goroutine per connection. It serves
// the open loop, workloads and no keep-alive as well as the plain closed
// loop where epoll is not used.
func runConns(run *runState, targets []*target) error {
	ctx, cancel := context.WithCancel(run.ctx)
	defer cancel()
	opts := run.opts
	var wg sync.WaitGroup

	var dues chan time.Time
	if opts.Rate > 0 {
		dues = make(chan time.Time)
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace(ctx, run, dues)
		}()
	}

	// Blocked reads and writes are woken when the run is cancelled by
	// moving every open connection's deadline into the past.
	slots := make([]connSlot, opts.Connections)
	stopWake := context.AfterFunc(run.ctx, func() {
		for i := range slots {
			slots[i].interrupt()
		}
	})
	defer stopWake()

	gs := groups(targets)
	var workers sync.WaitGroup
	for i := 0; i < opts.Connections; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			w := &connWorker{run: run, ctx: ctx, slot: &slots[i], group: gs[i%len(gs)], next: i / len(gs), dues: dues}
			w.loop()
		}()
	}
	workers.Wait()
	cancel()
	wg.Wait()
	return nil
}

// connSlot lets Run interrupt a worker's connection from outside.
type connSlot struct {
	// mu guards nc, which the worker replaces when it reconnects.
	mu sync.Mutex
	nc net.Conn
}

func (s *connSlot) set(nc net.Conn) {
	s.mu.Lock()
	s.nc = nc
	s.mu.Unlock()
}

func (s *connSlot) interrupt() {
	s.mu.Lock()
	if s.nc != nil {
		s.nc.SetDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
}

// pace sends the open loop's due times: request i is due at start + i/Rate,
// whether or not the server has kept up. It closes dues at the end.
func pace(ctx context.Context, run *runState, dues chan<- time.Time) {
	defer close(dues)
	interval := float64(time.Second) / run.opts.Rate
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		due := run.start.Add(time.Duration(float64(i) * interval))
		if !run.end.IsZero() && !due.Before(run.end) {
			return
		}
		if d := time.Until(due); d > 50*time.Microsecond {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		select {
		case dues <- due:
		case <-ctx.Done():
			return
		}
	}
}

// visitor walks a workload's visits for one connection, one request at a
// time, starting the run's next visit when one ends. Both engines use it.
type visitor struct {
	run   *runState
	visit Visit
	prev  *Response // the answer to the previous request, for Visit.Next
	resp  Response  // storage for prev
	buf   []byte    // storage for the request
}

// next returns the wire form of the next request and its kind.
func (v *visitor) next(t *target) ([]byte, Kind) {
	opts := v.run.opts
	for {
		if v.visit == nil {
			v.visit = opts.Workload.Visit(v.run.visits.Add(1) - 1)
			v.prev = nil
		}
		req, ok := v.visit.Next(v.prev)
		if !ok {
			v.visit = nil
			continue
		}
		method := req.Method
		if method == "" {
			method = "GET"
		}
		r := wireRequest{
			method: method, path: req.Path, host: t.url.Host, cookie: req.Cookie,
			form: req.Form, close: opts.NoKeepAlive, headers: opts.Headers,
		}
		v.buf = r.appendTo(v.buf[:0])
		return v.buf, req.Kind
	}
}

// answered passes a complete response on to the visit.
func (v *visitor) answered(p *parser) {
	v.resp = Response{Status: p.status, Body: p.Body, Cookies: p.Cookies, Location: p.Location}
	v.prev = &v.resp
}

// failed tells the visit its last request got no answer.
func (v *visitor) failed() { v.prev = nil }

// connWorker is one connection's goroutine.
type connWorker struct {
	run   *runState
	ctx   context.Context
	slot  *connSlot
	group []*target
	next  int
	dues  <-chan time.Time
}

func (w *connWorker) loop() {
	run, opts := w.run, w.run.opts
	rec := newRecorder(run)
	defer rec.close()
	c := &lconn{buf: make([]byte, 64<<10)}
	defer func() {
		w.slot.set(nil)
		c.close()
	}()
	var p parser
	var wire []byte
	vis := &visitor{run: run}
	if opts.Workload != nil {
		p.Capture, p.MaxBody = true, 1<<20
	}
	dialer := net.Dialer{Timeout: opts.Timeout}

	for w.ctx.Err() == nil {
		// What to send.
		t := w.group[w.next%len(w.group)]
		page, paced := false, true
		if opts.Workload == nil {
			w.next++
			wire = t.wire
		} else {
			t = w.group[0]
			var kind Kind
			wire, kind = vis.next(t)
			page, paced = kind == Page, kind != Asset
		}
		if !run.take() {
			return
		}

		// When to send: now (closed loop), or when due (open loop). The
		// latency of an open-loop request counts from its due time.
		var due time.Time
		if w.dues != nil && paced {
			var ok bool
			select {
			case due, ok = <-w.dues:
				if !ok {
					return
				}
			case <-w.ctx.Done():
				return
			}
		}
		sent := time.Now()
		if due.IsZero() {
			due = sent
		} else if sent.Sub(due) > opts.LateAfter {
			rec.late++
		}
		// A closed loop stops at its end, abandoning requests in flight
		// as wrk does; an open loop lets them finish, so that a slow
		// answer at the end still shows.
		deadline := sent.Add(opts.Timeout)
		cut := w.dues == nil && !run.end.IsZero() && run.end.Before(deadline)
		if cut {
			deadline = run.end
		}

		if c.nc == nil {
			nc, err := dialer.DialContext(w.ctx, "tcp", t.addr.String())
			if err != nil {
				if w.ctx.Err() != nil {
					return
				}
				now := time.Now()
				if cut && !now.Before(run.end) {
					return
				}
				rec.fail(now.Sub(run.start), errConnect)
				vis.failed()
				run.unreachable(now.Sub(run.start), err)
				// Do not spin on a server that refuses connections.
				select {
				case <-time.After(10 * time.Millisecond):
				case <-w.ctx.Done():
				}
				continue
			}
			c.nc = nc
			w.slot.set(nc)
			run.connected(time.Since(run.start))
		}
		c.nc.SetDeadline(deadline)
		p.reset()
		n, err := c.roundTrip(wire, &p)
		now := time.Now()
		rec.bytesOut += int64(len(wire))
		rec.bytesIn += int64(n)
		if err != nil {
			c.close()
			w.slot.set(nil)
			if w.ctx.Err() != nil || (cut && !now.Before(run.end)) {
				return // cancelled or over: not the server's fault
			}
			rec.fail(now.Sub(run.start), classify(err))
			vis.failed()
			continue
		}
		rec.ok(now.Sub(run.start), now.Sub(due), p.status, page)
		if p.close || opts.NoKeepAlive {
			c.close()
			w.slot.set(nil)
		}
		if opts.Workload != nil {
			vis.answered(&p)
		}
		if w.dues == nil && !run.end.IsZero() && !now.Before(run.end) {
			return
		}
	}
}

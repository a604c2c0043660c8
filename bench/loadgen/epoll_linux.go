//go:build linux

package loadgen

import (
	"fmt"
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollAvailable says whether this system has the epoll engine.
const epollAvailable = true

// The epoll engine: one goroutine, one epoll instance, Connections
// non-blocking sockets, for the closed loop with keep-alive. This is wrk's
// design, kept for the same reasons:
//   - each socket is registered once, for readable and edge-triggered;
//     only ready sockets are read, once unless the read fills the buffer,
//     so no read returns nothing and epoll_wait does not poll again the
//     sockets it reported;
//   - the next request is written as soon as a response completes, from a
//     request built before the run;
//   - each connection has a fixed buffer, only the status line and the
//     framing headers are parsed, and nothing is allocated per request, so
//     the garbage collector never runs during a run (a workload allocates
//     what its visits need, and keeps the bodies of pages);
//   - read, write and a polling epoll_wait are raw system calls, which skip
//     the scheduler's bookkeeping; only an epoll_wait that may block goes
//     through syscall.Syscall6, so the goroutines of the progress line and
//     of Ctrl-C handling still get to run;
//   - unlike wrk, the closed loop naps briefly when nothing is ready rather
//     than ask to be woken by the next response (see napFor).
//
// The open loop runs here too, as in wrk2: request i is due at i/Rate; a
// timerfd wakes the loop when the next one falls due, and it goes to an
// idle connection, or, when every connection is busy, to the next one that
// frees up, its wait counted in its latency.
//
// One loop uses at most one core. On a 2-core machine that shares its cores
// with the server under test, two loops did worse than one
// (docs/load-generator.md), so there is no option for more.

// Connection states.
const (
	ecDown       = iota // no socket; reconnect after downUntil
	ecConnecting        // non-blocking connect in progress, waiting for writable
	ecBusy              // a request is in flight
	ecIdle              // connected, nothing more to send
)

// econn is one connection of the event loop.
type econn struct {
	id    int
	fd    int
	state int
	group []*target
	next  int
	t     *target // target of the request in flight
	wire  []byte  // the request in flight
	page  bool    // it is a workload's page view
	vis   *visitor

	p    parser
	buf  []byte
	r, w int
	woff int // bytes of the request written so far

	start     time.Duration // when the request was due (closed loop: sent), since the run's start
	sent      time.Duration // when it was sent, or the connect started: timeouts count from here
	paced     bool          // the request waits for its due time (open loop)
	queued    bool          // c is on the idle list, waiting for a due time
	read      int           // bytes read for the request in flight
	downUntil time.Duration
}

type epollEngine struct {
	run      *runState
	epfd     int
	conns    []*econn
	rec      *recorder
	inflight int
	spent    bool // the Requests budget is used up

	// The open loop's schedule (Options.Rate > 0).
	open      bool
	interval  float64       // nanoseconds between due times
	end       time.Duration // no request is due at or after this; 0: no end
	scheduled int64         // requests given a due time so far
	schedDone bool          // no more requests will fall due
	idle      []*econn      // connections ready to send a paced request
	timerfd   int
	armedFor  int64 // the request the timer is set for; -1 when none
}

// maintenance runs at most this often: timeouts, reconnects, the run's end.
const maintEvery = 10 * time.Millisecond

func runEpoll(run *runState, targets []*target) error {
	// The naps below are short: this thread's timer slack (50 µs by
	// default) would stretch them, so the loop keeps one thread and sets
	// its slack to 1 µs for the run.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if slack, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
		unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(time.Microsecond), 0, 0, 0)
		defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0)
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	e := &epollEngine{run: run, epfd: epfd, rec: newRecorder(run), timerfd: -1, armedFor: -1}
	if !run.end.IsZero() {
		e.end = run.end.Sub(run.start)
	}
	defer func() {
		for _, c := range e.conns {
			if c.fd >= 0 {
				syscall.Close(c.fd)
			}
		}
		if e.timerfd >= 0 {
			syscall.Close(e.timerfd)
		}
		syscall.Close(epfd)
		e.rec.close()
	}()
	gs := groups(targets)
	for i := 0; i < run.opts.Connections; i++ {
		c := &econn{id: i, fd: -1, group: gs[i%len(gs)], next: i / len(gs), buf: make([]byte, 64<<10)}
		if run.opts.Workload != nil {
			c.vis = &visitor{run: run}
			c.p.Capture, c.p.MaxBody = true, 1<<20
		}
		e.conns = append(e.conns, c)
	}
	if run.opts.Rate > 0 {
		e.open, e.interval = true, float64(time.Second)/run.opts.Rate
		e.timerfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("timerfd: %w", err)
		}
		// The timer's events carry the id one past the connections'.
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(len(e.conns))}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, e.timerfd, &ev); err != nil {
			return fmt.Errorf("epoll: %w", err)
		}
	}
	for _, c := range e.conns {
		if !e.spent {
			e.connect(c, e.now())
		}
	}

	events := make([]syscall.EpollEvent, 256)
	lastMaint := time.Duration(0)
	for {
		// Poll first with a raw call. When nothing is ready and the
		// server has a queue of our requests, nap and poll again rather
		// than sleep in epoll_wait: a thread asleep there must be woken by
		// the server's every write, which costs the server's core a wakeup
		// (an interprocessor interrupt) that it would otherwise spend
		// answering. Only when the naps find nothing, wait through the
		// scheduler, so that the goroutines of the progress line and of
		// Ctrl-C handling still get to run.
		n := epollWait(epfd, events, 0, false)
		for k := 0; n == 0 && k < napMax && e.mayNap(); k++ {
			nap(napFor)
			n = epollWait(epfd, events, 0, false)
		}
		if n == 0 {
			n = epollWait(epfd, events, int(maintEvery/time.Millisecond), true)
		}
		for i := 0; i < n; i++ {
			ev := &events[i]
			if int(ev.Fd) == len(e.conns) {
				e.timerFired()
				continue
			}
			e.handle(e.conns[ev.Fd], ev.Events)
		}
		if now := e.now(); now-lastMaint >= maintEvery || n == 0 {
			lastMaint = now
			if e.maintain(now) {
				return nil
			}
		}
	}
}

// The naps of the closed loop: at most napMax of napFor each, and only with
// at least napMinInflight requests in flight, so that the server still has
// requests to answer while the client naps (nginx serving a small file
// answers about 12 in 100 µs on this 2-core machine, leaving 20 or more
// queued). A response that comes during a nap has its end read up to napFor
// late, which a closed loop's latency (64 connections at 100k req/s: 640 µs
// on average) can bear; the open loop, whose due times must be kept, never
// naps. Measured with bench/scripts/compare.sh against nginx, 100 µs did
// better than 25 and 50 µs (more req/s, less client CPU per request, less of
// nginx's CPU per request), and a nap that keeps the scheduler's P
// (RawSyscall) used less CPU but did fewer requests.
const (
	napFor         = 100 * time.Microsecond
	napMax         = 2
	napMinInflight = 32
)

func (e *epollEngine) mayNap() bool { return !e.open && e.inflight >= napMinInflight }

// nap sleeps for d, through the scheduler as any blocking call.
func nap(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	syscall.Syscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func (e *epollEngine) now() time.Duration { return time.Since(e.run.start) }

// epollWait waits for events; a negative result (EINTR) counts as none.
func epollWait(epfd int, ev []syscall.EpollEvent, msec int, mayBlock bool) int {
	var r uintptr
	var errno syscall.Errno
	// epoll_pwait with no signal mask is epoll_wait, on every architecture.
	if mayBlock {
		r, _, errno = syscall.Syscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&ev[0])), uintptr(len(ev)), uintptr(msec), 0, 0)
	} else {
		r, _, errno = syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&ev[0])), uintptr(len(ev)), uintptr(msec), 0, 0)
	}
	if errno != 0 {
		return 0
	}
	return int(r)
}

func rawRead(fd int, b []byte) (int, syscall.Errno) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(r), errno
}

func rawWrite(fd int, b []byte) (int, syscall.Errno) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(r), errno
}

// maintain handles what no socket event announces: the end of the run,
// cancellation, timeouts and reconnects. It reports whether the run is over.
func (e *epollEngine) maintain(now time.Duration) bool {
	run := e.run
	if run.ctx.Err() != nil {
		return true
	}
	if e.end > 0 && now >= e.end {
		if !e.open {
			return true // requests in flight are abandoned, as wrk does
		}
		// Requests still waiting for a connection are not sent; those in
		// flight are waited for.
		e.schedDone = true
	}
	if e.done() {
		return true
	}
	timeout := run.opts.Timeout
	for _, c := range e.conns {
		switch c.state {
		case ecBusy, ecConnecting:
			if now-c.sent > timeout {
				if c.state == ecConnecting {
					e.connectFailed(c, now, syscall.ETIMEDOUT)
				} else {
					e.fail(c, now, errTimeout)
				}
			}
		case ecDown:
			if now >= c.downUntil && !e.spent {
				e.connect(c, now)
			}
		}
	}
	if e.open {
		e.dispatch(now) // in case a timer event was missed
	}
	return e.done()
}

// done reports whether the run is over: nothing more to send, nothing in
// flight. An open loop waits for the answers still due at its end, so
// that a slow answer there still shows.
func (e *epollEngine) done() bool {
	if e.open {
		return (e.spent || e.schedDone) && e.inflight == 0
	}
	return e.spent && e.inflight == 0
}

// due is when the open loop's request i falls due, since the run's start.
func (e *epollEngine) due(i int64) time.Duration {
	return time.Duration(float64(i) * e.interval)
}

// dispatch gives the requests that are due to idle connections, and sets
// the timer for the next one.
func (e *epollEngine) dispatch(now time.Duration) {
	for len(e.idle) > 0 && !e.schedDone && !e.spent {
		due := e.due(e.scheduled)
		if e.end > 0 && due >= e.end {
			e.schedDone = true
			return
		}
		if due > now {
			e.arm(due - now)
			return
		}
		c := e.idle[len(e.idle)-1]
		e.idle = e.idle[:len(e.idle)-1]
		if !c.queued {
			continue // closed since it was queued
		}
		c.queued = false
		e.scheduled++
		if now-due > e.run.opts.LateAfter {
			e.rec.late++
		}
		e.transmit(c, due, now)
	}
}

// arm sets the timer to fire in d, for the request due next.
func (e *epollEngine) arm(d time.Duration) {
	if e.armedFor == e.scheduled {
		return
	}
	e.armedFor = e.scheduled
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	unix.TimerfdSettime(e.timerfd, 0, &spec, nil)
}

// timerFired handles the timer's event: a request has fallen due.
func (e *epollEngine) timerFired() {
	var buf [8]byte
	rawRead(e.timerfd, buf[:])
	e.armedFor = -1
	e.dispatch(e.now())
}

// sockaddr converts a resolved address for connect(2).
func sockaddr(a *net.TCPAddr) (syscall.Sockaddr, int) {
	if ip4 := a.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, syscall.AF_INET
	}
	sa := &syscall.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	return sa, syscall.AF_INET6
}

// connect opens c's socket and starts a non-blocking connect.
func (e *epollEngine) connect(c *econn, now time.Duration) {
	c.t = c.group[c.next%len(c.group)]
	sa, family := sockaddr(c.t.addr)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		e.connectFailed(c, now, err)
		return
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	c.fd, c.sent, c.r, c.w = fd, now, 0, 0
	err = syscall.Connect(fd, sa)
	switch err {
	case nil:
		if e.register(c, syscall.EPOLLIN, syscall.EPOLL_CTL_ADD) {
			e.run.connected(now)
			e.ready(c, now)
		}
	case syscall.EINPROGRESS:
		c.state = ecConnecting
		e.register(c, syscall.EPOLLOUT, syscall.EPOLL_CTL_ADD)
	default:
		e.connectFailed(c, now, err)
	}
}

func (e *epollEngine) register(c *econn, events uint32, op int) bool {
	ev := syscall.EpollEvent{Events: events | unix.EPOLLET, Fd: int32(c.id)}
	if err := syscall.EpollCtl(e.epfd, op, c.fd, &ev); err != nil {
		e.connectFailed(c, e.now(), err)
		return false
	}
	return true
}

// connectFailed counts a failed connect and retries it a little later, so a
// server that refuses connections is not hammered in a tight loop. A failed
// connect is an attempt of the Requests budget, so that a run with a
// request count ends even when no connection can be made.
func (e *epollEngine) connectFailed(c *econn, now time.Duration, err error) {
	e.closeConn(c)
	e.rec.fail(now, errConnect)
	if c.vis != nil {
		c.vis.failed()
	}
	c.downUntil = now + 10*time.Millisecond
	if !e.spent && !e.run.take() {
		e.spent = true
	}
	e.run.unreachable(now, err) // cancels the run after GiveUpAfter without a connection
}

func (e *epollEngine) closeConn(c *econn) {
	if c.state == ecBusy {
		e.inflight--
	}
	c.queued = false
	if c.fd >= 0 {
		syscall.Close(c.fd) // also removes it from the epoll set
		c.fd = -1
	}
	c.state = ecDown
}

// fail counts a failed request and replaces the connection.
func (e *epollEngine) fail(c *econn, now time.Duration, kind errKind) {
	e.closeConn(c)
	e.rec.fail(now, kind)
	if c.vis != nil {
		c.vis.failed()
	}
	if !e.spent {
		e.connect(c, now)
	}
}

// ready chooses c's next request and sends it: at once in the closed loop
// (and for a workload's images), when due in the open loop.
func (e *epollEngine) ready(c *econn, now time.Duration) {
	c.state = ecIdle
	if e.spent {
		return
	}
	if c.vis == nil {
		c.t = c.group[c.next%len(c.group)]
		c.next++
		c.wire, c.page, c.paced = c.t.wire, false, true
	} else {
		var kind Kind
		c.t = c.group[0]
		c.wire, kind = c.vis.next(c.t)
		c.page, c.paced = kind == Page, kind != Asset
	}
	if !e.open || !c.paced {
		e.transmit(c, now, now)
		return
	}
	c.queued = true
	e.idle = append(e.idle, c)
	e.dispatch(now)
}

// transmit sends c's chosen request, due at start; it leaves c idle when
// the Requests budget is spent.
func (e *epollEngine) transmit(c *econn, start, now time.Duration) {
	if e.spent || !e.run.take() {
		e.spent = true
		c.state = ecIdle
		return
	}
	c.p.reset()
	c.state, c.start, c.sent, c.read, c.woff = ecBusy, start, now, 0, 0
	e.inflight++
	e.rec.bytesOut += int64(len(c.wire))
	e.write(c, now)
}

// write writes what is left of the request; a socket buffer that is full
// (rare: requests are small) makes it wait for writable.
func (e *epollEngine) write(c *econn, now time.Duration) {
	wire := c.wire
	n, errno := rawWrite(c.fd, wire[c.woff:])
	if errno != 0 {
		if errno == syscall.EAGAIN {
			e.register(c, syscall.EPOLLIN|syscall.EPOLLOUT, syscall.EPOLL_CTL_MOD)
			return
		}
		e.fail(c, now, classify(errno))
		return
	}
	first := c.woff == 0
	c.woff += n
	if c.woff < len(wire) {
		e.register(c, syscall.EPOLLIN|syscall.EPOLLOUT, syscall.EPOLL_CTL_MOD)
	} else if !first {
		e.register(c, syscall.EPOLLIN, syscall.EPOLL_CTL_MOD)
	}
}

// handle reacts to one socket's events.
func (e *epollEngine) handle(c *econn, events uint32) {
	switch c.state {
	case ecConnecting:
		now := e.now()
		soErr, err := syscall.GetsockoptInt(c.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err == nil && soErr != 0 {
			err = syscall.Errno(soErr)
		}
		if err != nil {
			e.connectFailed(c, now, err)
			return
		}
		if e.register(c, syscall.EPOLLIN, syscall.EPOLL_CTL_MOD) {
			e.run.connected(now)
			e.ready(c, now)
		}
	case ecBusy:
		if events&syscall.EPOLLOUT != 0 && c.woff < len(c.wire) {
			e.write(c, e.now())
			if c.state != ecBusy {
				return
			}
		}
		if events&(syscall.EPOLLIN|syscall.EPOLLERR|syscall.EPOLLHUP) != 0 {
			e.readResponse(c)
		}
	case ecIdle:
		// The server closed an idle connection, or sent what we did not ask.
		e.closeConn(c)
	}
}

// readResponse reads from a ready socket and parses what came. Sockets are
// edge-triggered, so it reads until the socket is empty; a read that did not
// fill the buffer emptied it (TCP copies all it holds), so a second read,
// which would return EAGAIN, is made only after a full one.
func (e *epollEngine) readResponse(c *econn) {
	for {
		if c.r == c.w {
			c.r, c.w = 0, 0
		} else if c.w == len(c.buf) {
			if c.r == 0 {
				e.fail(c, e.now(), errOther)
				return
			}
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		space := len(c.buf) - c.w
		n, errno := rawRead(c.fd, c.buf[c.w:])
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return
		case errno != 0:
			e.fail(c, e.now(), classify(errno))
			return
		case n == 0: // the server closed the connection
			if c.p.eof() {
				e.complete(c)
			} else {
				e.fail(c, e.now(), errReset)
			}
			return
		}
		c.w += n
		c.read += n
		m, err := c.p.feed(c.buf[c.r:c.w])
		c.r += m
		if err != nil {
			e.fail(c, e.now(), errOther)
			return
		}
		if c.p.done() {
			if n == space {
				// More may wait in the socket, and no new edge will say
				// so: modifying the registration checks again.
				e.register(c, syscall.EPOLLIN, syscall.EPOLL_CTL_MOD)
			}
			e.complete(c)
			return
		}
		if n < space {
			return
		}
	}
}

// complete records a whole response and sends the next request.
func (e *epollEngine) complete(c *econn) {
	now := e.now() // the one clock read per response: this one's end, the next one's start
	e.rec.ok(now, now-c.start, c.p.status, c.page)
	e.rec.bytesIn += int64(c.read)
	if c.vis != nil {
		c.vis.answered(&c.p)
	}
	e.inflight--
	c.state = ecIdle
	if c.p.close {
		e.closeConn(c)
		if !e.spent {
			e.connect(c, now)
		}
		return
	}
	e.ready(c, now)
}

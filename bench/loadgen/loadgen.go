// Package loadgen sends HTTP/1.1 load to a server and measures it: the
// engine behind `scalelab load`.
//
// Two ways of loading, because they answer different questions:
//   - closed loop (Options.Rate == 0): each of Connections connections sends
//     its next request as soon as the previous one is answered, like ab and
//     wrk. It finds the most the server can do, but a stalled server also
//     stalls the client, so slow moments send fewer requests and hide in the
//     percentiles ("coordinated omission").
//   - open loop (Options.Rate > 0): requests fall due on a fixed schedule and
//     each one's latency is counted from when it was due, not when it could
//     be sent, like wrk2 and vegeta. A stall then shows in full.
//
// Two clients (engines) send the requests. On Linux, with keep-alive, one
// goroutine owns an epoll instance and non-blocking sockets, reading only
// ready sockets and allocating nothing per request: the design of wrk (and
// wrk2 for the open loop), and the only one measured on a 2-core machine to
// match wrk's throughput per CPU second (see docs/load-generator.md).
// Everything else (no keep-alive, other systems, Options.Portable) runs on
// a goroutine per connection over net.Conn with the same lean parser.
//
// The package speaks HTTP to URLs and knows nothing of the servers it loads.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/scalelab/scalelab/bench/procstat"
	"github.com/scalelab/scalelab/bench/record"
)

// Options say what load to send. The zero value of each field is documented;
// Targets is the only one required.
type Options struct {
	// Targets are the URLs to load (http only). Fixed targets are requested
	// in turn; with a Workload, only their scheme and host are used.
	Targets []*url.URL
	// Connections is the number of connections; in the open loop it is the
	// most requests in flight at once. Zero means 64.
	Connections int
	// NoKeepAlive opens a new connection for every request (like plain ab).
	NoKeepAlive bool
	// Duration stops the run after this long; Requests stops it after that
	// many requests. With neither, the run lasts 10 s; with both, it stops
	// at whichever comes first. At the end, a closed loop abandons the
	// requests in flight (as wrk does); an open loop waits for them, up to
	// Timeout, so that a stall at the end still shows.
	Duration time.Duration
	Requests int64
	// Timeout bounds each request, connecting included. Zero means 20 s.
	Timeout time.Duration
	// Headers are extra "Name: value" lines sent with every request. A
	// Host header replaces the one taken from the URL.
	Headers []string
	// Rate > 0 selects the open loop at Rate requests per second (with a
	// Workload: page views and form posts per second; a page's images follow
	// it at once, as a browser's do).
	Rate float64
	// GiveUpAfter ends the run with ErrUnreachable when, for this long,
	// no connection could be made and no response came while connects
	// failed: nothing answers there. Zero means 5 s.
	GiveUpAfter time.Duration
	// LateAfter is how far past its due time an open-loop request may be
	// sent and still count as on time. Zero means 1 ms.
	LateAfter time.Duration
	// Workload, when set, chooses every request (see Workload).
	Workload Workload
	// WorkloadName and Params are copied into the record's settings.
	WorkloadName string
	Params       map[string]string
	// WatchPIDs are processes (with their descendants) whose CPU time the
	// record reports beside the client's.
	WatchPIDs []int
	// Portable disables the epoll engine, for comparison and for tests.
	Portable bool
	// Progress, when set, is called about once a second during the run,
	// from a goroutine of Run's, with the totals so far.
	Progress func(Progress)
}

// Progress is a snapshot of a running load, for a live progress line.
type Progress struct {
	Elapsed   time.Duration
	Requests  int64
	PageViews int64
	Errors    int64
}

// Workload chooses the requests of a run, a visit at a time. A visit is what
// one visitor does: a few pages, each followed by the images a browser would
// fetch for it. Visits must depend only on their index (and on the responses
// they get), so that the same seed sends the same requests.
type Workload interface {
	// Visit returns the k-th visit of the run (k counts from 0).
	Visit(k uint64) Visit
}

// Visit yields one visitor's requests in order.
type Visit interface {
	// Next returns the next request, given the response to the previous one
	// (nil on the first call, and when the previous request failed). It
	// returns false when the visit is over.
	Next(prev *Response) (Request, bool)
}

// Kind classifies a workload request.
type Kind int

const (
	// Page is a page view: a GET a visitor navigates to.
	Page Kind = iota
	// Post is a form submission (log in, comment).
	Post
	// Asset is a request the browser makes on its own for a page (images).
	Asset
)

// Request is one request of a workload.
type Request struct {
	Kind   Kind
	Method string // "GET" when empty
	// Path is the path and query ("/u/user000001?page=2").
	Path string
	// Cookie is sent as the Cookie header when not empty ("session=...").
	Cookie string
	// Form is an URL-encoded form body, sent with its Content-Type and an
	// Origin header equal to the target's origin, as a browser's POST is.
	Form string
	// WantBody asks for the response body in the next call to Next.
	WantBody bool
}

// Response is what a Visit sees of the answer to its previous request.
type Response struct {
	Status int
	// Body is the start of the body (up to 1 MiB), when asked for; it is
	// valid only until Next returns.
	Body []byte
	// Cookies are the name=value pairs of the response's Set-Cookie headers.
	Cookies []string
	// Location is the Location header, for redirects.
	Location string
}

// ErrUsage marks errors in Options, the caller's mistake rather than the
// run's: errors.Is(err, ErrUsage) holds for them.
var ErrUsage = errors.New("bad load options")

// ErrUnreachable marks a run that gave up because no connection to its
// targets could be made for Options.GiveUpAfter.
var ErrUnreachable = errors.New("nothing answered")

// usageError is an error in Options. Its text is the message alone, so
// that the CLI can print it as it is; it matches ErrUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

// Usagef returns an error in the options, matching ErrUsage.
func Usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// Defaults.
const (
	DefaultConnections = 64
	DefaultDuration    = 10 * time.Second
	DefaultTimeout     = 20 * time.Second
	DefaultLateAfter   = time.Millisecond
	DefaultGiveUpAfter = 5 * time.Second
)

// ParseTarget parses a target URL: http only, with a host. A missing
// scheme is taken as http ("127.0.0.1:8080/" works).
func ParseTarget(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, Usagef("target %q: %v", s, err)
	}
	if u.Scheme != "http" {
		return nil, Usagef("target %q: only http:// is supported", s)
	}
	if u.Hostname() == "" {
		return nil, Usagef("target %q has no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, Usagef("target %q: bad port %q", s, p)
		}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// IsLoopback reports whether a URL's host is on this machine's loopback:
// "localhost", 127.0.0.0/8 or ::1. Other names are not resolved: a load
// generator must not be pointed elsewhere by a DNS answer.
func IsLoopback(u *url.URL) bool {
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// check validates opts and fills the defaults.
func (o *Options) check() error {
	switch {
	case len(o.Targets) == 0:
		return Usagef("no target URL")
	case o.Connections < 0:
		return Usagef("connections must be at least 1")
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return Usagef("rate must be a finite number of requests per second, not %g", o.Rate)
	case o.Duration < 0 || o.Requests < 0 || o.Timeout < 0:
		return Usagef("duration, requests and timeout must not be negative")
	}
	for _, h := range o.Headers {
		name, _, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(h, "\r\n") || strings.ContainsAny(name, " \t") {
			return Usagef("header %q: want \"Name: value\"", h)
		}
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.Requests > 0 && int64(o.Connections) > o.Requests {
		// More connections than requests would only open idle ones.
		o.Connections = int(o.Requests)
	}
	if o.Duration == 0 && o.Requests == 0 {
		o.Duration = DefaultDuration
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = DefaultGiveUpAfter
	}
	if o.LateAfter == 0 {
		o.LateAfter = DefaultLateAfter
	}
	return nil
}

// target is a URL resolved once, with its request pre-built.
type target struct {
	url  *url.URL
	addr *net.TCPAddr
	wire []byte // the GET request for url, ready to write
}

// resolve looks the targets' hosts up once, before the clock starts.
func resolve(ctx context.Context, urls []*url.URL, opts *Options) ([]*target, error) {
	var out []*target
	for _, u := range urls {
		port := u.Port()
		if port == "" {
			port = "80"
		}
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, u.Hostname())
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("resolve %s: %w", u.Host, err)
		}
		// Prefer IPv4, as browsers' "happy eyeballs" usually end up doing
		// on loopback: "localhost" is often both 127.0.0.1 and ::1, and a
		// test server may listen on one only.
		ip := ips[0].IP
		for _, a := range ips {
			if a.IP.To4() != nil {
				ip = a.IP
				break
			}
		}
		p, _ := strconv.Atoi(port)
		t := &target{
			url:  u,
			addr: &net.TCPAddr{IP: ip, Port: p},
		}
		r := wireRequest{method: "GET", path: u.RequestURI(), host: u.Host, close: opts.NoKeepAlive, headers: opts.Headers}
		t.wire = r.appendTo(nil)
		out = append(out, t)
	}
	return out, nil
}

// wireRequest is an HTTP/1.1 request as the generator writes it.
type wireRequest struct {
	method, path, host string
	cookie             string   // a Cookie header's value, if any
	form               string   // a POST's URL-encoded body
	close              bool     // ask the server to close the connection after it
	headers            []string // extra "Name: value" lines; "Host: x" replaces host
}

// hostHeader returns the value of a Host header among h, or "".
func hostHeader(h string) (string, bool) {
	name, value, _ := strings.Cut(h, ":")
	return strings.TrimSpace(value), strings.EqualFold(strings.TrimSpace(name), "host")
}

// appendTo appends the request to b, allocating only when b is too small.
func (r *wireRequest) appendTo(b []byte) []byte {
	b = append(b, r.method...)
	b = append(b, ' ')
	b = append(b, r.path...)
	host := r.host
	for _, h := range r.headers {
		if v, ok := hostHeader(h); ok {
			host = v
		}
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: scalelab-load\r\nAccept: */*\r\n"...)
	if r.close {
		b = append(b, "Connection: close\r\n"...)
	}
	for _, h := range r.headers {
		if _, ok := hostHeader(h); !ok {
			b = append(b, h...)
			b = append(b, "\r\n"...)
		}
	}
	if r.cookie != "" {
		b = append(b, "Cookie: "...)
		b = append(b, r.cookie...)
		b = append(b, "\r\n"...)
	}
	if r.method == "POST" {
		// A browser's form post names its origin; the site refuses
		// cross-site posts, so the origin is the host's own.
		b = append(b, "Origin: http://"...)
		b = append(b, host...)
		b = append(b, "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.form)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, r.form...)
	return b
}

// Run sends the load opts describe until its duration or request count is
// reached or ctx is done, and returns what it measured. A cancelled ctx
// ends the run early but still returns the record of what was done.
func Run(ctx context.Context, opts Options) (*record.Record, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	targets, err := resolve(ctx, opts.Targets, &opts)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	rec := &record.Record{Tool: "scalelab load", Started: time.Now().UTC()}
	rec.Env = environment()
	s := &rec.Settings
	for _, u := range opts.Targets {
		s.Targets = append(s.Targets, u.String())
	}
	s.Mode, s.Connections, s.Rate = "closed", opts.Connections, opts.Rate
	if opts.Rate > 0 {
		s.Mode = "open"
	}
	s.DurationS, s.Requests = opts.Duration.Seconds(), opts.Requests
	s.TimeoutS, s.KeepAlive = opts.Timeout.Seconds(), !opts.NoKeepAlive
	s.Workload, s.Params = opts.WorkloadName, opts.Params

	watch, err := procstat.Watch(opts.WatchPIDs)
	if err != nil {
		return nil, Usagef("watch: %v", err)
	}
	cpu0, err := procstat.Self()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	probes := procstat.StartProbes(speedProbeEvery)

	run := newRunState(ctx, &opts)
	stopProgress := run.startProgress()
	useEpoll := epollAvailable && !opts.Portable && !opts.NoKeepAlive
	if useEpoll {
		s.Engine = "epoll"
		rec.Results.CPU.ClientCoreLimit = 1
		err = runEpoll(run, targets)
	} else {
		s.Engine = "conn"
		rec.Results.CPU.ClientCoreLimit = float64(min(runtime.GOMAXPROCS(0), runtime.NumCPU()))
		err = runConns(run, targets)
	}
	elapsed := time.Since(run.start)
	stopProgress()
	run.cancel()
	probeMedian, probeCount := probes.Stop()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if run.gaveUp.Load() {
		hosts := make([]string, len(opts.Targets))
		for i, u := range opts.Targets {
			hosts[i] = u.Host
		}
		return nil, fmt.Errorf("%w at %s: no connection could be made for %s (%v): is the server up?",
			ErrUnreachable, strings.Join(hosts, ", "), opts.GiveUpAfter, run.gaveUpWhy)
	}

	cpu1, err := procstat.Self()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	used, err := watch.Stop()
	if err != nil {
		return nil, fmt.Errorf("loadgen: watch: %w", err)
	}
	// An open loop's rate is that of its schedule: requests still in flight
	// at the end are waited for, but the wait does not dilute the rate.
	wall := elapsed
	if opts.Rate > 0 && opts.Duration > 0 && wall > opts.Duration {
		wall = opts.Duration
	}
	run.results(&rec.Results, wall)
	rec.Results.Interrupted = ctx.Err() != nil
	c := &rec.Results.CPU
	d := cpu1.Sub(cpu0)
	c.ClientUserS, c.ClientSysS = d.User.Seconds(), d.Sys.Seconds()
	c.ClientCores = d.Total().Seconds() / elapsed.Seconds()
	for _, u := range used {
		c.Watched = append(c.Watched, record.ProcCPU{
			PID: u.PID, Name: u.Name,
			UserS: u.Times.User.Seconds(), SysS: u.Times.Sys.Seconds(),
			Cores: u.Times.Total().Seconds() / elapsed.Seconds(),
		})
	}
	if m, ok := watch.Machine(); ok {
		total := m.Total()
		if t := watch.MachineTime(); t > 0 {
			total = t // exact on a mostly idle machine, where the fields fall short
		}
		c.Machine = &record.MachineCPU{TotalS: total.Seconds(), BusyS: m.Busy().Seconds(),
			IdleS: m.IdleTime().Seconds(), StealS: m.Steal.Seconds()}
	}
	c.SpeedProbeMs, c.SpeedProbes = probeMedian.Seconds()*1e3, probeCount
	rec.Results.Summarize()
	return rec, nil
}

// speedProbeEvery is how often the machine's speed is probed during a
// load (procstat.Probe): each probe costs about 1.6 ms of CPU.
const speedProbeEvery = 500 * time.Millisecond

func environment() record.Env {
	host, _ := os.Hostname()
	return record.Env{
		Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
	}
}

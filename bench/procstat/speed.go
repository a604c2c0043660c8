package procstat

import (
	"crypto/sha256"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/scalelab/scalelab/internal/appcost"
)

// The machine's speed. On a shared virtual machine the same work does not
// cost the same CPU time from one minute to the next: other tenants of the
// host share its caches, its memory bandwidth and the other half of each
// core, and none of it shows as steal. On the 2-core VM the lab was built
// on, a stage's CPU per request for the very same requests went from 151
// to 225 µs within a quarter of an hour. A figure measured at one speed
// and compared with one measured at another is then off by the ratio, and
// the ratio is what Probe measures: the thread CPU time of one fixed piece
// of work. It is a yardstick, not a benchmark: only its ratios mean
// anything, and only on one machine.

// probeRounds of SHA-256 over probeBytes are the fixed work: about 1.6 ms
// of CPU on that VM, long enough for the thread clock's resolution and
// short enough to sample every half second at 0.3% of a core.
const (
	probeRounds = 500
	probeBytes  = 4096
)

// probeSink keeps the compiler from dropping the work.
var probeSink [sha256.Size]byte

// Probe does the fixed work on a thread of its own and returns the CPU time
// that thread spent on it (CLOCK_THREAD_CPUTIME_ID): time the thread was
// descheduled does not count, so a busy machine does not slow the probe,
// only a slower one does.
func Probe() (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, probeBytes)
	t0, err := appcost.ThreadCPU()
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256(buf)
	for range probeRounds {
		copy(buf[probeBytes-sha256.Size:], sum[:])
		sum = sha256.Sum256(buf)
	}
	probeSink = sum
	t1, err := appcost.ThreadCPU()
	if err != nil {
		return 0, err
	}
	return t1 - t0, nil
}

// Prober samples Probe every interval until Stop.
type Prober struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	got  []time.Duration
}

// StartProbes probes once at once and then every interval.
func StartProbes(every time.Duration) *Prober {
	p := &Prober{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if d, err := Probe(); err == nil {
				p.mu.Lock()
				p.got = append(p.got, d)
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// Stop ends the sampling and returns the median probe and the number of
// probes (0 and 0 when none could be taken).
func (p *Prober) Stop() (median time.Duration, n int) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return Median(p.got), len(p.got)
}

// Median is the median of ds (0 for none).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Package record defines the result of one load run as data: a JSON document
// that keeps the full latency histograms, not just their percentiles, so that
// records written by separate runs or processes can be merged exactly and
// re-plotted later without going back to the raw requests.
//
// Reports are functions over a Record (see WriteSummary); nothing here knows
// how the load was generated.
package record

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms count microseconds. The range reaches one hour so that
// no plausible timeout is clipped; 3 significant digits keep every percentile
// within 0.1% of the recorded value.
const (
	HistLowest  = 1
	HistHighest = int64(time.Hour / time.Microsecond)
	HistDigits  = 3
	// TimelineDigits is the precision of the per-second histograms: 1% is
	// plenty for a p99 over time and keeps each second's histogram small.
	TimelineDigits = 2
)

// NewHist returns an empty latency histogram (microseconds) of the geometry
// every record uses, so that any two merge exactly.
func NewHist() *Hist { return &Hist{hdrhistogram.New(HistLowest, HistHighest, HistDigits)} }

// NewTimelineHist returns an empty histogram for one second of the timeline.
func NewTimelineHist() *Hist {
	return &Hist{hdrhistogram.New(HistLowest, HistHighest, TimelineDigits)}
}

// Hist is an HDR histogram of latencies in microseconds. In JSON it is the
// standard base64 "V2 compressed" HdrHistogram encoding, which other
// HdrHistogram implementations (Java, C, Python) read too.
type Hist struct {
	*hdrhistogram.Histogram
}

// Record adds one latency, clamped to the histogram's range (a latency
// beyond an hour is recorded as an hour rather than lost).
func (h *Hist) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < HistLowest {
		us = HistLowest
	} else if us > HistHighest {
		us = HistHighest
	}
	_ = h.RecordValue(us) // cannot fail: the value is in range
}

// MarshalJSON encodes the histogram as a base64 string.
func (h *Hist) MarshalJSON() ([]byte, error) {
	if h == nil || h.Histogram == nil {
		return []byte("null"), nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("record: encode histogram: %w", err)
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes a base64 string written by MarshalJSON.
func (h *Hist) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("record: histogram: %w", err)
	}
	d, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return fmt.Errorf("record: decode histogram: %w", err)
	}
	h.Histogram = d
	return nil
}

// Merge adds other's counts into h. Histograms of different precision merge
// value by value; none is dropped because every record shares one range.
func (h *Hist) Merge(other *Hist) {
	if other == nil || other.Histogram == nil {
		return
	}
	h.Histogram.Merge(other.Histogram)
}

// Record is everything one run of the load generator measured, and how.
type Record struct {
	// Tool names what produced the record ("scalelab load", or "wrk" when a
	// foreign tool's output was parsed into a record).
	Tool     string    `json:"tool"`
	Started  time.Time `json:"started"`
	Settings Settings  `json:"settings"`
	Env      Env       `json:"env"`
	Results  Results   `json:"results"`
	// Notes are warnings found when the record was made from others,
	// such as a merge of runs that did not overlap in time; Warnings
	// includes them.
	Notes []string `json:"notes,omitempty"`
	// Thresholds are the load's pass/fail criteria (--threshold) and
	// whether they passed.
	Thresholds []ThresholdCheck `json:"thresholds,omitempty"`
}

// Settings are the options the run was made with.
type Settings struct {
	Targets []string `json:"targets"`
	// Mode is "closed" (each connection waits for its answer before it
	// sends the next request) or "open" (requests are due on a fixed
	// schedule at Rate per second, whether or not earlier ones answered).
	Mode        string  `json:"mode"`
	Connections int     `json:"connections"`
	Rate        float64 `json:"rate,omitempty"`
	// DurationS and Requests are the limits asked for; zero means none.
	DurationS float64 `json:"duration_s,omitempty"`
	Requests  int64   `json:"requests,omitempty"`
	TimeoutS  float64 `json:"timeout_s"`
	KeepAlive bool    `json:"keepalive"`
	// Engine is the client that sent the requests: "epoll" (one event loop,
	// Linux) or "conn" (a goroutine per connection).
	Engine   string            `json:"engine"`
	Workload string            `json:"workload,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
}

// Env describes the machine the record was taken on.
type Env struct {
	Hostname  string `json:"hostname"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
}

// Results are the measurements.
type Results struct {
	// Seconds is the measured wall time from the first request to the end.
	Seconds float64 `json:"seconds"`
	// Interrupted says the run was stopped (Ctrl-C) before its end.
	Interrupted bool `json:"interrupted,omitempty"`
	// Requests counts requests that got a complete response, whatever its
	// status; ErrorsTotal counts the ones that did not plus 5xx responses.
	Requests    int64 `json:"requests"`
	PageViews   int64 `json:"page_views,omitempty"`
	ErrorsTotal int64 `json:"errors_total"`
	// Errors counts errors by kind: connect, timeout, reset, 5xx, other.
	Errors map[string]int64 `json:"errors"`
	// Status counts responses by status code ("200", "404", ...).
	Status map[string]int64 `json:"status"`
	// Late counts open-loop requests that could not be sent on time because
	// every connection was busy: the wait is part of their latency.
	Late          int64   `json:"late,omitempty"`
	BytesRead     int64   `json:"bytes_read"`
	BytesWritten  int64   `json:"bytes_written"`
	RequestsPerS  float64 `json:"requests_per_s"`
	PageViewsPerS float64 `json:"page_views_per_s,omitempty"`
	Latency       Latency `json:"latency"`
	// Timeline has one entry per second of the run, seconds without any
	// response included (records made before that have holes: see
	// StallsOf).
	Timeline []Second `json:"timeline"`
	// LongestGapMs is the longest time with no complete response: from the
	// start to the first, between two, and from the last to the end. Zero
	// when not measured: in records made before it was, and in a merge of
	// records (the gaps of separate processes do not combine).
	LongestGapMs float64 `json:"longest_gap_ms,omitempty"`
	CPU          CPU     `json:"cpu"`
}

// Latency summarises the latency histogram; the percentiles are derived
// from Hist and recomputed when records merge.
type Latency struct {
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
	MaxMs  float64 `json:"max_ms"`
	Hist   *Hist   `json:"hdr"`
}

// Second is one second of the timeline (T counts from 0 at the start).
type Second struct {
	T         int     `json:"t"`
	Requests  int64   `json:"requests"`
	PageViews int64   `json:"page_views,omitempty"`
	Errors    int64   `json:"errors"`
	P99Ms     float64 `json:"p99_ms"`
	Hist      *Hist   `json:"hdr"`
}

// CPU is the processor time used during the run, by the load generator
// itself and by the processes it was asked to watch.
type CPU struct {
	ClientUserS float64 `json:"client_user_s"`
	ClientSysS  float64 `json:"client_sys_s"`
	// ClientCores is (user+sys)/wall: 1.0 means one core was busy all along.
	ClientCores float64 `json:"client_cores"`
	// ClientCoreLimit is how many cores the client could use at most (1 for
	// the single event loop), the yardstick of the saturation warning.
	ClientCoreLimit float64   `json:"client_core_limit"`
	Watched         []ProcCPU `json:"watched,omitempty"`
	// Machine is what the whole machine did over the same interval as
	// Watched, from /proc/stat; absent when nothing was watched.
	Machine *MachineCPU `json:"machine,omitempty"`
	// SpeedProbeMs is the median CPU time, in milliseconds, of the
	// machine's speed probe (procstat.Probe: a fixed piece of work)
	// sampled every half second of the measurement; SpeedProbes is how
	// many were taken. Higher is slower. Only ratios between measurements
	// on one machine mean anything: the same requests cost the CPU time
	// they cost times that ratio.
	SpeedProbeMs float64 `json:"speed_probe_ms,omitempty"`
	SpeedProbes  int     `json:"speed_probes,omitempty"`
}

// MachineCPU is the whole machine's processor time over a measurement, all
// cores together: what is left of it once the client and the watched
// processes are taken away was used by processes outside the measurement.
type MachineCPU struct {
	// TotalS is cores × wall time. Records before 2026-12-01 summed
	// /proc/stat's busy, idle and steal instead, which falls about 5%
	// short on a mostly idle machine (procstat.CPUStat.Total).
	TotalS float64 `json:"total_s"`
	// BusyS is the time the cores ran anything, the kernel included.
	BusyS float64 `json:"busy_s"`
	// IdleS is the time they had nothing to run (I/O wait included).
	IdleS float64 `json:"idle_s"`
	// StealS is the time the hypervisor gave this machine's virtual cores
	// to someone else.
	StealS float64 `json:"steal_s"`
}

// ProcCPU is the CPU time of one watched process and its descendants.
type ProcCPU struct {
	PID   int     `json:"pid"`
	Name  string  `json:"name"`
	UserS float64 `json:"user_s"`
	SysS  float64 `json:"sys_s"`
	Cores float64 `json:"cores"`
}

// Summarize fills the derived fields (percentiles, rates, per-second p99)
// from the histograms and counts. Call it after changing Results.
func (r *Results) Summarize() {
	h := r.Latency.Hist
	if h != nil && h.Histogram != nil && h.TotalCount() > 0 {
		r.Latency.MeanMs = h.Mean() / 1000
		r.Latency.P50Ms = usToMs(h.ValueAtQuantile(50))
		r.Latency.P90Ms = usToMs(h.ValueAtQuantile(90))
		r.Latency.P99Ms = usToMs(h.ValueAtQuantile(99))
		r.Latency.P999Ms = usToMs(h.ValueAtQuantile(99.9))
		r.Latency.MaxMs = usToMs(h.Max())
	}
	for i := range r.Timeline {
		s := &r.Timeline[i]
		if s.Hist != nil && s.Hist.Histogram != nil && s.Hist.TotalCount() > 0 {
			s.P99Ms = usToMs(s.Hist.ValueAtQuantile(99))
		}
	}
	if r.Seconds > 0 {
		r.RequestsPerS = float64(r.Requests) / r.Seconds
		r.PageViewsPerS = float64(r.PageViews) / r.Seconds
	}
	var errs int64
	for _, n := range r.Errors {
		errs += n
	}
	r.ErrorsTotal = errs
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// WriteFile writes the record as indented JSON.
func (r *Record) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("record: encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// ReadFile reads a record written by WriteFile.
func ReadFile(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("record: read %s: %w", path, err)
	}
	return &r, nil
}

package record

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Merge combines records of runs that loaded the same server at the same
// time (two generator processes, or one run split across machines) into one
// record, as if one client had sent every request:
//   - counts, bytes, status codes, errors and histograms add up exactly
//     (the HDR histograms merge bucket by bucket, so the merged percentiles
//     are those of all requests, not an average of percentiles);
//   - the wall time is the longest run's, so rates add up;
//   - timelines add second by second;
//   - client CPU adds up; a watched PID seen by several records keeps the
//     largest figure, since each record saw the same process.
//
// The inputs are not modified. Merge of no records is an error.
func Merge(recs ...*Record) (*Record, error) {
	if len(recs) == 0 {
		return nil, errors.New("record: merge: no records")
	}
	out := &Record{
		Tool:     recs[0].Tool,
		Started:  recs[0].Started,
		Settings: recs[0].Settings,
		Env:      recs[0].Env,
	}
	out.Settings.Targets = nil
	out.Settings.Connections = 0
	out.Settings.Rate = 0
	res := &out.Results
	res.Errors = map[string]int64{}
	res.Status = map[string]int64{}
	res.Latency.Hist = NewHist()
	seenTarget := map[string]bool{}
	watched := map[int]ProcCPU{}
	var limit float64
	for _, r := range recs {
		if r.Tool != out.Tool && !strings.Contains(out.Tool, r.Tool) {
			out.Tool += "+" + r.Tool
		}
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		for _, t := range r.Settings.Targets {
			if !seenTarget[t] {
				seenTarget[t] = true
				out.Settings.Targets = append(out.Settings.Targets, t)
			}
		}
		out.Settings.Connections += r.Settings.Connections
		out.Settings.Rate += r.Settings.Rate

		in := &r.Results
		res.Seconds = math.Max(res.Seconds, in.Seconds)
		res.Interrupted = res.Interrupted || in.Interrupted
		res.Requests += in.Requests
		res.PageViews += in.PageViews
		res.Late += in.Late
		res.BytesRead += in.BytesRead
		res.BytesWritten += in.BytesWritten
		for k, n := range in.Errors {
			res.Errors[k] += n
		}
		for k, n := range in.Status {
			res.Status[k] += n
		}
		res.Latency.Hist.Merge(in.Latency.Hist)
		for _, s := range in.Timeline {
			for len(res.Timeline) <= s.T {
				res.Timeline = append(res.Timeline, Second{T: len(res.Timeline), Hist: NewTimelineHist()})
			}
			d := &res.Timeline[s.T]
			d.Requests += s.Requests
			d.PageViews += s.PageViews
			d.Errors += s.Errors
			d.Hist.Merge(s.Hist)
		}
		res.CPU.ClientUserS += in.CPU.ClientUserS
		res.CPU.ClientSysS += in.CPU.ClientSysS
		limit += in.CPU.ClientCoreLimit
		for _, w := range in.CPU.Watched {
			if old, ok := watched[w.PID]; !ok || w.UserS+w.SysS > old.UserS+old.SysS {
				watched[w.PID] = w
			}
		}
		// Merged records ran side by side: the machine's account is one,
		// read over the longest of their intervals.
		if m := in.CPU.Machine; m != nil && (res.CPU.Machine == nil || m.TotalS > res.CPU.Machine.TotalS) {
			mm := *m
			res.CPU.Machine = &mm
		}
	}
	res.CPU.ClientCoreLimit = limit
	if res.Seconds > 0 {
		res.CPU.ClientCores = (res.CPU.ClientUserS + res.CPU.ClientSysS) / res.Seconds
	}
	for _, w := range watched {
		res.CPU.Watched = append(res.CPU.Watched, w)
	}
	sort.Slice(res.CPU.Watched, func(i, j int) bool { return res.CPU.Watched[i].PID < res.CPU.Watched[j].PID })
	res.Summarize()
	for _, r := range recs {
		out.Notes = append(out.Notes, r.Notes...)
	}
	if w := overlapWarning(recs); w != "" {
		out.Notes = append(out.Notes, w)
	}
	return out, nil
}

// overlapWarning says when the runs of recs were not under way at the same
// time: their requests then add up to a rate no server ever saw. Runs
// overlap enough when the time all of them were running covers at least
// half of the shortest run.
func overlapWarning(recs []*Record) string {
	if len(recs) < 2 {
		return ""
	}
	var from, to time.Time
	shortest := math.Inf(1)
	for i, r := range recs {
		if r.Started.IsZero() || r.Results.Seconds <= 0 {
			return "" // a record without its times: nothing to check
		}
		end := r.Started.Add(time.Duration(r.Results.Seconds * float64(time.Second)))
		if i == 0 || r.Started.After(from) {
			from = r.Started
		}
		if i == 0 || end.Before(to) {
			to = end
		}
		shortest = math.Min(shortest, r.Results.Seconds)
	}
	common := to.Sub(from).Seconds()
	if common >= shortest/2 {
		return ""
	}
	if common <= 0 {
		return fmt.Sprintf("the %d records were not taken at the same time (no moment when all ran): their requests add up to a rate the server never saw at once", len(recs))
	}
	return fmt.Sprintf("the %d records ran together for only %.1f s of the shortest one's %.1f s: the merged rate overstates what the server saw at once", len(recs), common, shortest)
}

package record

import (
	"fmt"
	"strconv"
	"time"

	"github.com/scalelab/scalelab/stages"
)

// RunOfLoad makes a run's record (run.json) of one stage from one load
// record that scalelab bench did not drive: the merged record of load
// generators on a Kubernetes cluster (deploy/k8s) or on several hosts. A
// cluster run then ends in a run folder like a local one, which plot draws
// into the same charts and report.
//
// Only what the load itself recorded is known: the stage was started and
// verified by nobody the record knows of (Verification is "skipped"), the
// servers' CPU is not in it (no "where the CPU went"), the machine is the
// first generator's, and the run is one measurement (one repeat). key names
// the stage as records do: "3", or "4-noindex" for the variant.
func RunOfLoad(key string, rec *Record) (*Run, error) {
	st, noIndex, err := StageOfKey(key)
	if err != nil {
		return nil, err
	}
	key = stages.Key(st.ID, noIndex)
	in := &rec.Results
	name := st.Name
	if noIndex {
		name += ", no index"
	}
	res := Result{
		Stage: st.ID, NoIndex: noIndex, Name: name, Tool: "scalelab load",
		Connections: rec.Settings.Connections, Rate: rec.Settings.Rate,
		DurationS: rec.Settings.DurationS,
		Requests:  in.Requests, Errors: in.ErrorsTotal,
		RPS: in.RequestsPerS, RPSRuns: []float64{in.RequestsPerS}, PageViews: in.PageViewsPerS,
		P50Ms: in.Latency.P50Ms, P90Ms: in.Latency.P90Ms, P99Ms: in.Latency.P99Ms, P999Ms: in.Latency.P999Ms, MaxMs: in.Latency.MaxMs,
		ClientCPUS:   in.CPU.ClientUserS + in.CPU.ClientSysS,
		Stalls:       StallsOf([]*Record{rec}),
		Verification: "skipped",
		TalkRPS:      stages.TalkFor(key, ""),
		Records:      []*Record{rec},
	}
	if res.DurationS == 0 {
		res.DurationS = in.Seconds
	}
	for _, w := range in.CPU.Watched {
		res.ServerCPUS += w.UserS + w.SysS
	}
	users, _ := strconv.Atoi(rec.Settings.Params["users"])
	seed, _ := strconv.ParseUint(rec.Settings.Params["seed"], 10, 64)
	return &Run{
		Version:  RunVersion,
		Started:  rec.Started,
		Finished: rec.Started.Add(time.Duration(in.Seconds * float64(time.Second))),
		Complete: !in.Interrupted,
		Machine:  Machine{Hostname: rec.Env.Hostname, Cores: rec.Env.CPUs, Go: rec.Env.GoVersion},
		Settings: RunSettings{
			Stages: []string{key}, Users: users, Seed: seed,
			Connections: rec.Settings.Connections, Rate: rec.Settings.Rate,
			DurationS: res.DurationS, Repeat: 1, Workload: rec.Settings.Workload,
		},
		Results: []Result{res},
	}, nil
}

// StageOfKey looks up a stage as a user names it in a result's key: its id
// or alias, with the no-index suffix for the variant ("4-noindex").
func StageOfKey(key string) (st stages.Stage, noIndex bool, err error) {
	id, noIndex := stages.ParseKey(key)
	st, ok := stages.Find(id)
	if !ok {
		return st, false, fmt.Errorf("no stage %q: use %s", key, stages.Choices())
	}
	if noIndex && st.ID != stages.NoIndex.Stage {
		return st, false, fmt.Errorf("stage %s has no variant without its index (%s has)", st.ID, stages.Key(stages.NoIndex.Stage, true))
	}
	return st, noIndex, nil
}

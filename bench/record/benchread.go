package record

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/scalelab/scalelab/stages"
)

// ReadBenchFmt reads a bench.txt written by BenchFmt back into a run, so
// that a baseline kept as bench.txt alone (a CI cache, a file in a pull
// request) compares with a run: each result gets its repeats' req/s,
// their median, the medians of the repeats' p50 and p99, the requests and
// the machine (cpu, cores) and commit of the file. Histograms, CPU
// accounts and the rest of run.json are not in bench.txt, so the run
// holds none of them.
func ReadBenchFmt(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	run := &Run{Version: RunVersion, Complete: true}
	if line, _, _ := bytes.Cut(b, []byte("\n")); bytes.HasPrefix(line, []byte("# scalelab run")) {
		if _, c, ok := strings.Cut(string(line), ", commit "); ok {
			run.Commit, _, _ = strings.Cut(c, ":")
		}
	}
	type acc struct {
		x          Result
		p50s, p99s []float64
	}
	var order []string
	byName := map[string]*acc{}
	rd := benchfmt.NewReader(bufio.NewReader(bytes.NewReader(b)), path)
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			if se, bad := rd.Result().(*benchfmt.SyntaxError); bad {
				return nil, fmt.Errorf("read %s: %v", path, se)
			}
			continue
		}
		run.Machine.CPUModel = res.GetConfig("cpu")
		run.Machine.Cores, _ = strconv.Atoi(res.GetConfig("cores"))
		name := res.Name.String()
		a := byName[name]
		if a == nil {
			x, err := resultOfBenchName(res.Name)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
			a = &acc{x: x}
			byName[name] = a
			order = append(order, name)
		}
		if v, ok := res.Value(UnitRPS); ok {
			a.x.RPSRuns = append(a.x.RPSRuns, v)
			a.x.Requests += int64(res.Iters)
		}
		if v, ok := res.Value(UnitP50); ok {
			a.p50s = append(a.p50s, v*1000)
		}
		if v, ok := res.Value(UnitP99); ok {
			a.p99s = append(a.p99s, v*1000)
		}
	}
	if err := rd.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("read %s: no benchmark line: give a bench.txt written by scalelab lab or bench (or a run folder)", path)
	}
	for _, name := range order {
		a := byName[name]
		a.x.RPS, a.x.P50Ms, a.x.P99Ms = medianFloat(a.x.RPSRuns), medianFloat(a.p50s), medianFloat(a.p99s)
		run.Results = append(run.Results, a.x)
	}
	return run, nil
}

// resultOfBenchName is the result a benchmark name of BenchName stands
// for, without its figures.
func resultOfBenchName(n benchfmt.Name) (Result, error) {
	base, parts := n.Parts()
	var x Result
	var key string
	for _, p := range parts {
		k, v, ok := strings.Cut(strings.TrimLeft(string(p), "/"), "=")
		if !ok {
			continue
		}
		switch k {
		case "stage":
			key = v
		case "page":
			x.Page = v
		case "tool":
			x.Tool = v
		case "conns":
			x.Connections, _ = strconv.Atoi(v)
			x.Sweep = true
		case "appcpu":
			// The app modelled: its start-up cost is not in the name.
			if ms, err := strconv.ParseFloat(strings.TrimSuffix(v, "ms"), 64); err == nil {
				x.AppCost = &AppCost{PerRequestMs: ms}
			}
		}
	}
	id, noIndex := stages.ParseKey(key)
	st, ok := stages.Find(id)
	if string(base) != "Stage" || !ok || x.Tool == "" {
		return x, fmt.Errorf("benchmark %q is not one of scalelab's (BenchmarkStage/stage=K/tool=T): a bench.txt of an older scalelab is rewritten by scalelab plot RUN", n.String())
	}
	x.Stage, x.NoIndex, x.Name = st.ID, noIndex, st.Name
	if noIndex {
		x.Name += ", no index"
	}
	if x.Tool == "scalelab" {
		x.Tool = "scalelab load"
	}
	return x, nil
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

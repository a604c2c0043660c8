package report

import (
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// referenceRun is the README's reference run: Go's app, 2 cores, where
// stage 3 gains less than the talk's step.
func referenceRun(t *testing.T) *record.Run {
	t.Helper()
	run, err := Load("../../results/20261128T184105Z-vm")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func explanationOf(run *record.Run, key string) string {
	for _, e := range Explanations(run) {
		if e.Stage == key {
			return e.Text
		}
	}
	return ""
}

func result(t *testing.T, run *record.Run, key string) *record.Result {
	t.Helper()
	for _, x := range stageResults(run, BuiltinTool) {
		if x.Key() == key {
			return x
		}
	}
	t.Fatalf("no result for stage %s", key)
	return nil
}

// The explanation is built from the record: change the record and the
// words follow — the cores, the idle share, each component's CPU per
// request, the app's model — and a step as good as the talk's needs none.
func TestExplanationsFollowTheRecord(t *testing.T) {
	run := referenceRun(t)
	three, two := result(t, run, "3"), result(t, run, "2")
	text := explanationOf(run, "3")
	if text == "" || !strings.Contains(text, "make lab-talk") || !strings.Contains(text, "--crossover") {
		t.Fatalf("stage 3 gains less than the talk's step and is not explained: %q", text)
	}

	// Doctored: another machine, another idle share, other costs.
	run.Machine.Cores = 7
	w := three.Where
	w.CPUUsPerRequest = map[string]float64{record.CPUApp: 12345, record.CPUNginx: 678, record.CPUPostgres: 91, record.CPUClient: 23}
	w.MachineS, w.CPUS[record.CPUIdle] = 100, 37
	text = explanationOf(run, "3")
	// 13,137 = 0.63·7·(two's app + c) + … : the break-even follows too.
	if be, ok := breakEven(run); !ok || be.Cores != 7 || be.TotalUs != 13137 {
		t.Errorf("the break-even's inputs: %+v", be)
	} else if be.CostMs > 0 && !strings.Contains(text, "starts to win from an app cost of about") {
		t.Errorf("a break-even above Go's cost is not said:\n%s", text)
	}
	for _, want := range []string{"7 cores", "37% idle", "13,137 µs of CPU in all", "the app's own work was 12,345 µs", "serve at most 533 req/s", "nginx 678 µs", "PostgreSQL 91 µs", "load generator 23 µs", "app servers 12,345 µs, nginx"} {
		if !strings.Contains(text, want) {
			t.Errorf("doctored record: the explanation lacks %q:\n%s", want, text)
		}
	}

	// The app modelled: the explanation says the model's cost, and the
	// run's req/s stand beside the talk's.
	run.Settings.AppCost = &record.AppCost{PerRequestMs: 4.5, StartMs: 11}
	text = explanationOf(run, "3")
	if !strings.Contains(text, "modelled at 4.5 ms") || strings.Contains(text, "The app here is Go") {
		t.Errorf("with the model: %s", text)
	}
	beside := Explanations(run)[0]
	if beside.Stage != "" || !strings.Contains(beside.Text, "4.5 ms CPU a request + 11 ms at start") ||
		!strings.Contains(beside.Text, "stage 2 app server "+fmtRPS(two.RPS)+" req/s (the talk: 139") {
		t.Errorf("the run beside the talk: %q", beside.Text)
	}

	// Stage 3 doubles stage 2: more than the talk's step, nothing to explain.
	three.RPS = 2 * two.RPS
	if text := explanationOf(run, "3"); text != "" {
		t.Errorf("a step better than the talk's is explained: %s", text)
	}
	// Losing to the stage before is always explained.
	three.RPS = two.RPS / 2
	if text := explanationOf(run, "3"); !strings.Contains(text, "0.50×") {
		t.Errorf("a loss is not explained, or not by its own ratio: %q", text)
	}
}

// The step from CGI is explained by the cores each stage could use.
func TestExplanationOfTheStepFromCGI(t *testing.T) {
	run := referenceRun(t)
	one, two := result(t, run, "1"), result(t, run, "2")
	two.RPS = 3 * one.RPS // below the talk's step
	one.Where.MachineS, one.Where.CPUS[record.CPUIdle] = 40, 10
	two.Where.MachineS, two.Where.CPUS[record.CPUIdle] = 40, 20
	run.Machine.Cores = 4
	text := explanationOf(run, "2")
	for _, want := range []string{"3.00×", "kept 3.0 of this machine's 4 cores busy", "kept 2.0 busy", "GOMAXPROCS=1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the step from CGI: lacks %q:\n%s", want, text)
		}
	}
}

// The stage without its index collapses by design: its verdict says so,
// not an explanation of a step.
func TestNoExplanationForTheNoIndexCollapse(t *testing.T) {
	run := referenceRun(t)
	for _, e := range Explanations(run) {
		if strings.Contains(e.Stage, "noindex") {
			t.Errorf("the no-index stage is explained as a step: %s", e.Text)
		}
	}
}

// Any other step that falls short is told by its machine and its costs;
// one within a tenth of the talk's is the talk's.
func TestExplanationOfOtherSteps(t *testing.T) {
	run := referenceRun(t)
	three, four := result(t, run, "3"), result(t, run, "4")
	talk := talkRPS(four) / talkRPS(three)
	four.RPS = 0.95 * talk * three.RPS
	if text := explanationOf(run, "4"); text != "" {
		t.Errorf("a step within a tenth of the talk's is explained: %s", text)
	}
	four.RPS = 0.5 * talk * three.RPS
	four.Where.CPUUsPerRequest = map[string]float64{record.CPUNginx: 321, record.CPUMemcached: 54}
	text := explanationOf(run, "4")
	for _, want := range []string{"a request cost 375 µs of CPU: nginx 321 µs, memcached 54 µs", "The app here is Go"} {
		if !strings.Contains(text, want) {
			t.Errorf("stage 4 short of the talk: lacks %q:\n%s", want, text)
		}
	}
}

// A stage measured after CGI with no app server between them (it failed)
// is not told as one process held to one core.
func TestExplanationSkipsAFailedStage(t *testing.T) {
	run := referenceRun(t)
	var keep []record.Result
	for _, x := range run.Results {
		if x.Key() != "2" && x.Key() != "1f" {
			keep = append(keep, x)
		}
	}
	run.Results = keep
	one, three := result(t, run, "1"), result(t, run, "3")
	three.RPS = 2 * one.RPS
	text := explanationOf(run, "3")
	if text == "" || strings.Contains(text, "GOMAXPROCS=1") {
		t.Errorf("stage 3 after stage 1: %q", text)
	}
}

// A pinned run (--client-cpus) is explained by the servers' cores alone:
// the ceiling leaves the load generator's CPU out, and the machine's idle
// share, half of it the load generator's core, is not said.
func TestExplanationOfAPinnedRun(t *testing.T) {
	run := referenceRun(t)
	run.Settings.ClientCPUs, run.Settings.ServerCPUs = "0", "1"
	three := result(t, run, "3")
	w := three.Where
	w.CPUUsPerRequest = map[string]float64{record.CPUApp: 150, record.CPUNginx: 30, record.CPUPostgres: 20, record.CPUClient: 40}
	text := explanationOf(run, "3")
	// 1 core / 200 µs of the servers' CPU: 5,000 req/s.
	for _, want := range []string{"the 1 core the servers were pinned to", "serve at most 5,000 req/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("pinned: the explanation lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "idle") || strings.Contains(text, "this machine's") {
		t.Errorf("pinned: the explanation speaks of the whole machine:\n%s", text)
	}
}

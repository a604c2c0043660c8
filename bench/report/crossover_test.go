package report

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// crossoverRun doctors the reference run into a crossover: stages 2, 3
// and 4 at app costs where stage 2, one core, serves 10⁶/(a + c) and
// stage 3, two busy cores, 2·10⁶/(t + c).
func crossoverRun(t *testing.T) *record.Run {
	t.Helper()
	run := referenceRun(t)
	run.Machine.Cores = 2
	costs := []float64{0, 0.1, 0.25, 0.5, 1, 2, 4, 8}
	run.Settings.Crossover = costs
	var keep []record.Result
	for _, x := range run.Results {
		if x.Key() == "2" || x.Key() == "3" || x.Key() == "4" {
			keep = append(keep, x)
		}
	}
	main := map[string]record.Result{}
	for _, x := range keep {
		main[x.Key()] = x
	}
	// The model's inputs, doctored: stage 2's app 150 µs a request; stage
	// 3's components 400 µs in all, the machine 90% busy.
	two, three := main["2"], main["3"]
	two.Where = &record.Where{CPUS: map[string]float64{record.CPUIdle: 10}, MachineS: 20,
		CPUUsPerRequest: map[string]float64{record.CPUServe: 150, record.CPUPostgres: 40}}
	three.Where = &record.Where{CPUS: map[string]float64{record.CPUIdle: 2}, MachineS: 20,
		CPUUsPerRequest: map[string]float64{record.CPUApp: 200, record.CPUNginx: 100, record.CPUPostgres: 60, record.CPUClient: 40}}
	run.Results = nil
	for _, c := range costs {
		for _, x := range []record.Result{two, three, main["4"]} {
			x.RPS = map[string]float64{"2": 1e6 / (150 + 1000*c), "3": 1.8e6 / (400 + 1000*c), "4": 20000}[x.Key()]
			if c > 0 {
				x.Crossover, x.AppCost = true, &record.AppCost{PerRequestMs: c}
			}
			run.Results = append(run.Results, x)
		}
	}
	return run
}

func TestCrossover(t *testing.T) {
	run := crossoverRun(t)
	series := crossoverSeries(run)
	if len(series) != 3 {
		t.Fatalf("%d series, want stages 2, 3 and 4", len(series))
	}
	for _, s := range series {
		if len(s.pts) < 6 {
			t.Errorf("stage %s: %d app-cost points, want at least 6", s.key, len(s.pts))
		}
	}
	gs := gains(series)
	for i := 1; i < len(gs); i++ {
		if gs[i].rps <= gs[i-1].rps {
			t.Errorf("stage 3's gain does not rise with the app's cost: %v", gs)
		}
	}
	// 1.8·(150 + c) = 400 + c ⇒ c = 130 / 0.8 = 162.5 µs.
	be, ok := breakEven(run)
	if !ok || be.Never || math.Abs(be.CostMs-0.1625) > 1e-9 {
		t.Fatalf("break-even %+v, %v; want 0.1625 ms", be, ok)
	}
	text := breakEvenText(run)
	for _, want := range []string{"about 0.16 ms", "150 µs", "400 µs", "90%", "2 cores", "tends to 1.80×"} {
		if !strings.Contains(text, want) {
			t.Errorf("the break-even's words lack %q:\n%s", want, text)
		}
	}
	md := string(Markdown(run, Charts(run)))
	if !strings.Contains(md, "![The crossover") || !strings.Contains(md, "When does a load balancer pay?") {
		t.Errorf("report.md lacks the crossover or its break-even:\n%s", md)
	}
	// The table keeps the main results, one per stage.
	if rs := rows(run); len(rs) != 3 {
		t.Errorf("the table has %d rows, want the 3 stages' main results", len(rs))
	}
	for _, c := range Charts(run) {
		if c.Name != "crossover" {
			continue
		}
		b, err := c.PNG()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("no crossover chart")
}

// Too few busy cores: no app cost makes the balancer pay, and it says so.
func TestCrossoverNever(t *testing.T) {
	run := crossoverRun(t)
	for i := range run.Results {
		if x := &run.Results[i]; x.Key() == "3" && x.Where != nil {
			x.Where = &record.Where{CPUS: map[string]float64{record.CPUIdle: 12}, MachineS: 20, CPUUsPerRequest: x.Where.CPUUsPerRequest}
		}
	}
	if be, ok := breakEven(run); !ok || !be.Never {
		t.Fatalf("with 40%% of two cores busy: %+v, %v", be, ok)
	}
	if text := breakEvenText(run); !strings.Contains(text, "Not on this machine") {
		t.Errorf("%s", text)
	}
}

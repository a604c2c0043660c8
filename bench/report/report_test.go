package report_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"flag"
	"html"
	"image"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/driver"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture is a real "scalelab lab --quick" run (2,000 users, 3 repeats of
// 3 s per stage, on a 2-core VM), its per-second histograms dropped.
const fixture = "testdata/run.json"

func mustLoad(tb testing.TB) *record.Run {
	tb.Helper()
	run, err := report.Load(fixture)
	if err != nil {
		tb.Fatal(err)
	}
	return run
}

func TestChartsAreValidImagesOfSlideSize(t *testing.T) {
	run := mustLoad(t)
	charts := report.Charts(run)
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
	}
	if got, want := strings.Join(names, ","), "throughput,magnitudes,latency,timeline"; got != want {
		t.Fatalf("charts %s, want %s", got, want)
	}
	for _, c := range charts {
		png, err := c.PNG()
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(png))
		if err != nil {
			t.Fatalf("%s.png: %v", c.Name, err)
		}
		if format != "png" || cfg.Width != 1600 || cfg.Height != 900 {
			t.Errorf("%s.png: %s %dx%d, want png 1600x900", c.Name, format, cfg.Width, cfg.Height)
		}
		svg, err := c.SVG()
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		w, h := svgSize(t, c.Name, svg)
		if w != "720pt" || h != "405pt" {
			t.Errorf("%s.svg: %s x %s, want 720pt x 405pt", c.Name, w, h)
		}
	}
}

// svgSize parses a whole SVG document and returns its root's size.
func svgSize(t *testing.T, name string, b []byte) (w, h string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var root struct {
		XMLName xml.Name
		Width   string `xml:"width,attr"`
		Height  string `xml:"height,attr"`
	}
	if err := d.Decode(&root); err != nil {
		t.Fatalf("%s.svg: not valid XML: %v", name, err)
	}
	if root.XMLName.Local != "svg" {
		t.Fatalf("%s.svg: root element %q", name, root.XMLName.Local)
	}
	return root.Width, root.Height
}

// TestThroughputSVGGolden pins the text of one chart: any change to how
// charts are drawn shows in review as a diff of testdata/throughput.svg.
// Refresh it with: go test ./bench/report -run Golden -update
func TestThroughputSVGGolden(t *testing.T) {
	run := mustLoad(t)
	var svg []byte
	for _, c := range report.Charts(run) {
		if c.Name == "throughput" {
			var err error
			if svg, err = c.SVG(); err != nil {
				t.Fatal(err)
			}
		}
	}
	golden := filepath.Join("testdata", "throughput.svg")
	if *update {
		if err := os.WriteFile(golden, svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(svg, want) {
		t.Errorf("throughput.svg differs from %s (%d bytes, want %d): run with -update if the change is meant", golden, len(svg), len(want))
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	a, b := writeFixture(t), writeFixture(t)
	for _, name := range []string{"throughput.png", "latency.svg", "timeline.png", "report.html", "report.md"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: two drawings of one record differ (or are empty)", name)
		}
	}
}

// writeFixture writes the fixture's report into a new folder.
func writeFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := report.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	// 4 charts x 2 formats, report.html, report.md, and the exports:
	// summary.csv, bench.txt and an .hgrm per result (the fixture's 8).
	if len(files) != 20 {
		t.Errorf("wrote %d files, want 20 (4 charts x 2 formats, report.html, report.md, summary.csv, bench.txt, 8 .hgrm): %v", len(files), files)
	}
	return dir
}

var imgSrc = regexp.MustCompile(`<img [^>]*src="([^"]*)"`)

func TestReportTellsEveryStageBesideTheTalk(t *testing.T) {
	dir := writeFixture(t)
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// every stage of the run
		"Stage 0 — the baselines", "Stage 1 — CGI", "Stage 2 — app server", "Stage 3 — load-balanced",
		"Stage 4 — cached", "Stage 4 without its index",
		// this run's numbers and pages a day (23,088 req/s x 86,400)
		"23,088", "2.0 billion",
		// the machine
		"Intel(R) Xeon(R) Processor", "2026-11-28 16:11",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// The talk's figures, in both reports' table cells.
	for _, talk := range []string{"23", "139", "217", "616", "1,750", "28"} {
		cell := "<td>" + talk + "</td>"
		if talk == "1,750" || talk == "616" {
			cell = talk
		}
		if !strings.Contains(string(page), cell) {
			t.Errorf("report.html lacks the talk's %s (%q)", talk, cell)
		}
		if !strings.Contains(string(md), talk) {
			t.Errorf("report.md lacks the talk's %s", talk)
		}
	}
	// Every image is embedded and decodes: nothing to break when the
	// file is mailed on its own.
	srcs := imgSrc.FindAllStringSubmatch(string(page), -1)
	if len(srcs) != 4 {
		t.Errorf("report.html has %d images, want 4", len(srcs))
	}
	for _, m := range srcs {
		// The attribute is HTML-escaped ("+" is "&#43;"), as a browser reads it.
		data, ok := strings.CutPrefix(html.UnescapeString(m[1]), "data:image/png;base64,")
		if !ok {
			t.Errorf("image %.40q is not an embedded PNG", m[1])
			continue
		}
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Errorf("image: %v", err)
			continue
		}
		if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil {
			t.Errorf("image: %v", err)
		}
	}
	// report.md links the PNG files beside it.
	links := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`).FindAllStringSubmatch(string(md), -1)
	if len(links) != 4 {
		t.Errorf("report.md has %d images, want 4", len(links))
	}
	for _, m := range links {
		if _, err := os.Stat(filepath.Join(dir, m[1])); err != nil {
			t.Errorf("report.md: broken image %s: %v", m[1], err)
		}
	}
}

func TestReportWarns(t *testing.T) {
	run := mustLoad(t)
	run.Complete = false
	run.Results[3].Errors = 7 // stage 1
	run.Results[4].Verification = "GET /user/3: 500, want 200"
	sat := *run.Results[5].Records[0]
	sat.Results.CPU.ClientCores, sat.Results.CPU.ClientCoreLimit = 1, 1
	run.Results[5].Records[0] = &sat
	dir := t.TempDir()
	if _, err := report.WriteRun(run, dir); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{
		"the run is incomplete",
		"stage 1 CGI: 7 errors",
		"verification failed, so the stage was not measured: GET /user/3: 500, want 200",
		"this is a ceiling of the tool, not of the server",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks the warning %q", want)
		}
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks the warning %q", want)
		}
	}
}

func TestBadInputNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt")
	os.Mkdir(corrupt, 0o755)
	os.WriteFile(filepath.Join(corrupt, "run.json"), []byte(`{"version": 1, "results": [`), 0o644)
	future := filepath.Join(dir, "future")
	os.Mkdir(future, 0o755)
	os.WriteFile(filepath.Join(future, "run.json"), []byte(`{"version": 99}`), 0o644)
	for _, tc := range []struct {
		path, want string
	}{
		// a folder with no run.json
		{dir, filepath.Join(dir, "run.json") + ": no such file"},
		// no such folder
		{filepath.Join(dir, "nope"), filepath.Join(dir, "nope") + ": no such file"},
		// truncated JSON
		{corrupt, filepath.Join(corrupt, "run.json")},
		// another version of the record
		{future, "record version 99"},
	} {
		_, err := report.Write(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Write(%s) = %v, want an error with %q", tc.path, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Write(%s): error is not one line: %q", tc.path, err)
		}
	}
}

func TestMergeFiles(t *testing.T) {
	run := mustLoad(t)
	dir := t.TempDir()
	var paths []string
	var want int64
	for i, rec := range run.Results[4].Records {
		p := filepath.Join(dir, "client"+string(rune('a'+i))+".json")
		if err := rec.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		want += rec.Results.Requests
	}
	m, err := report.MergeFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Results.Requests; got != want {
		t.Errorf("merged requests = %d, want %d", got, want)
	}
	if m.Results.Latency.P99Ms <= 0 {
		t.Errorf("merged p99 = %g, want the merged histogram's", m.Results.Latency.P99Ms)
	}
	// A run.json is not a load-generator record.
	if _, err := report.MergeFiles(paths[0], fixture); err == nil || !strings.Contains(err.Error(), fixture) {
		t.Errorf("MergeFiles(record, run.json) = %v, want an error naming %s", err, fixture)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if _, err := report.MergeFiles(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("MergeFiles(corrupt) = %v, want an error naming %s", err, bad)
	}
}

// runWith is a run of one stage measured with the given repeats.
func runWith(rps ...float64) *record.Run {
	med := rps[len(rps)/2]
	return &record.Run{Version: record.RunVersion, Results: []record.Result{{Stage: "2", Name: "app server", Tool: report.BuiltinTool, RPS: med, RPSRuns: rps}}}
}

func TestCompareJudgesNoise(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   *record.Run
		beyond bool
		method string
	}{
		// 5 and 5 repeats apart: the test can and does reject.
		{"five apart", runWith(100, 101, 102, 103, 104), runWith(110, 111, 112, 113, 114), true, "Mann-Whitney U, p=0.008"},
		// 5 and 5 interleaved: no difference.
		{"five mixed", runWith(100, 102, 104, 106, 108), runWith(101, 103, 105, 107, 109), false, "Mann-Whitney U, p=0.690"},
		// 3 and 3 can never reach p < 0.05: the ranges decide, and say so.
		{"three apart", runWith(100, 101, 102), runWith(110, 111, 112), true, "ranges apart (3 vs 3 repeats)"},
		{"three overlap", runWith(100, 105, 110), runWith(108, 112, 115), false, "ranges overlap (3 vs 3 repeats)"},
		// one repeat: nothing can be said.
		{"one", runWith(100), runWith(200), false, "one repeat: no noise estimate"},
	} {
		cs := report.Compare(tc.a, tc.b)
		if len(cs) != 1 {
			t.Fatalf("%s: %d comparisons, want 1", tc.name, len(cs))
		}
		c := cs[0]
		if c.Beyond != tc.beyond || c.Method != tc.method {
			t.Errorf("%s: beyond=%v (%s), want %v (%s)", tc.name, c.Beyond, c.Method, tc.beyond, tc.method)
		}
		if c.Unknown != (tc.name == "one") {
			t.Errorf("%s: unknown=%v: only a single repeat leaves the noise unknown", tc.name, c.Unknown)
		}
	}
}

// One repeat says it cannot tell, never "within noise"; a fault run, a
// different machine and different settings are said under the table.
func TestCompareSaysWhatItCannotTell(t *testing.T) {
	a, b := runWith(100), runWith(200)
	a.Machine = record.Machine{Hostname: "vm", CPUModel: "Xeon", Cores: 2, MemoryMB: 24 << 10}
	b.Machine = record.Machine{Hostname: "laptop", CPUModel: "Ryzen", Cores: 8, MemoryMB: 32 << 10}
	b.Results[0].Fault = &record.FaultReport{Kind: "kill-instance", AtS: 10}
	a.Settings.DurationS, b.Settings.DurationS = 10, 10
	b.Settings.Connections = 64
	var out bytes.Buffer
	if err := report.WriteComparison(&out, "a", "b", report.Compare(a, b)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "within noise") || !strings.Contains(out.String(), "cannot tell") {
		t.Errorf("one repeat each:\n%s", out.String())
	}
	notes := strings.Join(report.CompareNotes(a, b, "a", "b"), "\n")
	for _, want := range []string{"B (b) is a fault run (kill-instance on stage 2 at 10 s)", "different machines (A: vm, Xeon, 2 cores, 24 GB; B: laptop, Ryzen, 8 cores, 32 GB)", "different settings"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if n := report.CompareNotes(a, a, "a", "a"); len(n) != 0 {
		t.Errorf("a run against itself: notes %q, want none", n)
	}
}

// The gate fails on a stage slower by more than its share beyond the
// noise, or, with one repeat, by the ratio alone; never on noise or on a
// smaller drop.
func TestRegressions(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b *record.Run
		want int
	}{
		{"10% slower, five apart", runWith(100, 101, 102, 103, 104), runWith(90, 91, 92, 93, 94), 1},
		{"3% slower, five apart", runWith(100, 101, 102, 103, 104), runWith(97, 98, 99, 100, 101), 0},
		{"faster", runWith(100, 101, 102, 103, 104), runWith(110, 111, 112, 113, 114), 0},
		{"10% slower within noise", runWith(80, 120, 100, 90, 110), runWith(70, 110, 90, 80, 100), 0},
		{"one repeat, 10% slower", runWith(100), runWith(90), 1},
		{"one repeat, 4% slower", runWith(100), runWith(96), 0},
	} {
		if got := report.Regressions(report.Compare(tc.a, tc.b), 0.05); len(got) != tc.want {
			t.Errorf("%s: %d regressions, want %d", tc.name, len(got), tc.want)
		}
	}
}

func TestCompareRunWithItself(t *testing.T) {
	run := mustLoad(t)
	cs := report.Compare(run, run)
	if len(cs) != len(run.Results) {
		t.Fatalf("%d comparisons, want %d", len(cs), len(run.Results))
	}
	var out bytes.Buffer
	if err := report.WriteComparison(&out, "a", "b", cs); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Ratio != 1 || c.Beyond {
			t.Errorf("%s: ratio %g beyond %v, want 1 and within noise", c.Label, c.Ratio, c.Beyond)
		}
	}
	if !strings.Contains(out.String(), "stage 4 cached") || !strings.Contains(out.String(), "~ within noise") {
		t.Errorf("table:\n%s", out.String())
	}
	png, err := report.CompareChart(run, run, "a", "b", cs).PNG()
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(png)); err != nil || cfg.Width != 1600 {
		t.Errorf("compare.png: %v %+v", err, cfg)
	}
}

// The fixture is a record of the first version: it must stay readable,
// upgraded as it is read.
func TestFixtureIsARunRecord(t *testing.T) {
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version int }
	if err := json.Unmarshal(b, &v); err != nil || v.Version < 1 || v.Version > record.RunVersion {
		t.Fatalf("fixture version %d (%v), want 1 to %d", v.Version, err, record.RunVersion)
	}
	run, err := record.ReadRun(fixture)
	if err != nil || run.Version != record.RunVersion {
		t.Fatalf("ReadRun: version %v, %v", run, err)
	}
}

// withSweep adds to the fixture the points of a concurrency sweep of
// stages 1 and 4, as scalelab bench --sweep 1,4,16,64 records them.
func withSweep(run *record.Run) *record.Run {
	for _, st := range []int{3, 6} { // stage 1, stage 4
		main := run.Results[st]
		for _, c := range []int{1, 4, 16, 64} {
			p := main
			p.Sweep, p.Connections = true, c
			p.RPS = main.RPS * math.Min(float64(c)/32, 1.1)
			p.RPSRuns = []float64{p.RPS * 0.98, p.RPS, p.RPS * 1.02}
			run.Results = append(run.Results, p)
		}
	}
	return run
}

func TestSweepIsDrawnAndKeptOutOfTheTables(t *testing.T) {
	run := withSweep(mustLoad(t))
	var names []string
	for _, c := range report.Charts(run) {
		names = append(names, c.Name)
		if c.Name == "concurrency" {
			png, err := c.PNG()
			if err != nil {
				t.Fatal(err)
			}
			if cfg, _, err := image.DecodeConfig(bytes.NewReader(png)); err != nil || cfg.Width != 1600 || cfg.Height != 900 {
				t.Errorf("concurrency.png: %v %+v", err, cfg)
			}
			if os.Getenv("REPORT_KEEP") != "" {
				os.WriteFile(filepath.Join(os.Getenv("REPORT_KEEP"), "concurrency.png"), png, 0o644)
			}
		}
	}
	if got, want := strings.Join(names, ","), "throughput,magnitudes,latency,concurrency,timeline"; got != want {
		t.Errorf("charts %s, want %s", got, want)
	}
	md := string(report.Markdown(run, report.Charts(run)))
	// The main results stay the table's rows: one per stage, the same
	// speed-ups as without the sweep.
	if n := strings.Count(md, "| stage 4 cached |"); n != 1 {
		t.Errorf("report.md has %d rows for stage 4, want 1:\n%s", n, md)
	}
	if !strings.Contains(md, "| 200× |") && !strings.Contains(md, "| 200× (") {
		t.Errorf("report.md lost stage 4's speed-up over stage 1 (200×):\n%s", md)
	}
	cs := report.Compare(run, run)
	var labels []string
	for _, c := range cs {
		labels = append(labels, c.Label)
	}
	if !strings.Contains(strings.Join(labels, ";"), "stage 4 cached, 16 connections") {
		t.Errorf("comparison labels %q lack the sweep's points", labels)
	}
}

// A run interrupted before its first result, or whose stages all failed,
// still gets a report that says so, with no chart it cannot draw.
func TestReportOfARunWithNothingMeasured(t *testing.T) {
	for name, run := range map[string]*record.Run{
		"empty": {Version: record.RunVersion, Settings: record.RunSettings{Stages: []string{"1", "2"}}},
		"failed": {Version: record.RunVersion, Results: []record.Result{
			{Stage: "1", Name: "CGI", Tool: report.BuiltinTool, Verification: "GET /: 503", TalkRPS: 23},
			{Stage: "2", Name: "app server", Tool: report.BuiltinTool, Verification: "GET /: 503", TalkRPS: 139}}},
	} {
		dir := t.TempDir()
		if _, err := report.WriteRun(run, dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
		if !strings.Contains(string(page), "the run is incomplete") {
			t.Errorf("%s: report.html does not say the run is incomplete", name)
		}
		if name == "failed" && !strings.Contains(string(page), "verification failed") {
			t.Errorf("%s: report.html does not say verification failed", name)
		}
		if n := len(report.Charts(run)); n != 0 {
			t.Errorf("%s: %d charts of nothing measured, want none", name, n)
		}
	}
}

// A run with a fault and a write check: the fault chart is drawn, and
// both reports say what the fault did and what the check found.
func TestFaultReport(t *testing.T) {
	run := mustLoad(t)
	x := &run.Results[len(run.Results)-1]
	x.Fault = &driver.FaultReport{Kind: "memcached-down", AtS: 1, ForS: 1, BeforeRPS: 900, DipRPS: 300, Errors: 12,
		WorstP99Ms: 88, RecoveredS: 0, Events: []driver.FaultEvent{{T: 1.1, What: "memcached stopped"}, {T: 2.2, What: "memcached started again"}}}
	x.Writes = &driver.WriteCheck{Posted: 10, Acknowledged: 8, Refused: 2, Checked: 10, PagesRead: 7}
	var fault *report.Chart
	for _, c := range report.Charts(run) {
		if c.Name == "fault" {
			fault = &c
		}
	}
	if fault == nil {
		t.Fatal("no fault chart")
	}
	if _, err := fault.PNG(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := report.WriteRun(run, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"memcached-down at 1 s for 1 s", "12 errors", "memcached stopped", "10 comments posted: 8 acknowledged, 2 refused", "fault.png"} {
			if f == "report.html" && want == "fault.png" {
				want = `alt="The fault: the dip and the recovery"`
			}
			if !strings.Contains(string(b), want) {
				t.Errorf("%s does not say %q", f, want)
			}
		}
	}
}

// With CPU per request in the record, the report gains the capacity
// model: scaleout.png, the model beside the measurement with its error
// stated, and, with a sweep, the MVA beside every measured point.
func TestCapacityModelInTheReport(t *testing.T) {
	run := mustLoad(t)
	for _, st := range []int{3, 6} { // stage 1, stage 4
		run.Results[st].Where = &record.Where{CPUUsPerRequest: map[string]float64{"client": 10, "serve": 900, "postgres": 300, "nginx": 10, "app": 40, "memcached": 3}}
	}
	var names []string
	for _, c := range report.Charts(run) {
		names = append(names, c.Name)
	}
	if !slices.Contains(names, "scaleout") || slices.Contains(names, "concurrency") {
		t.Errorf("charts %v: want scaleout, and no concurrency without a sweep", names)
	}
	md := string(report.Markdown(run, report.Charts(run)))
	for _, want := range []string{"**The capacity model:**", "Its largest error against this run's measurements:", "| stage 4 cached | 32 |", "1 billion", "![Predicted throughput with more cores"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(md, "MVA against the measured sweep") {
		t.Errorf("report.md checks a sweep the run does not have")
	}
	run = withSweep(run)
	md = string(report.Markdown(run, report.Charts(run)))
	if !strings.Contains(md, "MVA against the measured sweep") || !strings.Contains(md, "| stage 1 CGI |") || !strings.Contains(md, "64 conns") {
		t.Errorf("report.md lacks the sweep's check:\n%s", md)
	}
	html, err := report.HTML(run, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "<h2>The capacity model</h2>") || !strings.Contains(string(html), "MVA against the measured sweep") {
		t.Errorf("report.html lacks the capacity model")
	}
}

// A run whose thresholds were breached says which among the report's
// warnings; one whose thresholds all passed adds none.
func TestReportSaysBreachedThresholds(t *testing.T) {
	run := runWith(100)
	run.Thresholds = []record.ThresholdCheck{
		{Expr: "p99<10ms", Stage: "2", Tool: report.BuiltinTool, Value: 20, Unit: "ms"},
		{Expr: "rps>10", Stage: "2", Tool: report.BuiltinTool, Value: 100, Unit: "req/s", Pass: true},
	}
	md := string(report.Markdown(run, nil))
	if !strings.Contains(md, "1 of 2 threshold checks breached") || !strings.Contains(md, "threshold p99<10ms: stage 2 (scalelab load) 20 ms: BREACHED") {
		t.Errorf("report.md does not name the breached threshold:\n%s", md)
	}
	run.Thresholds = run.Thresholds[1:]
	if md := string(report.Markdown(run, nil)); strings.Contains(md, "threshold") {
		t.Errorf("report.md warns of thresholds that passed:\n%s", md)
	}
}

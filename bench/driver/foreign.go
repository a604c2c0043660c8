package driver

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scalelab/scalelab/stages"
)

//go:embed wrk-photos.lua
var wrkPhotos []byte

// The talk's other lesson: the load tool changes the answer (616 req/s
// with its homegrown tool, 1750 with ab, on the same server). foreign
// loads a URL with ab or wrk, when installed, and parses their output into
// a Result beside scalelab's own.
func foreign(ctx context.Context, o Options, tool, url, dir string, st Stage, ds Dataset) (Result, error) {
	conns := o.Connections
	if conns == 0 {
		conns = 32
	}
	secs := strconv.Itoa(max(1, int(o.Duration.Seconds())))
	var args []string
	switch tool {
	case "wrk":
		script := filepath.Join(dir, "wrk-photos.lua")
		if err := os.WriteFile(script, wrkPhotos, 0o644); err != nil {
			return Result{}, err
		}
		args = []string{"-t1", "-c", strconv.Itoa(conns), "-d", secs + "s", "--latency", "-s", script, url}
	case "ab":
		args = []string{"-k", "-q", "-c", strconv.Itoa(conns), "-t", secs, "-n", "100000000", url}
	}
	bin, err := exec.LookPath(tool)
	if err != nil {
		pkg := map[string]string{"ab": "apache2-utils", "wrk": "wrk"}[tool]
		return Result{}, fmt.Errorf("%s is not installed: install the Debian package %q (make deps)", tool, pkg)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("SCALELAB_USERS=%d", ds.Users), fmt.Sprintf("SCALELAB_PHOTOS=%d", ds.Photos))
	out, err := cmd.CombinedOutput()
	// The tool's own output is kept beside the record; the result does
	// not depend on it, so a failure to keep it is said, not fatal.
	if werr := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.txt", tool, st.Key())), out, 0o644); werr != nil {
		fmt.Fprintf(o.Stdout, "  %s: its output is not kept: %v\n", tool, werr)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s: %v: %s", tool, err, strings.TrimSpace(string(out)))
	}
	var r Result
	if tool == "wrk" {
		r, err = ParseWrk(string(out))
	} else {
		r, err = ParseAB(string(out))
	}
	if err != nil {
		return r, err
	}
	r.Stage, r.NoIndex, r.Name, r.Tool, r.Connections = st.ID, st.NoIndex, st.Title(), tool, conns
	r.TalkRPS = stages.TalkFor(st.Key(), tool)
	r.RPSRuns = []float64{r.RPS}
	r.Target = url + " (front page)"
	if tool == "wrk" {
		r.Target = "the photo page mix of wrk-photos.lua (no images, no logins)"
	}
	return r, nil
}

// ParseWrk reads the output of wrk --latency.
func ParseWrk(out string) (Result, error) {
	var r Result
	var haveRPS bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.RPS, haveRPS = parseFloat(f[1]), true
		case len(f) >= 5 && f[1] == "requests" && f[2] == "in":
			r.Requests = int64(parseFloat(f[0]))
			d, _ := time.ParseDuration(strings.TrimSuffix(f[3], ","))
			r.DurationS = d.Seconds()
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			setPercentile(&r, f[0], wrkDuration(f[1]))
		case len(f) >= 2 && f[0] == "Latency" && len(f) >= 5:
			r.MaxMs = wrkDuration(f[3])
		case strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:") && len(f) == 5:
			r.Errors += int64(parseFloat(f[4]))
		case strings.HasPrefix(strings.TrimSpace(sc.Text()), "Socket errors:"):
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for i := 2; i+1 < len(f); i += 2 {
				r.Errors += int64(parseFloat(strings.TrimSuffix(f[i+1], ",")))
			}
		}
	}
	if !haveRPS {
		return r, fmt.Errorf("wrk: no Requests/sec in its output")
	}
	return r, nil
}

// wrkDuration reads wrk's "1.23ms", "850.00us", "2.01s" as milliseconds.
func wrkDuration(s string) float64 {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 0.001}, {"ms", 1}, {"m", 60000}, {"s", 1000}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			return parseFloat(v) * u.ms
		}
	}
	return parseFloat(s)
}

// ParseAB reads the output of ab.
func ParseAB(out string) (Result, error) {
	var r Result
	var haveRPS bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Requests per second:") && len(f) >= 4:
			r.RPS, haveRPS = parseFloat(f[3]), true
		case strings.HasPrefix(line, "Complete requests:") && len(f) == 3:
			r.Requests = int64(parseFloat(f[2]))
		case strings.HasPrefix(line, "Time taken for tests:") && len(f) >= 5:
			r.DurationS = parseFloat(f[4])
		case strings.HasPrefix(line, "Failed requests:") && len(f) == 3:
			r.Errors += int64(parseFloat(f[2]))
		case strings.HasPrefix(line, "Non-2xx responses:") && len(f) == 3:
			r.Errors += int64(parseFloat(f[2]))
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			setPercentile(&r, f[0], parseFloat(f[1]))
		case len(f) >= 2 && f[0] == "100%":
			r.MaxMs = parseFloat(f[1])
		}
	}
	if !haveRPS {
		return r, fmt.Errorf("ab: no \"Requests per second\" in its output")
	}
	return r, nil
}

// setPercentile files a "50%", "90%" or "99%" line of ab's or wrk's
// latency distribution; other percentiles are not recorded.
func setPercentile(r *Result, label string, ms float64) {
	switch label {
	case "50%":
		r.P50Ms = ms
	case "90%":
		r.P90Ms = ms
	case "99%":
		r.P99Ms = ms
	}
}

// parseFloat reads a number of a tool's output; anything else, NaN and
// infinities included (the record's JSON cannot hold them), is 0.
func parseFloat(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

package driver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addOutputs seeds a fuzz target with the saved outputs of real runs.
func addOutputs(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", prefix+"*.txt"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// checkParsed is what every parse that succeeds must give: a result the
// run's record can hold (json refuses NaN and infinities).
func checkParsed(t *testing.T, tool, out string, r Result, err error) {
	if err != nil {
		return
	}
	if _, jerr := json.Marshal(r); jerr != nil {
		t.Fatalf("%s output %q parses into a result the record cannot hold: %v", tool, out, jerr)
	}
}

// FuzzParseWrk feeds arbitrary text to the parser of wrk's output: it
// never panics, and what it accepts can be recorded.
func FuzzParseWrk(f *testing.F) {
	addOutputs(f, "wrk-")
	f.Add("Requests/sec: NaN\n")
	f.Add("  Latency   1.00ms  2.00ms  3.00\n    50%\n")
	f.Add("  Socket errors: connect\n")
	f.Add(strings.Repeat("x", 70000) + "\nRequests/sec: 1\n") // a line over bufio's limit
	f.Fuzz(func(t *testing.T, out string) {
		r, err := ParseWrk(out)
		checkParsed(t, "wrk", out, r, err)
	})
}

// FuzzParseAB is FuzzParseWrk for ab's output.
func FuzzParseAB(f *testing.F) {
	addOutputs(f, "ab-")
	f.Add("Requests per second:    +Inf [#/sec] (mean)\n")
	f.Add("100%\n")
	f.Add("Complete requests: 1e400\n")
	f.Fuzz(func(t *testing.T, out string) {
		r, err := ParseAB(out)
		checkParsed(t, "ab", out, r, err)
	})
}

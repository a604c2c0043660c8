// Package driver is the one place that joins the stages and the
// instrument: for each stage it starts the stage's processes (as a child
// "scalelab serve"), verifies that the stage serves the right pages, loads
// it with the load generator, records what it saw, and stops everything.
// "scalelab bench" runs one stage; "scalelab lab" runs the whole talk.
//
// Its files follow its jobs: options.go checks the settings once; run.go
// runs a plan of stages into a record; bench.go measures one stage, with
// serve.go starting it and measure.go loading it; verify.go checks its
// pages first, writes.go that it kept the comments it acknowledged,
// where.go where the time went; fault.go and proxy.go inject failures;
// foreign.go runs ab and wrk.
package driver

import "errors"

// ErrVerification is returned when a stage serves wrong pages: it is not
// measured.
var ErrVerification = errors.New("verification failed")

// ErrLostWrites is returned when a stage acknowledged a comment it did not
// keep (or kept one it refused, or kept it twice, or did not show it).
var ErrLostWrites = errors.New("lost writes")

// Command scalelab is a staged benchmark laboratory: it re-runs the demo of the
// talk "Scaling Python on the Web" (PyCon 2007) in Go, starting each stage's
// servers, loading them and charting requests per second.
//
// The commands here are thin: each fills an options struct from its flags and
// calls one function in infra/, data/, bench/ or the stages, so the logic can
// be tested without the CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/scalelab/scalelab/bench"
)

func main() {
	// Ctrl-C and SIGTERM cancel the context; every command stops the
	// processes it started when its context ends.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitCode maps an error to the README's exit codes: 0 on success, 2 on bad
// usage, 1 on a failed run. It prints the error as one line.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "scalelab:", err)
	var u *usageError
	// cobra reports an unknown command as a plain error: it is bad usage.
	if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

// usageError marks an error as the user's (a bad flag or argument): exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// usageText is the message of an error that wraps bench.ErrUsage, without
// that error's own generic words ("bad load options: ").
func usageText(err error) string {
	return strings.TrimPrefix(err.Error(), bench.ErrUsage.Error()+": ")
}

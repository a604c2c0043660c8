package wait_test

import (
	"sync/atomic"
	"testing"

	"github.com/scalelab/scalelab/internal/wait"
)

// Until returns as soon as the condition holds, having polled it until then.
func TestUntilPollsUntilTheEvent(t *testing.T) {
	var polls atomic.Int32
	if !wait.Until(func() bool { return polls.Add(1) == 3 }) {
		t.Fatal("Until gave up on a condition that came to hold")
	}
	if n := polls.Load(); n != 3 {
		t.Errorf("the condition was polled %d times, want 3 (until it held, not after)", n)
	}
}

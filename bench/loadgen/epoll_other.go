//go:build !linux

package loadgen

// epollAvailable says whether this system has the epoll engine; elsewhere
// every run uses the portable engine.
const epollAvailable = false

func runEpoll(run *runState, targets []*target) error {
	panic("loadgen: epoll engine on a system without epoll")
}

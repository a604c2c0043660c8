package hostile

import (
	"errors"
	"net"
	"syscall"
)

// noSigpipe writes to a TCP connection with MSG_NOSIGNAL. Writing to a
// connection the server has closed (it answered 413 and hung up, as it
// should) raises SIGPIPE, and a test binary that asked for SIGPIPE with
// signal.Notify (infratest does, to stop its servers when its output pipe
// closes) would take it for its own: the corpus must not send it one.
type noSigpipe struct{ c *net.TCPConn }

func newWriter(c net.Conn) writer {
	if tc, ok := c.(*net.TCPConn); ok {
		return noSigpipe{tc}
	}
	return c
}

func (w noSigpipe) Write(b []byte) (int, error) {
	rc, err := w.c.SyscallConn()
	if err != nil {
		return 0, err
	}
	sent := 0
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for sent < len(b) {
			n, err := syscall.SendmsgN(int(fd), b[sent:], nil, nil, syscall.MSG_NOSIGNAL)
			if errors.Is(err, syscall.EAGAIN) {
				return false // wait until the socket is writable
			}
			if err != nil {
				werr = err
				return true
			}
			sent += n
		}
		return true
	})
	if werr != nil {
		return sent, werr
	}
	return sent, err
}

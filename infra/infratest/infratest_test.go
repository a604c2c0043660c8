package infratest_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
)

var services infra.Services

func TestMain(m *testing.M) {
	infratest.Main(m, func(_ string, s infra.Services) { services = s })
}

// A write to a socket its peer closed raises SIGPIPE; the lab must stay
// up (only a broken stdout or stderr ends a test run).
func TestSocketSIGPIPEKeepsTheLab(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Read(make([]byte, 1))
			c.(*net.TCPConn).SetLinger(0) // a reset, then EPIPE on the next writes
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var werr error
	for i := 0; i < 100 && !errors.Is(werr, syscall.EPIPE); i++ {
		_, werr = c.Write([]byte("after the peer left\n"))
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(werr, syscall.EPIPE) {
		t.Skipf("no broken pipe to raise SIGPIPE: %v", werr)
	}
	time.Sleep(2 * time.Second) // time for a signal to be handled and the lab stopped
	// Still here, and so is the lab's memcached.
	m, err := infra.DialMemcached(services.MemcachedServers, time.Second)
	if err != nil {
		t.Fatalf("the lab's memcached is gone after a socket's SIGPIPE: %v", err)
	}
	m.Close()
}

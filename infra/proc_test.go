package infra_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scalelab/scalelab/infra"
)

// zombieLeaderEnv makes the test binary, run again by
// TestStopWaitsForEveryThread, behave like memcached at shutdown: its main
// thread exits while another thread still holds a listening socket. Such a
// process shows as a zombie in /proc before its sockets are closed.
const zombieLeaderEnv = "SCALELAB_TEST_ZOMBIE_LEADER"

func init() {
	if os.Getenv(zombieLeaderEnv) == "" {
		return
	}
	runtime.LockOSThread() // keep this goroutine on the main thread
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	fmt.Println(ln.Addr())
	// Exit the main thread alone (exit(2), not exit_group(2)): the
	// accepting thread goes on, and the process lives until it is killed.
	syscall.RawSyscall(syscall.SYS_EXIT, 0, 0, 0)
}

// A process whose main thread has exited but whose other threads still
// listen is alive, and Stop returns only when its port refuses
// connections.
func TestStopWaitsForEveryThread(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), zombieLeaderEnv+"=1")
	log := filepath.Join(t.TempDir(), "log")
	p, err := infra.StartProcess("zombie-leader", cmd, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-p.PID, syscall.SIGKILL) })
	// The helper writes its address to its log (its standard output).
	var addr string
	for addr == "" {
		if b, _ := os.ReadFile(log); bytes.HasSuffix(b, []byte("\n")) {
			addr = strings.TrimSpace(string(b))
			break
		}
		select {
		case <-p.Exited():
			b, _ := os.ReadFile(log)
			t.Fatalf("the helper exited: %s", b)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := net.ResolveTCPAddr("tcp", addr); err != nil {
		t.Fatalf("helper said %q", addr)
	}

	// Wait for the main thread to be gone: the process is a zombie leader.
	for !isZombie(p.PID) {
		select {
		case <-p.Exited():
			t.Fatal("the helper exited as a whole")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !p.Alive() {
		t.Fatal("Alive() = false for a process whose other threads still run")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the helper's port should still answer: %v", err)
	}
	c.Close()

	if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Error("Alive() = true after Stop")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still answers after Stop returned", addr)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	var state byte
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' && i+2 < len(b) {
			state = b[i+2]
			break
		}
	}
	return state == 'Z'
}

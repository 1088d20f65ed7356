package testtools

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// DialContext connects from inside h's network namespace, as a program run
// there would, so that Go code of the test itself (a client library under
// test) can reach servers that listen only in the Network. Names the
// Network resolves (Network.Name) are resolved as its hosts files do.
//
// The socket is made on an OS thread that joins the namespace for the call
// and then returns to the test's own; a socket belongs to the namespace it
// was made in for its whole life, so the connection works from any
// goroutine afterwards. (The thread is restored rather than thrown away:
// the servers a test starts die with the thread that started them, by
// Pdeathsig, and this may be that thread.)
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	h.net.mu.Lock()
	if target, ok := h.net.names[host]; ok {
		host = target.ip
	}
	h.net.mu.Unlock()
	addr = net.JoinHostPort(host, port)

	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, err}
			return
		}
		defer own.Close()
		target, err := os.Open(filepath.Join("/var/run/netns", h.Namespace))
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("setns %s: %w", h.Namespace, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else: the thread stays locked and ends with this goroutine
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// Signal sends sig to the process's group: SIGSTOP freezes it (a hung
// server: its sockets stay open and nothing answers), SIGCONT thaws it.
func (p *Process) Signal(sig syscall.Signal) error {
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

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
	var c net.Conn
	err = h.inNamespace(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens inside h's network namespace, as a server run there would
// (a Go stand-in for a machine of the Network, such as a load balancer):
// only the Network's hosts reach it. The listener works from any goroutine.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := h.inNamespace(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// inNamespace runs f (which makes sockets) on an OS thread that joins h's
// namespace for the call and then returns to the test's own; a socket
// belongs to the namespace it was made in for its whole life, so it works
// from any goroutine afterwards. (The thread is restored rather than thrown
// away: the servers a test starts die with the thread that started them, by
// Pdeathsig, and this may be that thread.)
func (h *Host) inNamespace(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer own.Close()
		target, err := os.Open(filepath.Join("/var/run/netns", h.Namespace))
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("setns %s: %w", h.Namespace, err)
			return
		}
		err = f()
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else: the thread stays locked and ends with this goroutine
		done <- err
	}()
	return <-done
}

// Signal sends sig to the process's group: SIGSTOP freezes it (a hung
// server: its sockets stay open and nothing answers), SIGCONT thaws it.
func (p *Process) Signal(sig syscall.Signal) error {
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

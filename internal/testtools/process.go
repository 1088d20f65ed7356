package testtools

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Command is bin with args run in the host's namespace (`ip netns exec`,
// which execs bin in place: it keeps the process ID, the process group and
// the parent-death signal). The process gets SIGKILL if the test process
// dies, and runs in its own process group.
func (h *Host) Command(ctx context.Context, env []string, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Namespace, bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A command killed for its deadline takes its children with it.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs bin in the host and returns its standard output; the error
// carries standard error. It is killed after timeout (a deadline, not an
// assertion: a hung client must not hang the test).
func (h *Host) Run(timeout time.Duration, env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := h.Command(ctx, env, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s (in %s): %w\n%s%s", filepath.Base(bin), strings.Join(args, " "), h.Name, err, stderr.String(), stdout.String())
	}
	return stdout.String(), nil
}

// A Process is a long-running program a test started in a Host.
type Process struct {
	// Log is the file its standard output and error go to.
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	once sync.Once
}

// Start starts bin in the host, its output appended to log, and kills it
// (with its process group) when the test ends, if it has not been stopped
// before. When the test has failed, the end of the log is in the test log.
func (h *Host) Start(t testing.TB, name, log string, env []string, bin string, args ...string) *Process {
	t.Helper()
	out, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := h.Command(context.Background(), env, bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s in %s: %v", name, h.Name, err)
	}
	p := &Process{Log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s: last lines of %s:\n%s", name, log, Tail(log, 40))
		}
	})
	return p
}

// Pid is the process's ID: the program's own, since `ip netns exec` execs
// it in place (for reading its /proc entries: CPU time, memory).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop kills the process and its group (SIGKILL: as a machine that dies)
// and waits for it. Stopping it again does nothing.
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// Shutdown stops the process as a machine's shutdown stops a service:
// SIGTERM to its group, and SIGKILL if it still runs after grace. It
// reports whether it ended by itself.
func (p *Process) Shutdown(grace time.Duration) bool {
	if done, _ := p.Exited(); done {
		return true
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	ended, _ := p.WaitExit(grace)
	p.Stop()
	return ended
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// WaitExit waits up to timeout for the process to end by itself and returns
// its error (nil for exit status 0); ok is false if it still runs.
func (p *Process) WaitExit(timeout time.Duration) (ok bool, err error) {
	select {
	case <-p.done:
		return true, p.err
	case <-time.After(timeout):
		return false, nil
	}
}

// Tail is the last n lines of a file.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitFor polls check until it succeeds or timeout passes, then fails the
// test with check's last error. The timeout is a deadline for something
// that must happen, never a measurement: nothing asserts how long it took.
func WaitFor(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	if err := Poll(timeout, check); err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, err)
	}
}

// Poll is WaitFor's loop: nil once check succeeds, else check's last error
// at the deadline.
func Poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

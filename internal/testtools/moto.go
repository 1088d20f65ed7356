package testtools

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Moto is a moto_server (the AWS API emulator, github.com/getmoto/moto) that
// a test started for itself, listening on 127.0.0.1 only.
type Moto struct {
	// Endpoint is its URL, for AWS_ENDPOINT_URL: http://127.0.0.1:<port>.
	Endpoint string
	// Log is the file its output goes to.
	Log string
	// Recording is the file its request recorder writes (see
	// StartRecording): one per server, in the test's temporary directory.
	Recording string
}

// StartMoto starts moto_server (found like Path: $KINFRA_MOTO_SERVER, else
// .tools/bin/moto_server-*, else moto_server on PATH; `scripts/tools moto`
// prints it) on a free port of 127.0.0.1, waits until it answers and kills
// it, with its whole process group, when the test ends. The server also dies
// with the test process (SIGKILL on the parent's death), so nothing outlives
// the test. Like Path, it skips or fails the test if moto_server is missing.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin := Path(t, "moto_server")
	dir := t.TempDir()
	log := filepath.Join(dir, "moto_server.log")
	recording := filepath.Join(dir, "moto_recording.jsonl")
	var lastErr error
	// A free port can be taken between choosing and binding it: try again.
	for range 3 {
		m, err := startMoto(t, bin, log, recording)
		if err == nil {
			return m
		}
		lastErr = err
	}
	out, _ := os.ReadFile(log)
	t.Fatalf("moto_server did not start: %v\n%s", lastErr, out)
	return nil
}

// motoStarting serialises the servers a test binary starts, from choosing
// a port until the server answers on it: otherwise two parallel tests could
// choose the same free port, and one of them talk to the other's server.
var motoStarting sync.Mutex

func startMoto(t testing.TB, bin, log, recording string) (*Moto, error) {
	motoStarting.Lock()
	defer motoStarting.Unlock()
	port, err := motoFreePort()
	if err != nil {
		return nil, err
	}
	out, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	// The recorder writes where it is told, not to ./moto_recording, and
	// records nothing until StartRecording.
	cmd.Env = append(os.Environ(), "MOTO_RECORDER_FILEPATH="+recording, "MOTO_ENABLE_RECORDING=")
	// Its own process group, killed as a whole; and killed if the test
	// process dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	m := &Moto{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), Log: log, Recording: recording}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("moto_server exited: %v", err)
		default:
		}
		// moto's own API answers only once the server is up, with its state
		// as a JSON object, which tells moto from another server on the port.
		if resp, err := client.Get(m.Endpoint + "/moto-api/data.json"); err == nil {
			var state map[string]any
			err := json.NewDecoder(resp.Body).Decode(&state)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && err == nil {
				t.Cleanup(stop)
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 60s", m.Endpoint)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func motoFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SetAWSEnv points the AWS SDK at this server for the rest of the test:
// its endpoint, test credentials, and no shared config or profile that
// could send a call elsewhere.
func (m *Moto) SetAWSEnv(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": m.Endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}
}

package testtools

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
// prints it) on a port of 127.0.0.1 it chooses itself, waits until it
// answers and kills it, with its whole process group, when the test ends.
// The server also dies with the test process (SIGKILL on the parent's
// death), so nothing outlives the test. Like Path, it skips or fails the
// test if moto_server is missing.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin := Path(t, "moto_server")
	dir := t.TempDir()
	log := filepath.Join(dir, "moto_server.log")
	recording := filepath.Join(dir, "moto_recording.jsonl")
	m, err := startMoto(t, bin, log, recording)
	if err != nil {
		out, _ := os.ReadFile(log)
		t.Fatalf("moto_server did not start: %v\n%s", err, out)
	}
	return m
}

// listening is the line the server prints once it has bound its port.
var listening = regexp.MustCompile(`Running on http://127\.0\.0\.1:(\d+)`)

// startMoto starts the server on port 0 and takes the port it bound from
// its own output. A port chosen here and handed to it could be bound by
// another test binary's server first: this one would then exit, and the
// other answer in its place, sharing one account between two tests.
func startMoto(t testing.TB, bin, log, recording string) (*Moto, error) {
	out, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
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
	m := &Moto{Log: log, Recording: recording}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("moto_server exited: %v", err)
		default:
		}
		if m.Endpoint == "" {
			if text, err := os.ReadFile(log); err == nil {
				if match := listening.FindSubmatch(text); match != nil {
					m.Endpoint = "http://127.0.0.1:" + string(match[1])
				}
			}
		}
		// moto's own API answers only once the server is up, with its state
		// as a JSON object.
		if m.Endpoint != "" {
			if resp, err := client.Get(m.Endpoint + "/moto-api/data.json"); err == nil {
				var state map[string]any
				err := json.NewDecoder(resp.Body).Decode(&state)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && err == nil {
					t.Cleanup(stop)
					return m, nil
				}
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("moto_server did not answer within 60s (endpoint %q)", m.Endpoint)
		}
		time.Sleep(100 * time.Millisecond)
	}
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

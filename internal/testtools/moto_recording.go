package testtools

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// MotoRequest is one AWS request moto_server recorded.
type MotoRequest struct {
	// Service is the signing name of the service called (ec2, autoscaling,
	// elasticloadbalancing, cloudformation, s3…), from the request's
	// SigV4 credential scope.
	Service string
	// Action is the API action: Action= of a query-protocol request (EC2,
	// Auto Scaling, ELBv2, CloudFormation), or the operation of a JSON one's
	// X-Amz-Target. Empty for REST protocols (S3), which Method and Path
	// describe.
	Action string
	Method string
	Path   string
}

// Mutating tells whether the request may change something: an action
// that is not Describe…, List… or Get…, or, without an action, a method
// other than GET and HEAD.
func (r MotoRequest) Mutating() bool {
	if r.Action == "" {
		return r.Method != http.MethodGet && r.Method != http.MethodHead
	}
	for _, p := range []string{"Describe", "List", "Get"} {
		if strings.HasPrefix(r.Action, p) {
			return false
		}
	}
	return true
}

func (r MotoRequest) String() string {
	if r.Action != "" {
		return r.Service + ":" + r.Action
	}
	return r.Service + " " + r.Method + " " + r.Path
}

// MutatingRequests are the requests of reqs that may change something.
func MutatingRequests(reqs []MotoRequest) []MotoRequest {
	var out []MotoRequest
	for _, r := range reqs {
		if r.Mutating() {
			out = append(out, r)
		}
	}
	return out
}

// StartRecording empties the server's request recording and starts
// recording every AWS request from now on: call it after a test's setup so
// that Requests holds only what the code under test asked.
func (m *Moto) StartRecording(t testing.TB) {
	t.Helper()
	m.recorder(t, http.MethodPost, "reset-recording")
	m.recorder(t, http.MethodPost, "start-recording")
}

// Requests are the AWS requests recorded since StartRecording, in order.
func (m *Moto) Requests(t testing.TB) []MotoRequest {
	t.Helper()
	reqs, err := ParseMotoRecording(m.recorder(t, http.MethodGet, "download-recording"))
	if err != nil {
		t.Fatalf("moto_server's recording (%s): %v", m.Recording, err)
	}
	return reqs
}

func (m *Moto) recorder(t testing.TB, method, op string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, m.Endpoint+"/moto-api/recorder/"+op, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("moto_server recorder %s: %v", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("moto_server recorder %s: status %d, %v: %s", op, resp.StatusCode, err, body)
	}
	return body
}

// recordedRequest is one line of moto's recording (moto_api/_internal/
// recorder/models.py).
type recordedRequest struct {
	Headers     map[string]string `json:"headers"`
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Body        *string           `json:"body"`
	BodyEncoded bool              `json:"body_encoded"`
}

// ParseMotoRecording reads a moto recording: one JSON request a line.
func ParseMotoRecording(recording []byte) ([]MotoRequest, error) {
	var reqs []MotoRequest
	sc := bufio.NewScanner(bytes.NewReader(recording))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec recordedRequest
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		r, err := rec.request()
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		reqs = append(reqs, r)
	}
	return reqs, sc.Err()
}

func (rec recordedRequest) request() (MotoRequest, error) {
	u, err := url.Parse(rec.URL)
	if err != nil {
		return MotoRequest{}, err
	}
	r := MotoRequest{Method: rec.Method, Path: u.Path, Service: signingService(header(rec.Headers, "Authorization"))}
	var body []byte
	if rec.Body != nil {
		body = []byte(*rec.Body)
		if rec.BodyEncoded {
			if body, err = base64.StdEncoding.DecodeString(*rec.Body); err != nil {
				return MotoRequest{}, fmt.Errorf("body: %w", err)
			}
		}
	}
	switch {
	case u.Query().Get("Action") != "":
		r.Action = u.Query().Get("Action")
	case header(rec.Headers, "X-Amz-Target") != "":
		target := header(rec.Headers, "X-Amz-Target")
		r.Action = target[strings.LastIndex(target, ".")+1:]
	case strings.HasPrefix(header(rec.Headers, "Content-Type"), "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return MotoRequest{}, fmt.Errorf("form body: %w", err)
		}
		r.Action = form.Get("Action")
	}
	return r, nil
}

// header is a header's value, its name in any case.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// signingService is the service of a SigV4 Authorization header:
// Credential=<key>/<date>/<region>/<service>/aws4_request.
func signingService(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	if parts := strings.Split(cred, "/"); len(parts) == 5 {
		return parts[3]
	}
	return ""
}

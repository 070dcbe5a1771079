// Package fakedynamo is a loopback stand-in for DynamoDB's UpdateItem counter
// writes with scripted faults, for tests of what a store failure does to a
// limit: each connection attempt takes the next step of the script (refuse,
// throttle, reset, 500, or answer), then the server answers normally.
//
// It understands just enough of UpdateItem for the dynamo package's counter
// writes: ADD of :n, :d or :m, refused when the count is above :max (a
// ConditionalCheckFailedException carrying the item), per pk and sk; and of
// its key-use writes: every :v<i> the ADD clause names is added to the
// item's one count, refused when the count is above the first value a
// condition compares with "<=".
package fakedynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Fault is what one connection attempt meets.
type Fault int

const (
	// OK answers as DynamoDB does.
	OK Fault = iota
	// Refuse refuses the connection (nothing listens where it dials).
	Refuse
	// Throttle answers 400 ProvisionedThroughputExceededException: nothing applied.
	Throttle
	// ResetUnapplied reads the whole request, then resets the connection
	// without applying it: ambiguous to the client.
	ResetUnapplied
	// ResetApplied applies the request, then resets the connection without
	// answering: ambiguous to the client.
	ResetApplied
	// InternalError answers 500 InternalServerError without applying it.
	InternalError
)

func (f Fault) String() string {
	return [...]string{"ok", "refuse", "throttle", "reset-unapplied", "reset-applied", "500"}[f]
}

// Server is the fake endpoint. Safe for concurrent use.
type Server struct {
	srv     *httptest.Server
	refused string // a loopback address where nothing listens

	mu       sync.Mutex
	script   []Fault
	counts   map[string]int64
	applied  int64
	requests int64
	dials    int64
}

// New starts a fake on loopback that follows script, one step per
// connection attempt, then answers everything. It stops when the test ends.
func New(t testing.TB, script ...Fault) *Server {
	t.Helper()
	s := &Server{script: script, counts: map[string]int64{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.refused = ln.Addr().String()
	_ = ln.Close()
	return s
}

// Client returns a DynamoDB client of the fake: one connection per attempt
// (no keep-alive), so that every attempt meets the next step of the script.
// optFns apply last.
func (s *Server) Client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	hc := awshttp.NewBuildableClient().WithTimeout(5 * time.Second).WithTransportOptions(func(tr *http.Transport) {
		tr.DisableKeepAlives = true
		tr.DialContext = s.dial
	})
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(s.srv.URL),
		Credentials:                     aws.AnonymousCredentials{},
		HTTPClient:                      hc,
		DisableValidateResponseChecksum: true,
	}, optFns...)
}

// dial connects to the fake, or where nothing listens when the script says
// Refuse: a real connection refused.
func (s *Server) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	s.mu.Lock()
	s.dials++
	addr := s.srv.Listener.Addr().String()
	if len(s.script) > 0 && s.script[0] == Refuse {
		s.script = s.script[1:]
		addr = s.refused
	}
	s.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Applied is the number of writes applied (an ADD of any amount is one).
func (s *Server) Applied() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.applied }

// Requests is the number of requests that reached the fake's handler.
func (s *Server) Requests() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.requests }

// Dials is the number of connection attempts.
func (s *Server) Dials() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.dials }

// Count is the counter of one item (all items summed when pk is "").
func (s *Server) Count(pk, sk string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pk == "" {
		var n int64
		for _, c := range s.counts {
			n += c
		}
		return n
	}
	return s.counts[pk+"\x00"+sk]
}

type attr struct {
	S string `json:"S,omitempty"`
	N string `json:"N,omitempty"`
}

type updateItem struct {
	Key                       map[string]attr `json:"Key"`
	UpdateExpression          string          `json:"UpdateExpression"`
	ConditionExpression       string          `json:"ConditionExpression"`
	ExpressionAttributeValues map[string]attr `json:"ExpressionAttributeValues"`
}

var (
	addedValue = regexp.MustCompile(`:v[0-9]+`)
	capValue   = regexp.MustCompile(`<= (:v[0-9]+)`)
)

// keyUse reads a key-use write as one ADD of the sum of its values, capped
// by the first "<=" of its condition (":max" in vals when there is one).
func keyUse(in *updateItem) (int64, error) {
	add, _, _ := strings.Cut(in.UpdateExpression, " REMOVE ")
	add, _, _ = strings.Cut(add, " SET ")
	var n int64
	for _, name := range addedValue.FindAllString(add, -1) {
		v, err := strconv.ParseInt(in.ExpressionAttributeValues[name].N, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", name, err)
		}
		n += v
	}
	if m := capValue.FindStringSubmatch(in.ConditionExpression); m != nil {
		in.ExpressionAttributeValues[":max"] = in.ExpressionAttributeValues[m[1]]
	}
	return n, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.requests++
	fault := OK
	if len(s.script) > 0 {
		fault, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()

	switch fault {
	case Throttle:
		writeError(w, 400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.", nil)
		return
	case InternalError:
		writeError(w, 500, "InternalServerError", "Internal server error", nil)
		return
	case ResetUnapplied:
		reset(w)
		return
	}
	if op := r.Header.Get("X-Amz-Target"); op != "DynamoDB_20120810.UpdateItem" {
		writeError(w, 400, "ValidationException", "fakedynamo serves UpdateItem only, not "+op, nil)
		return
	}
	var in updateItem
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "SerializationException", err.Error(), nil)
		return
	}
	key := in.Key["pk"].S + "\x00" + in.Key["sk"].S
	var n int64
	if _, ok := in.ExpressionAttributeValues[":v0"]; ok {
		n, err = keyUse(&in)
	} else {
		n, err = number(in.ExpressionAttributeValues, ":n", ":d", ":m")
	}
	if err != nil {
		writeError(w, 400, "ValidationException", err.Error(), nil)
		return
	}
	s.mu.Lock()
	c, exists := s.counts[key]
	if m, ok := in.ExpressionAttributeValues[":max"]; ok {
		max, _ := strconv.ParseInt(m.N, 10, 64)
		if exists && c > max {
			s.mu.Unlock()
			writeError(w, 400, "ConditionalCheckFailedException", "The conditional request failed", map[string]attr{"c": {N: strconv.FormatInt(c, 10)}})
			return
		}
	}
	c += n
	s.counts[key] = c
	s.applied++
	s.mu.Unlock()
	if fault == ResetApplied {
		reset(w)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]any{"Attributes": map[string]attr{"c": {N: strconv.FormatInt(c, 10)}}})
}

func number(vals map[string]attr, names ...string) (int64, error) {
	for _, name := range names {
		if v, ok := vals[name]; ok {
			return strconv.ParseInt(v.N, 10, 64)
		}
	}
	return 0, fmt.Errorf("none of %v in ExpressionAttributeValues", names)
}

func writeError(w http.ResponseWriter, status int, code, msg string, item map[string]attr) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	e := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg}
	if item != nil {
		e["Item"] = item
	}
	_ = json.NewEncoder(w).Encode(e)
}

// reset closes the connection with a TCP RST and no answer.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

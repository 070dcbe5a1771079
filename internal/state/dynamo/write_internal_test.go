package dynamo

import (
	"context"
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestClassifyTransportFailures(t *testing.T) {
	sendErr := func(err error) error {
		return &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:1/", Err: err}}
	}
	dial := func(errno syscall.Errno) error { return &net.OpError{Op: "dial", Net: "tcp", Err: errno} }
	for _, tc := range []struct {
		name  string
		err   error
		sent  bool
		apply applied
		retry bool
	}{
		{"connection refused", sendErr(dial(syscall.ECONNREFUSED)), false, no, true},
		{"reset while connecting", sendErr(dial(syscall.ECONNRESET)), false, no, true},
		{"DNS failure", sendErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x"}}), false, no, true},
		{"reset before the request was written", sendErr(&net.OpError{Op: "write", Err: syscall.ECONNRESET}), false, no, true},
		{"broken pipe part way", sendErr(&net.OpError{Op: "write", Err: syscall.EPIPE}), false, no, true},
		{"reset after the request was written", sendErr(&net.OpError{Op: "read", Err: syscall.ECONNRESET}), true, maybe, false},
		{"timeout after the request was written", sendErr(context.DeadlineExceeded), true, maybe, false},
		{"failed before sending (no transport error)", errors.New("resolve credentials"), false, no, false},
	} {
		a, retry := classify(tc.err, tc.sent)
		if a != tc.apply || retry != tc.retry {
			t.Errorf("%s: applied=%v retry=%v, want %v %v", tc.name, a, retry, tc.apply, tc.retry)
		}
	}
}

func TestSendTraceCountsWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events func(*sendTrace)
		sent   bool
	}{
		{"nothing written", func(*sendTrace) {}, false},
		{"write failed before the headers", func(s *sendTrace) { s.failed++ }, false},
		{"headers, then the write failed", func(s *sendTrace) { s.headers++; s.failed++ }, false},
		{"headers, end not known yet", func(s *sendTrace) { s.headers++ }, true},
		{"written", func(s *sendTrace) { s.headers++; s.complete++ }, true},
		{"failed once, written on a second connection", func(s *sendTrace) { s.headers++; s.failed++; s.headers++; s.complete++ }, true},
	} {
		var s sendTrace
		tc.events(&s)
		if s.sent() != tc.sent {
			t.Errorf("%s: sent() = %v, want %v", tc.name, s.sent(), tc.sent)
		}
	}
}

package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Counter writes and exactness
//
// Limits.Take, Limits.Adjust and Spend.Add are UpdateItem ADDs. An ADD is not
// idempotent: sending it again after an attempt that reached the table counts
// it twice. So the SDK's own retries are off for them (once), and addItem
// retries an attempt only when it provably did not apply:
//
//   - the request never left this process complete: the connection could not
//     be made (connection refused, DNS failure, dial timeout, a reset or TLS
//     failure while connecting) or writing it failed part way (a reset or
//     broken pipe before the last byte). net/http's httptrace tells: a request
//     counts as sent once its headers were written unless the write then
//     failed (sendTrace). The transport returns a failed round trip only
//     after its write loop has finished, so a write that is still under way
//     cannot be mistaken for one that never happened; and WroteRequest fires
//     before the final flush, which errs on the side of "sent".
//   - DynamoDB answered with a rejection that it documents as made before
//     the write: ProvisionedThroughputExceededException, ThrottlingException,
//     RequestLimitExceeded (throttling; HTTP 400) and
//     TransactionConflictException ("Operation was rejected because there is
//     an ongoing transaction for the item", HTTP 400). Every other 4xx also
//     means nothing was written, but retrying it cannot help: it is returned.
//
// Everything else is ambiguous and never retried: a reset, EOF or timeout
// after the request was sent, a response that could not be read, and every
// 5xx. DynamoDB documents that after a 500 on a write "the operation may have
// succeeded or failed"; it says nothing of the kind for 503 ServiceUnavailable,
// so that is treated as ambiguous too. An ambiguous outcome is reported as
// ErrOutcomeUnknown, a not-applied one that ran out of attempts or time as
// ErrNotApplied; admission then fails open (counted) or closed.
//
// Retries are bounded: at most addAttempts attempts with jittered exponential
// backoff (1.15 s of waiting at most), none once the caller's context would
// end first, and after a connection failure none once addBudget has passed
// since the first attempt. A refused connection costs milliseconds, so an
// outage adds about a second to a request; a throttled answer under load may
// take long to come, so only attempts and the deadline bound its retries.
//
// Why not make the ADD idempotent instead. DynamoDB has no idempotency token
// for UpdateItem. TransactWriteItems has one (ClientRequestToken, honoured for
// 10 minutes; the SDK fills it in), but every limit check would become a
// transaction: AWS bills a transactional write at twice the write units of a
// plain one (DynamoDB Local reports 4 write units for the one-item transaction
// against 1 for this UpdateItem; a replay costs 2 read units there), and on
// AWS concurrent transactions on one item (a hot counter) cancel each other
// with TransactionConflict (DynamoDB Local serializes them instead). Storing request tokens in the counter item
// (a set, or a ring of slots) either grows the item past 1 KB, so every write
// costs more units, or cannot tell "not applied" from "overwritten" under
// concurrency. A plain conditional ADD at 1 write unit, retried only when
// provably not applied, keeps the count exact in every case but the
// ambiguous one, and that one is counted where it happens.
const (
	addAttempts  = 6
	addBaseDelay = 50 * time.Millisecond
	addMaxDelay  = 400 * time.Millisecond
	addBudget    = 1500 * time.Millisecond
)

// ErrOutcomeUnknown marks a counter write that reached DynamoDB, or may have,
// without an answer: it may or may not have been applied.
var ErrOutcomeUnknown = errors.New("outcome unknown (the request may have been applied)")

// ErrNotApplied marks a counter write that provably did not apply and could
// not be retried to an answer within its attempts and time.
var ErrNotApplied = errors.New("not applied")

// writeError wraps the last attempt's error with what is known of it.
type writeError struct {
	kind     error // ErrOutcomeUnknown or ErrNotApplied
	attempts int
	err      error
}

func (e *writeError) Error() string {
	return fmt.Sprintf("%v after %d attempt(s): %v", e.kind, e.attempts, e.err)
}

func (e *writeError) Unwrap() []error { return []error{e.kind, e.err} }

// addItem sends one counter UpdateItem, retrying attempts that provably did
// not apply (see above). A ConditionalCheckFailedException is returned as is.
func (d *db) addItem(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	first := time.Now()
	for attempt := 1; ; attempt++ {
		actx, tr := traceSend(ctx)
		out, err := d.api.UpdateItem(actx, in, d.once()...)
		if err == nil {
			return out, nil
		}
		applied, retry := classify(err, tr.sent())
		switch {
		case applied == maybe:
			return nil, &writeError{ErrOutcomeUnknown, attempt, err}
		case !retry && ctx.Err() != nil:
			return nil, &writeError{ErrNotApplied, attempt, err}
		case !retry:
			return nil, err // DynamoDB's own answer (a failed condition, a bad request): nothing was written
		case attempt == addAttempts:
			return nil, &writeError{ErrNotApplied, attempt, err}
		}
		delay := backoff(attempt)
		if !answered(err) && time.Since(first)+delay > addBudget {
			return nil, &writeError{ErrNotApplied, attempt, err}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return nil, &writeError{ErrNotApplied, attempt, err}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &writeError{ErrNotApplied, attempt, err}
		case <-t.C:
		}
	}
}

// answered reports an error that DynamoDB itself sent (a throttle): the table
// is there and busy, so its retries are bounded by attempts and the caller's
// deadline only, not by addBudget, which is for a store that cannot be
// reached (a slow answer under load must not use up the retries).
func answered(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() != 0
}

// backoff is the wait before attempt+1: "equal jitter", half fixed and half
// random, of addBaseDelay doubled per attempt up to addMaxDelay.
func backoff(attempt int) time.Duration {
	d := min(addBaseDelay<<(attempt-1), addMaxDelay)
	return d/2 + rand.N(d/2+1)
}

type applied int

const (
	no applied = iota
	maybe
)

// classify tells whether a failed attempt may have applied, and whether
// sending it again is safe and useful. sent is what the attempt's trace saw.
func classify(err error, sent bool) (a applied, retry bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return no, false
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) { // no response: the HTTP round trip failed
		if !sent || isDialError(err) {
			return no, true
		}
		return maybe, false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 { // a response came back
		if status := re.HTTPStatusCode(); status < 400 || status >= 500 {
			// A 2xx whose body could not be read applied; a 5xx may have.
			return maybe, false
		}
		var api smithy.APIError
		if errors.As(err, &api) && transientRejection[api.ErrorCode()] {
			return no, true
		}
		return no, false
	}
	if sent {
		return maybe, false // not expected: a request went out, and no response explains the error
	}
	// Failed before any request was sent (parameters, credentials, signing,
	// a cancelled context): nothing reached DynamoDB, and trying again would
	// fail the same way.
	return no, false
}

// transientRejection are the error codes of a DynamoDB HTTP 400 answer that
// rejected the request before it was executed and that can pass on a retry.
var transientRejection = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"TransactionConflictException":           true,
}

// isDialError reports a failure to connect (nothing was sent): refused, DNS,
// unreachable, or a reset during the handshake.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && strings.EqualFold(op.Op, "dial") {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// sendTrace records whether an attempt's request may have reached the
// server. It counts writes rather than keeping a flag, because the transport
// may write one request more than once (a second connection after the first
// failed before anything was sent on it).
type sendTrace struct {
	mu                        sync.Mutex
	headers, complete, failed int
}

// traceSend returns ctx with a trace of the HTTP request the SDK sends with it.
func traceSend(ctx context.Context) (context.Context, *sendTrace) {
	tr := &sendTrace{}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() {
			tr.mu.Lock()
			tr.headers++
			tr.mu.Unlock()
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			tr.mu.Lock()
			if info.Err != nil {
				tr.failed++
			} else {
				tr.complete++
			}
			tr.mu.Unlock()
		},
	}), tr
}

// sent reports whether the whole request may have been written: one write
// completed, or headers went out more often than writes failed (a write whose
// end is not known yet counts as sent).
func (t *sendTrace) sent() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.complete > 0 || t.headers > t.failed
}

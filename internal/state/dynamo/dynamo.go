// Package dynamo implements the gateway state (keys, limits, spend, cache) on
// one DynamoDB table, laid out as state.go describes. Every read ignores items
// whose `ttl` has passed, since DynamoDB's TTL deletion lags by up to two days.
//
// DynamoDB calls per operation (see CallCounter):
//
//	Limits.Take        1 UpdateItem (conditional ADD; a refusal costs nothing more)
//	Limits.Adjust      1 UpdateItem
//	KeyUses.Reserve    1 UpdateItem (one condition over every window and capped budget;
//	                   a check that adds nothing: 1 GetItem)
//	KeyUses.Settle     1 UpdateItem (none when there is nothing to add)
//	Spend.Add          1 UpdateItem
//	Spend.Get          1 GetItem
//	Keys.ByHash        1 GetItem (eventually consistent; a second, strongly consistent, when it finds nothing)
//	Keys.ByID          2 GetItem (index, then key; one more for a key indexed the old way)
//	Keys.Create        1 TransactWriteItems (up to 3 when cancelled by a concurrent transaction)
//	Keys.SetEnabled    1 GetItem + 1 UpdateItem
//	Keys.Delete        1 GetItem + 1 TransactWriteItems (same retry)
//	Keys.List          1 Query of the key index per page + 1 BatchGetItem per 100 keys (admin only)
//	Cache.Get          1 GetItem
//	Cache.Put          1 PutItem (none when refused)
//
// Spend and the key index are read strongly consistent; a key by hash and
// the cache eventually consistent (half the read cost; see Keys for when a
// key takes effect; a cache miss right after a put is harmless).
// The client's own retries (NewClient: 3 attempts) come on top, except for
// the counter ADDs (Limits, KeyUses, Spend.Add): those are sent
// again only when an attempt provably did not apply (write.go), each retry a
// call of its own.
package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
)

// API is the part of *dynamodb.Client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Option tunes a store.
type Option func(*db)

// WithClock sets the clock that decides expiry on read and the ttl of cache
// entries (default time.Now). Tests use it to expire items without waiting.
func WithClock(now func() time.Time) Option {
	return func(d *db) {
		if now != nil {
			d.now = now
		}
	}
}

// WithCallCounter counts every call the store makes in c.
func WithCallCounter(c *CallCounter) Option {
	return func(d *db) { d.callOpts = append(d.callOpts, c.ClientOption()) }
}

// New returns the four stores on table, through client (usually a
// *dynamodb.Client from NewClient).
func New(client API, table string, opts ...Option) *state.Store {
	d := &db{api: client, table: table, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	uses := &KeyUses{d: d}
	return &state.Store{
		Keys:    &Keys{d},
		Limits:  &Limits{d},
		Spend:   &Spend{uses},
		KeyUses: uses,
		Cache:   &Cache{d},
		Name:    "dynamodb",
		// Responses: stored responses of POST /v1/responses (responses.go).
		Responses: &Responses{d},
	}
}

// db is what the four stores share.
type db struct {
	api      API
	table    string
	now      func() time.Time
	callOpts []func(*dynamodb.Options)
}

// Attribute names.
const (
	attrPK  = "pk"
	attrSK  = "sk"
	attrTTL = "ttl"
)

func (d *db) key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(pk), attrSK: s(sk)}
}

// batchGet reads the items of keys (at most 100) strongly consistent, with
// one BatchGetItem and follow-ups for what DynamoDB leaves unprocessed (up
// to unprocessedRetries); absent items are left out.
func (d *db) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{d.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > unprocessedRetries {
			return nil, fmt.Errorf("items still unprocessed after %d retries", unprocessedRetries)
		}
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		out, err := d.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req}, d.callOpts...)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Responses[d.table]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}

// expired reports whether item has a ttl at or before the store's now.
func (d *db) expired(item map[string]types.AttributeValue) bool {
	ttl, ok := getInt(item, attrTTL)
	return ok && d.now().Unix() >= ttl
}

// epoch is t as a DynamoDB TTL value: whole seconds, rounded up, so that an
// item never expires before t.
func epoch(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func getString(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getInt(item map[string]types.AttributeValue, name string) (int64, bool) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	return i, err == nil
}

func getBool(item map[string]types.AttributeValue, name string) bool {
	v, ok := item[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

// once returns the call options of a non-idempotent write (an ADD): the SDK
// must not retry it, because a retried request whose first attempt did reach
// the table would count twice. addItem retries what provably did not apply
// and reports the rest (limits then fail open or closed by configuration).
func (d *db) once() []func(*dynamodb.Options) {
	return append(append([]func(*dynamodb.Options){}, d.callOpts...), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
}

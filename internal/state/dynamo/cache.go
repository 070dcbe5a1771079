package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
)

// Cache is the DynamoDB state.Cache: item pk=CACHE#<key>, sk=CACHE with the
// body (gzip-compressed when larger than CompressAbove), its content type, the
// target that produced it, and a ttl.
type Cache struct{ d *db }

var _ state.Cache = (*Cache)(nil)

// Body size rules. A DynamoDB item holds at most 400 KB.
const (
	// CompressAbove: bodies larger than this are stored gzip-compressed.
	CompressAbove = 32 << 10
	// MaxStoredBody: a body still larger than this after compression is not
	// cached (Put returns an error, which callers ignore).
	MaxStoredBody = 350 << 10
)

const (
	skCache      = "CACHE"
	attrBody     = "body"
	attrGzip     = "gz"
	attrCT       = "ct"
	attrProvider = "provider"
	attrModel    = "model"
)

// Get implements state.Cache with one GetItem (eventually consistent: a cache
// may lag). An item whose ttl has passed is a miss even if DynamoDB still has it.
func (c *Cache) Get(ctx context.Context, key string) (*state.CacheEntry, error) {
	out, err := c.d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.d.table),
		Key:       c.d.key("CACHE#"+key, skCache),
	}, c.d.callOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: cache get: %w", err)
	}
	if out.Item == nil || c.d.expired(out.Item) {
		return nil, state.ErrNotFound
	}
	e := &state.CacheEntry{
		ContentType: getString(out.Item, attrCT),
		Provider:    getString(out.Item, attrProvider),
		Model:       getString(out.Item, attrModel),
	}
	if ns, ok := getInt(out.Item, attrCreated); ok {
		e.Created = time.Unix(0, ns).UTC()
	}
	if b, ok := out.Item[attrBody].(*types.AttributeValueMemberB); ok {
		e.Body = b.Value
	}
	if getBool(out.Item, attrGzip) {
		zr, err := gzip.NewReader(bytes.NewReader(e.Body))
		if err != nil {
			return nil, fmt.Errorf("dynamo: cache get: corrupt body: %w", err)
		}
		if e.Body, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("dynamo: cache get: corrupt body: %w", err)
		}
	}
	if e.Body == nil {
		e.Body = []byte{}
	}
	return e, nil
}

// Put implements state.Cache with one PutItem. A non-positive ttl stores
// nothing; a body over MaxStoredBody after compression is refused.
func (c *Cache) Put(ctx context.Context, key string, e *state.CacheEntry, ttl time.Duration) error {
	if e == nil || ttl <= 0 {
		return nil
	}
	body, gz := e.Body, false
	if len(body) > CompressAbove {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("dynamo: cache put: compress: %w", err)
		}
		body, gz = buf.Bytes(), true
	}
	if len(body) > MaxStoredBody {
		return fmt.Errorf("dynamo: cache put: body of %d bytes is %d after compression, over the %d limit", len(e.Body), len(body), MaxStoredBody)
	}
	item := c.d.key("CACHE#"+key, skCache)
	item[attrBody] = &types.AttributeValueMemberB{Value: body}
	item[attrTTL] = num(epoch(c.d.now().Add(ttl)))
	if gz {
		item[attrGzip] = &types.AttributeValueMemberBOOL{Value: true}
	}
	for name, v := range map[string]string{attrCT: e.ContentType, attrProvider: e.Provider, attrModel: e.Model} {
		if v != "" {
			item[name] = s(v)
		}
	}
	if !e.Created.IsZero() {
		item[attrCreated] = num(e.Created.UnixNano())
	}
	if _, err := c.d.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(c.d.table), Item: item}, c.d.callOpts...); err != nil {
		return fmt.Errorf("dynamo: cache put: %w", err)
	}
	return nil
}

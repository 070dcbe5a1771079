package dynamo

import (
	"context"
	"fmt"
	"maps"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// CallCounter counts DynamoDB operations by name ("GetItem", "UpdateItem", ...):
// one per API call, whatever its retries. Tests use it to pin the number of
// calls a request costs. Install it on a client (ClientOption) or on a store
// (WithCallCounter), not both. Safe for concurrent use; the zero value is ready.
type CallCounter struct {
	mu sync.Mutex
	m  map[string]int64
}

// ClientOption returns an option for dynamodb.New, dynamodb.NewFromConfig or
// NewClient that counts every call made through that client.
func (c *CallCounter) ClientOption() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, c.middleware) }
}

func (c *CallCounter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(fmt.Sprintf("gatewayCallCounter%p", c),
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.add(awsmiddleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (c *CallCounter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[op]++
}

// Count returns the number of calls of operation op.
func (c *CallCounter) Count(op string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[op]
}

// Total returns the number of calls of every operation.
func (c *CallCounter) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, v := range c.m {
		n += v
	}
	return n
}

// Snapshot returns a copy of the counts by operation name.
func (c *CallCounter) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// Reset sets every count back to zero.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/memory"
)

// Limits is the DynamoDB state.Limits: item pk=RL#<name>, sk=<window start,
// RFC 3339 UTC>, attribute `c`, ttl = memory.CounterExpiry of the window.
type Limits struct{ d *db }

var _ state.Limits = (*Limits)(nil)

const attrCount = "c"

func counterKey(w state.Window, start time.Time) (pk, sk string) {
	return "RL#" + w.Name, start.UTC().Format(time.RFC3339Nano)
}

// Take implements state.Limits with one conditional UpdateItem:
// ADD c n if c is absent or c <= limit-n. A refusal reports the current count
// from the same call (ReturnValuesOnConditionCheckFailure), or -1. An attempt
// that provably did not apply is sent again (addItem); an ambiguous one is
// an error wrapping ErrOutcomeUnknown.
func (l *Limits) Take(ctx context.Context, w state.Window, now time.Time, n, limit int64) (state.TakeResult, error) {
	if w.Size <= 0 {
		return state.TakeResult{}, fmt.Errorf("dynamo: take %q: window size must be positive", w.Name)
	}
	if n < 0 {
		return state.TakeResult{}, fmt.Errorf("dynamo: take %q: n must not be negative", w.Name)
	}
	start := w.Start(now)
	res := state.TakeResult{Reset: start.Add(w.Size), Count: -1}
	if n > limit {
		// Even an empty window could not take it; the condition below would
		// let it through on a new item, so refuse here without a call.
		return res, nil
	}
	pk, sk := counterKey(w, start)
	out, err := l.d.addItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(l.d.table),
		Key:                                 l.d.key(pk, sk),
		UpdateExpression:                    aws.String("ADD #c :n SET #ttl = if_not_exists(#ttl, :ttl)"),
		ConditionExpression:                 aws.String("attribute_not_exists(#c) OR #c <= :max"),
		ExpressionAttributeNames:            map[string]string{"#c": attrCount, "#ttl": attrTTL},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":n": num(n), ":max": num(limit - n), ":ttl": num(epoch(memory.CounterExpiry(w, start)))},
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		if c, ok := getInt(ccf.Item, attrCount); ok {
			res.Count = c
		}
		return res, nil
	case err != nil:
		return state.TakeResult{}, fmt.Errorf("dynamo: take %q: %w", w.Name, err)
	}
	res.Allowed = true
	if c, ok := getInt(out.Attributes, attrCount); ok {
		res.Count = c
	}
	return res, nil
}

// Adjust implements state.Limits with one unconditional UpdateItem (ADD).
func (l *Limits) Adjust(ctx context.Context, w state.Window, at time.Time, delta int64) error {
	if w.Size <= 0 {
		return fmt.Errorf("dynamo: adjust %q: window size must be positive", w.Name)
	}
	start := w.Start(at)
	pk, sk := counterKey(w, start)
	_, err := l.d.addItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.d.table),
		Key:                       l.d.key(pk, sk),
		UpdateExpression:          aws.String("ADD #c :d SET #ttl = if_not_exists(#ttl, :ttl)"),
		ExpressionAttributeNames:  map[string]string{"#c": attrCount, "#ttl": attrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(delta), ":ttl": num(epoch(memory.CounterExpiry(w, start)))},
	})
	if err != nil {
		return fmt.Errorf("dynamo: adjust %q: %w", w.Name, err)
	}
	return nil
}

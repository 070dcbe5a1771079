package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
	"github.com/aigateway/gateway/internal/state/memory"
)

// Spend is the DynamoDB state.Spend: items pk=SPEND#<key-id>, sk=TOTAL |
// DAY#<yyyy-mm-dd> | MONTH#<yyyy-mm> (UTC), attribute `usd_micros`. Day and
// month items carry a ttl (memory.DayExpiry, memory.MonthExpiry); TOTAL none.
type Spend struct{ d *db }

var _ state.Spend = (*Spend)(nil)

const (
	attrMicros = "usd_micros"
	skTotal    = "TOTAL"
	// unprocessedRetries bounds the BatchGetItem follow-ups for unprocessed keys.
	unprocessedRetries = 5
)

func spendPK(keyID string) string { return "SPEND#" + keyID }

func daySK(at time.Time) string   { return "DAY#" + at.UTC().Format(memory.DayLayout) }
func monthSK(at time.Time) string { return "MONTH#" + at.UTC().Format(memory.MonthLayout) }

// Add implements state.Spend with three concurrent UpdateItem ADDs (each
// atomic). Not one TransactWriteItems: a transaction costs twice the write
// units and fails with TransactionConflict when requests of the same key
// settle at the same time. A day or month already expired is not written.
func (sp *Spend) Add(ctx context.Context, keyID string, at time.Time, micros int64) error {
	now := sp.d.now()
	type item struct {
		sk  string
		ttl time.Time
	}
	items := []item{{sk: skTotal}}
	if exp := memory.DayExpiry(at); now.Before(exp) {
		items = append(items, item{daySK(at), exp})
	}
	if exp := memory.MonthExpiry(at); now.Before(exp) {
		items = append(items, item{monthSK(at), exp})
	}
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			in := &dynamodb.UpdateItemInput{
				TableName:                 aws.String(sp.d.table),
				Key:                       sp.d.key(spendPK(keyID), it.sk),
				UpdateExpression:          aws.String("ADD #m :m"),
				ExpressionAttributeNames:  map[string]string{"#m": attrMicros},
				ExpressionAttributeValues: map[string]types.AttributeValue{":m": num(micros)},
			}
			if !it.ttl.IsZero() {
				in.UpdateExpression = aws.String("ADD #m :m SET #ttl = if_not_exists(#ttl, :ttl)")
				in.ExpressionAttributeNames["#ttl"] = attrTTL
				in.ExpressionAttributeValues[":ttl"] = num(epoch(it.ttl))
			}
			if _, err := sp.d.addItem(ctx, in); err != nil {
				errs[i] = fmt.Errorf("dynamo: spend add %s %s: %w", keyID, it.sk, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Get implements state.Spend with one BatchGetItem of the three items
// (strongly consistent reads). Absent or expired items count as zero.
func (sp *Spend) Get(ctx context.Context, keyID string, at time.Time) (state.SpendTotals, error) {
	pk := spendPK(keyID)
	day, month := daySK(at), monthSK(at)
	req := map[string]types.KeysAndAttributes{sp.d.table: {
		Keys:           []map[string]types.AttributeValue{sp.d.key(pk, skTotal), sp.d.key(pk, day), sp.d.key(pk, month)},
		ConsistentRead: aws.Bool(true),
	}}
	var t state.SpendTotals
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > unprocessedRetries {
			return state.SpendTotals{}, fmt.Errorf("dynamo: spend get %s: keys still unprocessed after %d retries", keyID, unprocessedRetries)
		}
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			case <-ctx.Done():
				return state.SpendTotals{}, ctx.Err()
			}
		}
		out, err := sp.d.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req}, sp.d.callOpts...)
		if err != nil {
			return state.SpendTotals{}, fmt.Errorf("dynamo: spend get %s: %w", keyID, err)
		}
		for _, item := range out.Responses[sp.d.table] {
			if sp.d.expired(item) {
				continue
			}
			v, _ := getInt(item, attrMicros)
			switch getString(item, attrSK) {
			case skTotal:
				t.TotalMicros = v
			case day:
				t.DayMicros = v
			case month:
				t.MonthMicros = v
			}
		}
		req = out.UnprocessedKeys
	}
	return t, nil
}

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
	return sp.Adjust(ctx, keyID, at, state.SpendAmounts{Total: micros, Day: micros, Month: micros})
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

// spendItem is one period's item: its sort key, ttl (zero for TOTAL) and name.
type spendItem struct {
	sk, period string
	ttl        time.Time
}

// periods are the items a moment's spend goes to, with the amounts for each.
func periods(at time.Time, a state.SpendAmounts) []struct {
	spendItem
	amount int64
} {
	return []struct {
		spendItem
		amount int64
	}{
		{spendItem{skTotal, "total", time.Time{}}, a.Total},
		{spendItem{daySK(at), "daily", memory.DayExpiry(at)}, a.Day},
		{spendItem{monthSK(at), "monthly", memory.MonthExpiry(at)}, a.Month},
	}
}

// addOne adds micros to one period's item; with limit > 0 only while the
// item's spend is below limit (else *types.ConditionalCheckFailedException).
// It is retried only when it provably did not apply (see addItem): a retry
// whose first attempt applied would count twice.
func (sp *Spend) addOne(ctx context.Context, keyID string, it spendItem, micros, limit int64) error {
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
	if limit > 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#m) OR #m < :cap")
		in.ExpressionAttributeValues[":cap"] = num(limit)
	}
	_, err := sp.d.addItem(ctx, in)
	return err
}

// Reserve implements state.Spend: one conditional UpdateItem ADD per capped
// period, concurrently; when one is refused the others are given back.
// (A period whose item has expired by DynamoDB's clock but not yet been
// deleted still holds its old spend: days and months are keyed by date, so a
// new period always starts on a new item.)
func (sp *Spend) Reserve(ctx context.Context, keyID string, at time.Time, micros int64, caps state.SpendAmounts) (state.SpendAmounts, error) {
	ps := periods(at, caps)
	reserved := make([]bool, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		if p.amount <= 0 {
			continue
		}
		wg.Go(func() {
			errs[i] = sp.addOne(ctx, keyID, p.spendItem, micros, p.amount)
			reserved[i] = errs[i] == nil
		})
	}
	wg.Wait()
	var out state.SpendAmounts
	var failed error
	for i, p := range ps {
		var ccf *types.ConditionalCheckFailedException
		switch {
		case errors.As(errs[i], &ccf):
			if failed == nil {
				failed = &state.OverBudget{Period: p.period}
			}
		case errs[i] != nil:
			failed = fmt.Errorf("dynamo: spend reserve %s %s: %w", keyID, p.sk, errs[i])
		}
	}
	if failed == nil {
		return state.SpendAmounts{Total: pick(reserved[0], micros), Day: pick(reserved[1], micros), Month: pick(reserved[2], micros)}, nil
	}
	for i, p := range ps {
		if reserved[i] {
			if err := sp.addOne(context.WithoutCancel(ctx), keyID, p.spendItem, -micros, 0); err != nil {
				return out, errors.Join(failed, fmt.Errorf("dynamo: spend give back %s %s: %w", keyID, p.sk, err))
			}
		}
	}
	return out, failed
}

func pick(ok bool, v int64) int64 {
	if ok {
		return v
	}
	return 0
}

// Adjust implements state.Spend: one UpdateItem ADD per non-zero amount,
// concurrently. A day or month already expired is not written.
func (sp *Spend) Adjust(ctx context.Context, keyID string, at time.Time, d state.SpendAmounts) error {
	now := sp.d.now()
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range periods(at, d) {
		if p.amount == 0 || (!p.ttl.IsZero() && !now.Before(p.ttl)) {
			continue
		}
		wg.Go(func() {
			if err := sp.addOne(ctx, keyID, p.spendItem, p.amount, 0); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("dynamo: spend adjust %s %s: %w", keyID, p.sk, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
)

// Keys is the DynamoDB state.Keys: the key item pk=KEY#<hash>, sk=KEY holds the
// record; the index item pk=KEYS, sk=<id> holds the hash, so that every key's
// index is one item collection: listing keys is a Query of it (and a
// BatchGetItem of the records), never a Scan of the table. Index items of
// keys created before that layout, pk=KEYID#<id>, sk=KEY, are still read by
// id (get, disable, delete), and listed once ReindexKeys has moved them.
//
// A key is looked up by hash eventually consistently (half the read units),
// and again strongly consistently when that finds nothing, so a key works as
// soon as its Create returns; a disable reaches a cold instance within about
// a second (DynamoDB's replication), an instance that cached the key within
// its key cache TTL. Index reads are strongly consistent.
type Keys struct{ d *db }

var _ state.Keys = (*Keys)(nil)

const (
	skKey      = "KEY"
	prefixKey  = "KEY#"
	prefixID   = "KEYID#" // the index before pkIndex (read, not written)
	pkIndex    = "KEYS"
	attrHash   = "hash"
	attrID     = "id"
	attrEnable = "enabled"
)

// Create implements state.Keys: one TransactWriteItems puts the key and its
// index item, each only if absent; ErrExists when either is taken (then neither
// is written).
func (k *Keys) Create(ctx context.Context, key *state.Key) error {
	if key == nil || key.ID == "" || key.Hash == "" {
		return fmt.Errorf("dynamo: create key: id and hash are required")
	}
	index := k.d.key(pkIndex, key.ID)
	index[attrHash] = s(key.Hash)
	notExists := aws.String("attribute_not_exists(pk)")
	err := k.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(k.d.table), Item: k.marshal(key), ConditionExpression: notExists}},
		{Put: &types.Put{TableName: aws.String(k.d.table), Item: index, ConditionExpression: notExists}},
	})
	if conditionFailed(err) {
		return state.ErrExists
	}
	if err != nil {
		return fmt.Errorf("dynamo: create key %s: %w", key.ID, err)
	}
	return nil
}

// ByHash implements state.Keys with one eventually consistent GetItem, and a
// strongly consistent one when that finds nothing.
func (k *Keys) ByHash(ctx context.Context, hash string) (*state.Key, error) {
	for _, consistent := range []bool{false, true} {
		out, err := k.d.api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(k.d.table),
			Key:            k.d.key(prefixKey+hash, skKey),
			ConsistentRead: aws.Bool(consistent),
		}, k.d.callOpts...)
		if err != nil {
			return nil, fmt.Errorf("dynamo: key by hash: %w", err)
		}
		if out.Item != nil {
			return unmarshalKey(out.Item)
		}
	}
	return nil, state.ErrNotFound
}

// ByID implements state.Keys: GetItem of the index, then of the key.
func (k *Keys) ByID(ctx context.Context, id string) (*state.Key, error) {
	hash, err := k.hashOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return k.ByHash(ctx, hash)
}

// List implements state.Keys with a Query of the index (pk=KEYS), page by
// page, and a BatchGetItem of the records, 100 at a time: it reads only the
// keys, whatever else the table holds.
func (k *Keys) List(ctx context.Context) ([]*state.Key, error) {
	var hashes []string
	p := dynamodb.NewQueryPaginator(k.d.api, &dynamodb.QueryInput{
		TableName:                 aws.String(k.d.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(pkIndex)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx, k.d.callOpts...)
		if err != nil {
			return nil, fmt.Errorf("dynamo: list keys: %w", err)
		}
		for _, item := range page.Items {
			if h := getString(item, attrHash); h != "" {
				hashes = append(hashes, h)
			}
		}
	}
	var keys []*state.Key
	for chunk := range slices.Chunk(hashes, 100) {
		items, err := k.batchGet(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			key, err := unmarshalKey(item)
			if err != nil {
				return nil, err
			}
			keys = append(keys, key)
		}
	}
	slices.SortFunc(keys, func(a, b *state.Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return keys, nil
}

// unprocessedRetries bounds the BatchGetItem follow-ups for unprocessed keys.
const unprocessedRetries = 5

// batchGet reads the key records of hashes (at most 100). A hash whose
// record is gone (deleted between the Query and now) is skipped.
func (k *Keys) batchGet(ctx context.Context, hashes []string) ([]map[string]types.AttributeValue, error) {
	ks := make([]map[string]types.AttributeValue, len(hashes))
	for i, h := range hashes {
		ks[i] = k.d.key(prefixKey+h, skKey)
	}
	items, err := k.d.batchGet(ctx, ks)
	if err != nil {
		return nil, fmt.Errorf("dynamo: list keys: %w", err)
	}
	return items, nil
}

// SetEnabled implements state.Keys: GetItem of the index, then an UpdateItem
// of the key conditional on its existence.
func (k *Keys) SetEnabled(ctx context.Context, id string, enabled bool) error {
	hash, err := k.hashOf(ctx, id)
	if err != nil {
		return err
	}
	_, err = k.d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(k.d.table),
		Key:                       k.d.key(prefixKey+hash, skKey),
		UpdateExpression:          aws.String("SET #e = :e"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #id = :id"),
		ExpressionAttributeNames:  map[string]string{"#e": attrEnable, "#id": attrID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberBOOL{Value: enabled}, ":id": s(id)},
	}, k.d.callOpts...)
	if conditionFailed(err) {
		return state.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("dynamo: set enabled %s: %w", id, err)
	}
	return nil
}

// Delete implements state.Keys: GetItem of the index, then one
// TransactWriteItems deleting both items, each conditional on existence.
func (k *Keys) Delete(ctx context.Context, id string) error {
	hash, index, err := k.index(ctx, id)
	if err != nil {
		return err
	}
	err = k.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                 aws.String(k.d.table),
			Key:                       k.d.key(prefixKey+hash, skKey),
			ConditionExpression:       aws.String("attribute_exists(pk) AND #id = :id"),
			ExpressionAttributeNames:  map[string]string{"#id": attrID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": s(id)},
		}},
		{Delete: &types.Delete{
			TableName:                 aws.String(k.d.table),
			Key:                       index,
			ConditionExpression:       aws.String("#h = :h"),
			ExpressionAttributeNames:  map[string]string{"#h": attrHash},
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": s(hash)},
		}},
	})
	if conditionFailed(err) {
		return state.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("dynamo: delete key %s: %w", id, err)
	}
	return nil
}

// hashOf reads the index item of id.
func (k *Keys) hashOf(ctx context.Context, id string) (string, error) {
	hash, _, err := k.index(ctx, id)
	return hash, err
}

// index reads the index item of id, where keys are indexed now and, when it
// is not there, where they were (KEYID#<id>); it returns the hash and the
// item's key.
func (k *Keys) index(ctx context.Context, id string) (string, map[string]types.AttributeValue, error) {
	for _, at := range []map[string]types.AttributeValue{k.d.key(pkIndex, id), k.d.key(prefixID+id, skKey)} {
		out, err := k.d.api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(k.d.table),
			Key:            at,
			ConsistentRead: aws.Bool(true),
		}, k.d.callOpts...)
		if err != nil {
			return "", nil, fmt.Errorf("dynamo: key index %s: %w", id, err)
		}
		if hash := getString(out.Item, attrHash); hash != "" {
			return hash, at, nil
		}
	}
	return "", nil, state.ErrNotFound
}

// transactAttempts bounds the tries of a transaction that DynamoDB cancels
// because another one was touching the same items (TransactionConflict).
const transactAttempts = 3

// transact runs one TransactWriteItems, again (up to transactAttempts) when it
// was cancelled only by a conflict with a concurrent write.
func (k *Keys) transact(ctx context.Context, items []types.TransactWriteItem) error {
	for attempt := 1; ; attempt++ {
		_, err := k.d.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}, k.d.callOpts...)
		if err == nil || conditionFailed(err) || !conflicted(err) || attempt == transactAttempts {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// conflicted reports whether err is a transaction cancelled by a conflict.
func conflicted(err error) bool {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
	}
	return false
}

// conditionFailed reports whether err is a failed condition, of a single write
// or of any item of a transaction.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

// Key item attributes besides pk, sk.
const (
	attrName      = "name"
	attrOwner     = "owner"
	attrTeam      = "team"
	attrCreated   = "created_ns"
	attrExpires   = "expires_ns"
	attrModels    = "models"
	attrProviders = "providers"
	attrRPM       = "rpm"
	attrRPH       = "rph"
	attrTPM       = "tpm"
	attrShards    = "shards"
	attrBudTotal  = "budget_total_usd"
	attrBudDay    = "budget_daily_usd"
	attrBudMonth  = "budget_monthly_usd"
	attrMeta      = "meta"
)

func (k *Keys) marshal(key *state.Key) map[string]types.AttributeValue {
	item := k.d.key(prefixKey+key.Hash, skKey)
	item[attrID] = s(key.ID)
	item[attrHash] = s(key.Hash)
	item[attrEnable] = &types.AttributeValueMemberBOOL{Value: key.Enabled}
	putString := func(name, v string) {
		if v != "" {
			item[name] = s(v)
		}
	}
	putInt := func(name string, v int64) {
		if v != 0 {
			item[name] = num(v)
		}
	}
	putTime := func(name string, t time.Time) {
		if !t.IsZero() {
			item[name] = num(t.UnixNano())
		}
	}
	putFloat := func(name string, v float64) {
		if v != 0 {
			item[name] = &types.AttributeValueMemberN{Value: strconv.FormatFloat(v, 'g', -1, 64)}
		}
	}
	putList := func(name string, vs []string) {
		if len(vs) > 0 {
			l := make([]types.AttributeValue, len(vs))
			for i, v := range vs {
				l[i] = s(v)
			}
			item[name] = &types.AttributeValueMemberL{Value: l}
		}
	}
	putString(attrName, key.Name)
	putString(attrOwner, key.Owner)
	putString(attrTeam, key.Team)
	putTime(attrCreated, key.CreatedAt)
	putTime(attrExpires, key.ExpiresAt)
	putList(attrModels, key.AllowedModels)
	putList(attrProviders, key.AllowedProviders)
	putInt(attrRPM, key.Limits.RequestsPerMinute)
	putInt(attrRPH, key.Limits.RequestsPerHour)
	putInt(attrTPM, key.Limits.TokensPerMinute)
	putInt(attrShards, key.Limits.Shards)
	putFloat(attrBudTotal, key.Budget.TotalUSD)
	putFloat(attrBudDay, key.Budget.DailyUSD)
	putFloat(attrBudMonth, key.Budget.MonthlyUSD)
	if len(key.Metadata) > 0 {
		m := make(map[string]types.AttributeValue, len(key.Metadata))
		for name, v := range key.Metadata {
			m[name] = s(v)
		}
		item[attrMeta] = &types.AttributeValueMemberM{Value: m}
	}
	return item
}

func unmarshalKey(item map[string]types.AttributeValue) (*state.Key, error) {
	key := &state.Key{
		ID:      getString(item, attrID),
		Hash:    getString(item, attrHash),
		Name:    getString(item, attrName),
		Owner:   getString(item, attrOwner),
		Team:    getString(item, attrTeam),
		Enabled: getBool(item, attrEnable),
	}
	if key.ID == "" || key.Hash == "" {
		return nil, fmt.Errorf("dynamo: key item %s lacks id or hash", getString(item, attrPK))
	}
	getTime := func(name string) time.Time {
		if ns, ok := getInt(item, name); ok {
			return time.Unix(0, ns).UTC()
		}
		return time.Time{}
	}
	getInt0 := func(name string) int64 { v, _ := getInt(item, name); return v }
	getFloat := func(name string) float64 {
		if v, ok := item[name].(*types.AttributeValueMemberN); ok {
			f, _ := strconv.ParseFloat(v.Value, 64)
			return f
		}
		return 0
	}
	getList := func(name string) []string {
		l, ok := item[name].(*types.AttributeValueMemberL)
		if !ok {
			return nil
		}
		out := make([]string, 0, len(l.Value))
		for _, v := range l.Value {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				out = append(out, sv.Value)
			}
		}
		return out
	}
	key.CreatedAt = getTime(attrCreated)
	key.ExpiresAt = getTime(attrExpires)
	key.AllowedModels = getList(attrModels)
	key.AllowedProviders = getList(attrProviders)
	key.Limits = state.KeyLimits{RequestsPerMinute: getInt0(attrRPM), RequestsPerHour: getInt0(attrRPH), TokensPerMinute: getInt0(attrTPM),
		Shards: getInt0(attrShards)}
	key.Budget = state.Budget{TotalUSD: getFloat(attrBudTotal), DailyUSD: getFloat(attrBudDay), MonthlyUSD: getFloat(attrBudMonth)}
	if m, ok := item[attrMeta].(*types.AttributeValueMemberM); ok {
		key.Metadata = make(map[string]string, len(m.Value))
		for name, v := range m.Value {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				key.Metadata[name] = sv.Value
			}
		}
	}
	return key, nil
}

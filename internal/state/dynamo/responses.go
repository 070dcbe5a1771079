package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aigateway/gateway/internal/state"
)

// Responses is the DynamoDB state.Responses: item pk=RESP#<id>, sk=RESP with
// the owner key's id, the blob (gzip-compressed when larger than
// ResponseCompressAbove) and a ttl.
//
//	Responses.Put     1 PutItem (none when refused)
//	Responses.Get     1 GetItem, strongly consistent: a follow-up turn sent
//	                  right after the answer must find it
//	Responses.Delete  1 TransactWriteItems (a delete conditional on owner and
//	                  expiry; DeleteItem is not part of API)
type Responses struct{ d *db }

var _ state.Responses = (*Responses)(nil)

// ResponseCompressAbove: stored responses larger than this are compressed.
// They carry a conversation's whole history and grow with every turn, and
// JSON compresses several times over. Blobs over MaxStoredBody after
// compression are refused, as cache bodies are.
const ResponseCompressAbove = 4 << 10

const skResponse = "RESP"

// owner is the stored form of a key id: never empty (authentication off
// stores "k:"), so the condition on it is one comparison.
func owner(keyID string) types.AttributeValue { return s("k:" + keyID) }

// Put implements state.Responses with one PutItem.
func (r *Responses) Put(ctx context.Context, keyID, id string, blob []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	body, gz := blob, false
	if len(body) > ResponseCompressAbove {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("dynamo: responses put: compress: %w", err)
		}
		body, gz = buf.Bytes(), true
	}
	if len(body) > MaxStoredBody {
		return fmt.Errorf("dynamo: responses put: %d bytes are %d after compression, over the %d limit", len(blob), len(body), MaxStoredBody)
	}
	item := r.d.key("RESP#"+id, skResponse)
	item[attrOwner] = owner(keyID)
	item[attrBody] = &types.AttributeValueMemberB{Value: body}
	item[attrTTL] = num(epoch(r.d.now().Add(ttl)))
	if gz {
		item[attrGzip] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if _, err := r.d.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.d.table), Item: item}, r.d.callOpts...); err != nil {
		return fmt.Errorf("dynamo: responses put: %w", err)
	}
	return nil
}

// Get implements state.Responses with one strongly consistent GetItem. An
// item past its ttl, or of another owner, is not found.
func (r *Responses) Get(ctx context.Context, keyID, id string) ([]byte, error) {
	out, err := r.d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(r.d.table),
		Key:            r.d.key("RESP#"+id, skResponse),
		ConsistentRead: aws.Bool(true),
	}, r.d.callOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: responses get: %w", err)
	}
	if out.Item == nil || r.d.expired(out.Item) || getString(out.Item, attrOwner) != "k:"+keyID {
		return nil, state.ErrNotFound
	}
	var body []byte
	if b, ok := out.Item[attrBody].(*types.AttributeValueMemberB); ok {
		body = b.Value
	}
	if getBool(out.Item, attrGzip) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("dynamo: responses get: corrupt body: %w", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("dynamo: responses get: corrupt body: %w", err)
		}
	}
	if body == nil {
		body = []byte{}
	}
	return body, nil
}

// Delete implements state.Responses: one delete, conditional on the owner
// and on the item not having expired, so another key's id, an expired item
// DynamoDB still holds and an absent one are all ErrNotFound.
func (r *Responses) Delete(ctx context.Context, keyID, id string) error {
	_, err := r.d.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{
		Delete: &types.Delete{
			TableName:           aws.String(r.d.table),
			Key:                 r.d.key("RESP#"+id, skResponse),
			ConditionExpression: aws.String("#o = :o AND #ttl > :now"),
			ExpressionAttributeNames: map[string]string{
				"#o": attrOwner, "#ttl": attrTTL,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":o": owner(keyID), ":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(r.d.now().Unix(), 10)},
			},
		},
	}}}, r.d.callOpts...)
	switch {
	case err == nil:
		return nil
	case conditionFailed(err):
		return state.ErrNotFound
	}
	return fmt.Errorf("dynamo: responses delete: %w", err)
}

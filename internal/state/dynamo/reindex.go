package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ReindexAPI is what ReindexKeys calls: more than the gateway's API (a Scan,
// a DeleteItem), so that the functions' role never needs them.
type ReindexAPI interface {
	dynamodb.ScanAPIClient
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ ReindexAPI = (*dynamodb.Client)(nil)

// ReindexKeys moves the index items of keys created before the KEYS index
// (pk=KEYID#<id>) into it, so that Keys.List shows them: one Scan of the
// table (run by an operator once after upgrading, with the operator's own
// credentials: the gateway never scans), then per key a PutItem of its KEYS
// item (unless one holding another hash is there: that id is reported, not
// changed) and a DeleteItem of the old one. Run again, it moves nothing;
// interrupted, it goes on where it stopped. It returns the ids moved and
// the ids left.
func ReindexKeys(ctx context.Context, api ReindexAPI, table string) (moved, left []string, err error) {
	d := &db{table: table}
	p := dynamodb.NewScanPaginator(api, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          aws.String("begins_with(#pk, :old) AND #sk = :sk"),
		ProjectionExpression:      aws.String("#pk, #h"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK, "#h": attrHash},
		ExpressionAttributeValues: map[string]types.AttributeValue{":old": s(prefixID), ":sk": s(skKey)},
	}) // eventually consistent: nothing writes the old index any more
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return moved, left, fmt.Errorf("dynamo: reindex keys: %w", err)
		}
		for _, item := range page.Items {
			id, hash := strings.TrimPrefix(getString(item, attrPK), prefixID), getString(item, attrHash)
			if id == "" || hash == "" {
				continue
			}
			index := d.key(pkIndex, id)
			index[attrHash] = s(hash)
			_, err := api.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                 aws.String(table),
				Item:                      index,
				ConditionExpression:       aws.String("attribute_not_exists(pk) OR #h = :h"),
				ExpressionAttributeNames:  map[string]string{"#h": attrHash},
				ExpressionAttributeValues: map[string]types.AttributeValue{":h": s(hash)},
			})
			if conditionFailed(err) {
				left = append(left, id)
				continue
			}
			if err != nil {
				return moved, left, fmt.Errorf("dynamo: reindex key %s: %w", id, err)
			}
			_, err = api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName:                 aws.String(table),
				Key:                       d.key(prefixID+id, skKey),
				ConditionExpression:       aws.String("#h = :h"),
				ExpressionAttributeNames:  map[string]string{"#h": attrHash},
				ExpressionAttributeValues: map[string]types.AttributeValue{":h": s(hash)},
			})
			if err != nil && !conditionFailed(err) {
				return moved, left, fmt.Errorf("dynamo: reindex key %s: %w", id, err)
			}
			moved = append(moved, id)
		}
	}
	return moved, left, nil
}

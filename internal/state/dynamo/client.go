package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/sdkhttp"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Client tuning: a few quick retries, never a long stall on the request path.
// DynamoDB answers in milliseconds; an attempt still unanswered after
// requestTimeout is a stall, so a stalled table costs a call at most
// maxAttempts × requestTimeout (+ backoff), about 9.4 s: well inside the api
// function's 30 s and API Gateway's 29 s, so the client gets the gateway's
// own 503, not API Gateway's. An endpoint that is not AWS's (DynamoDB Local,
// LocalStack: a JVM on a developer's machine, seconds behind under a burst)
// gets localRequestTimeout instead.
const (
	maxAttempts         = 3
	maxBackoff          = 200 * time.Millisecond
	requestTimeout      = 3 * time.Second
	localRequestTimeout = 10 * time.Second
	dialTimeout         = 2 * time.Second
	idleConns           = 64
)

// NewClient builds a DynamoDB client from the default AWS configuration
// (environment, shared config, the Lambda role).
//
// endpoint overrides where requests go (DynamoDB Local: "http://127.0.0.1:8000");
// when empty, the SDK's own AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL apply,
// else the regional AWS endpoint. For an endpoint that is not AWS's, response
// checksums are not validated (DynamoDB Local's errors carry none), and when no
// credentials or region are configured, placeholders are used (DynamoDB Local
// accepts any). Retries are bounded: 3 attempts, backoff at most 200 ms; a
// call ends by its context's deadline, or by the one WithCallDeadline put on
// it if sooner.
// optFns run last, e.g. a CallCounter's ClientOption.
func NewClient(ctx context.Context, endpoint string, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	effective := endpoint
	if effective == "" {
		effective = firstEnv("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
	}
	local := effective != "" && !IsAWSEndpoint(effective)

	timeout := requestTimeout
	if local {
		timeout = localRequestTimeout
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(timeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = idleConns
			tr.MaxIdleConnsPerHost = idleConns
		})
	loadOpts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = maxBackoff
			})
		}),
	}
	if local {
		if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" && os.Getenv("AWS_PROFILE") == "" {
			loadOpts = append(loadOpts, config.WithRegion("us-east-1"))
		}
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
			loadOpts = append(loadOpts, config.WithCredentialsProvider(aws.CredentialsProviderFunc(
				func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "dynamodb-local"}, nil
				})))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: load AWS config: %w", err)
	}
	opts := append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		// BaseEndpoint already holds what the environment said, if anything.
		if o.BaseEndpoint != nil && !IsAWSEndpoint(*o.BaseEndpoint) {
			o.DisableValidateResponseChecksum = true
		}
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(callDeadline, middleware.Before)
		})
		// After LoadDefaultConfig, which needs the BuildableClient itself.
		o.HTTPClient = sdkhttp.ReadOnlyBodies(o.HTTPClient)
	}}, optFns...)
	return dynamodb.NewFromConfig(cfg, opts...), nil
}

type callDeadlineKey struct{}

// WithCallDeadline returns ctx carrying a deadline for every DynamoDB call
// made with it or with a context derived from it, all attempts and backoff
// included, even under context.WithoutCancel, which drops ctx's own deadline
// (a request's reservations are settled that way after its answer). The
// Lambda adapters set it from the invocation's deadline, so a stalled DynamoDB
// cannot hold a function past its timeout.
func WithCallDeadline(ctx context.Context, d time.Time) context.Context {
	return context.WithValue(ctx, callDeadlineKey{}, d)
}

// callDeadline ends one operation by its context's WithCallDeadline.
var callDeadline = middleware.InitializeMiddlewareFunc("GatewayCallDeadline", func(ctx context.Context,
	in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	if d, ok := ctx.Value(callDeadlineKey{}).(time.Time); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	return next.HandleInitialize(ctx, in)
})

// IsAWSEndpoint reports whether endpoint is one of AWS's own hosts (where
// response checksums are always present), as opposed to an emulator.
func IsAWSEndpoint(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() == "" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, suffix := range []string{".amazonaws.com", ".amazonaws.com.cn", ".api.aws"} {
		if strings.HasSuffix(h, suffix) {
			return true
		}
	}
	return false
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// CreateTable creates the gateway's table (pk S, sk S, on-demand) and turns on
// TTL on `ttl`, for tests and local runs; deployments create it with the CDK
// stack. Idempotent: an existing table is waited for and its TTL checked.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamo: create table %s: %w", table, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 500*time.Millisecond, 5*time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 5*time.Minute); err != nil {
		return fmt.Errorf("dynamo: wait for table %s: %w", table, err)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("dynamo: describe ttl of %s: %w", table, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attrTTL &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamo: enable ttl on %s: %w", table, err)
	}
	return nil
}

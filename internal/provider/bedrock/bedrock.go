// Package bedrock is the Amazon Bedrock provider: it speaks Bedrock's
// Converse and ConverseStream APIs through aws-sdk-go-v2, with credentials
// from the default chain (on Lambda, the function's role).
//
// Responses name the upstream model (ChatRequest.Model), not the client's
// alias. Anthropic's own model names (claude-sonnet-4-5) are sent as their
// Bedrock ids (see models.go).
package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/sdkhttp"
)

// Kind is the provider family name.
const Kind = "bedrock"

// Provider is one Bedrock upstream (one region).
type Provider struct {
	name   string
	client *bedrockruntime.Client
	// region picks the inference profile of Anthropic model names (see modelID).
	region string
	logger *slog.Logger
}

var _ provider.Provider = (*Provider)(nil)

// New builds the provider. It loads the AWS configuration (region from
// cfg.Region when set, else the default chain) without any network call;
// credentials are resolved on the first request. cfg.BaseURL, when set,
// replaces Bedrock's endpoint.
//
// The SDK does not retry: the gateway's router retries and fails over.
func New(ctx context.Context, cfg provider.Config, deps provider.Deps) (*Provider, error) {
	return newProvider(ctx, cfg, deps)
}

// newProvider is New with extra options for the HTTP transport (tests dial
// through them).
func newProvider(ctx context.Context, cfg provider.Config, deps provider.Deps, transport ...func(*http.Transport)) (*Provider, error) {
	// A BuildableClient, not deps.HTTP: the SDK applies AWS_CA_BUNDLE to it
	// and panics on a plain *http.Client.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(append([]func(*http.Transport){func(t *http.Transport) {
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 256
		t.IdleConnTimeout = 90 * time.Second
	}}, transport...)...)
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("provider %s: loading the AWS configuration: %w", cfg.Name, err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("provider %s: no AWS region: set the provider's region or AWS_REGION", cfg.Name)
	}
	client := bedrockruntime.NewFromConfig(awsCfg, func(o *bedrockruntime.Options) {
		// Wrapped here, not before LoadDefaultConfig, which needs the
		// BuildableClient itself for AWS_CA_BUNDLE.
		o.HTTPClient = sdkhttp.ReadOnlyBodies(o.HTTPClient)
		if cfg.BaseURL != "" {
			o.BaseEndpoint = aws.String(cfg.BaseURL)
		}
	})
	p := NewWithClient(cfg, client)
	if deps.Logger != nil {
		p.logger = deps.Logger
	}
	return p, nil
}

// NewWithClient builds the provider around a ready Bedrock client.
func NewWithClient(cfg provider.Config, client *bedrockruntime.Client) *Provider {
	p := &Provider{name: cfg.Name, client: client, region: cfg.Region, logger: slog.New(slog.DiscardHandler)}
	if client != nil {
		p.region = client.Options().Region
	}
	return p
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return Kind }

func (p *Provider) translate(req *provider.ChatRequest) (*converseRequest, error) {
	body := req.Body
	if body == nil {
		body = &openai.ChatRequest{}
		if err := json.Unmarshal(req.Raw, body); err != nil {
			return nil, &openai.Error{Code: openai.CodeInvalidJSON, Provider: p.name, Message: "the request body is not valid JSON"}
		}
	}
	model, err := p.modelID(req.Model)
	if err != nil {
		return nil, err
	}
	c, err := translateRequest(model, body)
	if err != nil {
		var ge *openai.Error
		if errors.As(err, &ge) {
			ge.Provider = p.name
		}
		return nil, err
	}
	return c, nil
}

// Chat implements provider.Provider with Converse.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	c, err := p.translate(req)
	if err != nil {
		return nil, err
	}
	out, err := p.client.Converse(ctx, c.converseInput())
	if err != nil {
		return nil, p.mapError(ctx, err)
	}
	cc, err := translateResponse(out, provider.NewCompletionID(), req.Model, c.jsonTool, time.Now().Unix())
	if err != nil {
		return nil, provider.BadUpstreamBody(p.name, err)
	}
	body, err := provider.Marshal(cc)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: body, ContentType: "application/json", Usage: *cc.Usage}, nil
}

// ChatStream implements provider.Provider with ConverseStream. It waits for
// the stream's first event, so an exception Bedrock sends before any content
// is returned here (with its own status) and routing can fail over.
func (p *Provider) ChatStream(ctx context.Context, req *provider.ChatRequest) (provider.Stream, error) {
	c, err := p.translate(req)
	if err != nil {
		return nil, err
	}
	out, err := p.client.ConverseStream(ctx, c.converseStreamInput(), ownEventCodec)
	if err != nil {
		return nil, p.mapError(ctx, err)
	}
	s := newStream(ctx, p, out.GetStream(), req.Model, c.jsonTool)
	if err := s.advance(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ownEventCodec gives one ConverseStream call its own protocol instance. The
// SDK's client-wide protocol decodes event streams through one codec with a
// shared payload buffer (smithy-go v1.28.9), so two concurrent streams on one
// client race on it and can corrupt each other's events.
func ownEventCodec(o *bedrockruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
}

package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/anthropic"
)

// Claude models on Bedrock take Anthropic's Messages request itself through
// InvokeModel (and answer with Anthropic's message and stream events), so
// the gateway's /v1/messages passes a client's request to them as it does to
// Anthropic: prompt caching (cache_control), thinking with its signatures,
// documents, top_k and every field the chat translation (Converse) cannot
// carry reach the model, and the answer reaches the client as Bedrock sent
// it. The body differs from Anthropic's in three ways: the model is in the
// path, not the body; "anthropic_version" is Bedrock's; anthropic-beta
// features go in the body as "anthropic_beta", and only those Bedrock knows
// (bedrockBetas): Bedrock refuses a request with any other.

// BedrockAnthropicVersion is the anthropic_version of Claude requests on
// Bedrock.
const BedrockAnthropicVersion = "bedrock-2023-05-31"

// bedrockBetas are the anthropic-beta features Bedrock's InvokeModel takes
// for Claude, as AWS lists them (and LiteLLM filters them, January 2026);
// the rest are dropped. renamedBetas are first-party names of features
// Bedrock knows by another.
var (
	bedrockBetas = []string{
		"computer-use-2024-10-22", "computer-use-2025-01-24", "token-efficient-tools-2025-02-19",
		"interleaved-thinking-2025-05-14", "output-128k-2025-02-19", "dev-full-thinking-2025-05-14",
		"context-1m-2025-08-07", "context-management-2025-06-27", "effort-2025-11-24",
		"tool-search-tool-2025-10-19", "tool-examples-2025-10-29",
	}
	renamedBetas = map[string]string{"advanced-tool-use-2025-11-20": "tool-search-tool-2025-10-19"}
)

// ServesMessages reports whether model takes the Messages API natively:
// Anthropic's Claude models (a model id, a cross-region profile or an
// inference profile ARN naming Claude). Other Bedrock models are served
// through the chat translation.
func (p *Provider) ServesMessages(model string) bool { return isClaude(model) }

// invokeBody turns a client's Messages body (its model set to the upstream
// model) into an InvokeModel body for that model: model and stream removed,
// anthropic_version set, the client's anthropic-beta header and any
// anthropic_beta of the body joined, filtered to bedrockBetas.
func invokeBody(body []byte, beta string) (model string, out []byte, err *openai.Error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", nil, &openai.Error{Code: openai.CodeInvalidJSON, Message: "the request body is not a JSON object"}
	}
	if err := json.Unmarshal(fields["model"], &model); err != nil || model == "" {
		return "", nil, &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "the request has no model"}
	}
	var features []string
	if raw, ok := fields["anthropic_beta"]; ok {
		_ = json.Unmarshal(raw, &features) // not a list: replaced
	}
	features = append(features, strings.Split(beta, ",")...)
	var keep []string
	for _, f := range features {
		f = strings.TrimSpace(f)
		if to, ok := renamedBetas[f]; ok {
			f = to
		}
		if slices.Contains(bedrockBetas, f) && !slices.Contains(keep, f) {
			keep = append(keep, f)
		}
	}
	delete(fields, "model")
	delete(fields, "stream")
	delete(fields, "anthropic_beta")
	fields["anthropic_version"], _ = json.Marshal(BedrockAnthropicVersion)
	if len(keep) > 0 {
		fields["anthropic_beta"], _ = json.Marshal(keep)
	}
	out, _ = provider.Marshal(fields) // raw values of a decoded object: they encode
	return model, out, nil
}

func (p *Provider) invokeInput(req *anthropic.NativeRequest) (string, []byte, error) {
	model, body, err := invokeBody(req.Body, req.Beta)
	if err != nil {
		err.Provider = p.name
		return "", nil, err
	}
	id, idErr := p.modelID(model)
	if idErr != nil {
		return "", nil, idErr
	}
	return id, body, nil
}

// Messages sends a non-stream Messages request through InvokeModel and
// returns the answer body as Bedrock sent it (usage left to the caller, as
// anthropic.Provider.Messages does). A 2xx answer that is not a message is an
// upstream error.
func (p *Provider) Messages(ctx context.Context, req *anthropic.NativeRequest) (*provider.Response, error) {
	model, body, err := p.invokeInput(req)
	if err != nil {
		return nil, err
	}
	out, err := p.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(model), Body: body,
		ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	})
	if err != nil {
		return nil, p.mapError(ctx, err)
	}
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(out.Body, &probe); err != nil {
		return nil, provider.BadUpstreamBody(p.name, err)
	}
	if probe.Type != "message" {
		return nil, provider.BadUpstreamBody(p.name, fmt.Errorf("type %q is not a message", probe.Type))
	}
	return &provider.Response{Body: out.Body, ContentType: "application/json"}, nil
}

// CountTokens counts a Messages request's input tokens with Bedrock's
// CountTokens (the InvokeModel form) and answers as Anthropic's
// count_tokens does: {"input_tokens":N}.
func (p *Provider) CountTokens(ctx context.Context, req *anthropic.NativeRequest) (*provider.Response, error) {
	model, body, err := p.invokeInput(req)
	if err != nil {
		return nil, err
	}
	out, err := p.client.CountTokens(ctx, &bedrockruntime.CountTokensInput{
		ModelId: aws.String(model),
		Input:   &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: body}},
	})
	if err != nil {
		return nil, p.mapError(ctx, err)
	}
	if out.InputTokens == nil {
		return nil, provider.BadUpstreamBody(p.name, fmt.Errorf("the answer has no inputTokens"))
	}
	b, _ := json.Marshal(map[string]int32{"input_tokens": *out.InputTokens})
	return &provider.Response{Body: b, ContentType: "application/json"}, nil
}

// MessagesStream sends a Messages request through
// InvokeModelWithResponseStream. Each chunk Bedrock sends is one of
// Anthropic's stream events; they are read as server-sent events
// ("event: <type>", "data: <the chunk>"), the form Anthropic streams in, so
// the gateway relays them as it relays Anthropic's. It waits for the first
// chunk, so an exception Bedrock sends before any is returned here with its
// own status, and routing can fail over.
func (p *Provider) MessagesStream(ctx context.Context, req *anthropic.NativeRequest) (*anthropic.NativeStream, error) {
	model, body, err := p.invokeInput(req)
	if err != nil {
		return nil, err
	}
	out, err := p.client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(model), Body: body,
		ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	}, ownEventCodec)
	if err != nil {
		return nil, p.mapError(ctx, err)
	}
	r := &sseChunks{p: p, ctx: ctx, es: out.GetStream()}
	if r.next(); r.buf.Len() == 0 && r.err != nil {
		r.Close()
		if r.err == io.EOF {
			return nil, cutError(p.name, "the upstream closed the stream before its first event")
		}
		return nil, r.first
	}
	return anthropic.NewNativeStream(ctx, provider.Upstream{Name: p.name}, r), nil
}

// sseChunks renders the chunks of an InvokeModelWithResponseStream answer as
// server-sent events.
type sseChunks struct {
	p   *Provider
	ctx context.Context
	es  *bedrockruntime.InvokeModelWithResponseStreamEventStream
	buf bytes.Buffer
	// err ends the reads once buf is drained; first is how an exception
	// before any chunk is reported (with Bedrock's status).
	err   error
	first error
	read  bool // a chunk was read
	once  sync.Once
}

func (r *sseChunks) Read(b []byte) (int, error) {
	for r.buf.Len() == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	return r.buf.Read(b)
}

// next reads one event: a chunk is framed into buf; the end of the stream
// sets err (io.EOF when it closed cleanly).
func (r *sseChunks) next() {
	var ev types.ResponseStream
	var ok bool
	select {
	case ev, ok = <-r.es.Events():
	case <-r.ctx.Done():
		r.err = provider.TransportError(r.ctx, r.p.name, r.ctx.Err())
		r.first = r.err
		return
	}
	if !ok {
		err := r.es.Err()
		switch {
		case err != nil:
			r.err = r.p.streamError(r.ctx, err)
			r.first = r.err
			if !r.read {
				r.first = r.p.mapError(r.ctx, err)
			}
		case r.ctx.Err() != nil:
			r.err = provider.TransportError(r.ctx, r.p.name, r.ctx.Err())
			r.first = r.err
		default:
			r.err = io.EOF
		}
		return
	}
	c, isChunk := ev.(*types.ResponseStreamMemberChunk)
	if !isChunk || len(c.Value.Bytes) == 0 {
		return
	}
	r.read = true
	data := c.Value.Bytes
	if bytes.ContainsAny(data, "\r\n") {
		var compact bytes.Buffer
		if json.Compact(&compact, data) == nil {
			data = compact.Bytes()
		} else {
			data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r"), nil), []byte("\n"), nil)
		}
	}
	var typed struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(data, &typed)
	if typed.Type != "" {
		fmt.Fprintf(&r.buf, "event: %s\n", typed.Type)
	}
	fmt.Fprintf(&r.buf, "data: %s\n\n", data)
}

// Close closes the SDK event stream, which closes the HTTP body.
func (r *sseChunks) Close() error {
	r.once.Do(func() { _ = r.es.Close() })
	return nil
}

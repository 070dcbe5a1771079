// Package standalone is the gateway's routing core as a Go library: the
// same configuration (TOML, or the environment) builds the same providers,
// routes, strategies, retries, circuit breakers and failover as the server,
// and answers chat completions (whole or streamed) and embeddings
// in-process, with no HTTP hop and no AWS.
//
// It is the one package outside internal/: programs that embed the gateway
// import it. Keys, limits, budgets and the response cache belong to the
// server (they guard a shared endpoint) and are not applied here.
//
//	gw, err := standalone.FromTOML(ctx, configText, os.Getenv)
//	resp, err := gw.Chat(ctx, &standalone.ChatRequest{Model: "fast", Messages: ...})
package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// The OpenAI wire types the library speaks, the server's own.
type (
	ChatRequest       = openai.ChatRequest
	ChatCompletion    = openai.ChatCompletion
	Message           = openai.Message
	Usage             = openai.Usage
	EmbeddingsRequest = openai.EmbeddingsRequest
	// Error is every failure's type: a code, a message, the status the server
	// would answer with (HTTPStatus) and the provider that failed.
	Error = openai.Error
)

// TextContent is a message content of plain text.
func TextContent(s string) openai.Content { return openai.TextContent(s) }

// Gateway routes requests as the server does.
type Gateway struct {
	router *router.Router
}

// FromTOML builds a gateway from configuration text (see
// internal/config/example.toml); getenv answers its ${VAR} references.
func FromTOML(ctx context.Context, text string, getenv func(string) string) (*Gateway, error) {
	cfg, err := config.Parse(text, getenv)
	if err != nil {
		return nil, err
	}
	return build(ctx, cfg)
}

// FromEnv builds a gateway from the environment alone, as `make run` does
// without a file: one provider per API key set.
func FromEnv(ctx context.Context, getenv func(string) string) (*Gateway, error) {
	cfg, err := config.Load("", getenv)
	if err != nil {
		return nil, err
	}
	return build(ctx, cfg)
}

func build(ctx context.Context, cfg *config.Config) (*Gateway, error) {
	a, err := app.New(ctx, cfg, app.Options{})
	if err != nil {
		return nil, err
	}
	return &Gateway{router: a.Router}, nil
}

// Answer is a whole chat completion and the target that gave it.
type Answer struct {
	Completion *ChatCompletion
	// Provider and Model name the target that answered.
	Provider, Model string
}

// Chat answers a chat completion request over its route.
func (g *Gateway) Chat(ctx context.Context, req *ChatRequest) (*Answer, error) {
	plan, raw, err := g.plan(req, false)
	if err != nil {
		return nil, err
	}
	var resp *provider.Response
	res, err := g.router.Run(ctx, plan, func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model, Body: req, Raw: raw})
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Done(nil)
	var cc ChatCompletion
	if err := json.Unmarshal(resp.Body, &cc); err != nil {
		return nil, provider.BadUpstreamBody(res.Target.Provider.Name(), err)
	}
	return &Answer{Completion: &cc, Provider: res.Target.Provider.Name(), Model: res.Target.Model}, nil
}

// Stream is a streamed chat completion: Next returns each chunk's JSON (an
// OpenAI chat.completion.chunk) and io.EOF after a clean end.
type Stream struct {
	Provider, Model string
	first           []byte
	s               provider.Stream
	done            func(error)
	usage           Usage
}

// ChatStream starts a streamed chat completion over the request's route.
// Targets are tried in order until one sends its first chunk; after that a
// failure ends the stream with its error. Close it when done.
func (g *Gateway) ChatStream(ctx context.Context, req *ChatRequest) (*Stream, error) {
	plan, raw, err := g.plan(req, true)
	if err != nil {
		return nil, err
	}
	out := &Stream{}
	res, err := g.router.Run(ctx, plan, func(ctx context.Context, t *router.Target) error {
		s, err := t.Provider.ChatStream(ctx, &provider.ChatRequest{Model: t.Model, Body: req, Raw: raw})
		if err != nil {
			return err
		}
		c, err := s.Next()
		if err != nil {
			s.Close()
			if errors.Is(err, io.EOF) {
				return &openai.Error{Code: openai.CodeUpstreamError, Provider: t.Provider.Name(), Retryable: true,
					Message: "upstream stream ended before its first chunk"}
			}
			return err
		}
		out.s, out.first = s, c.Data
		if c.Usage != nil {
			out.usage = *c.Usage
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Provider, out.Model, out.done = res.Target.Provider.Name(), res.Target.Model, res.Done
	return out, nil
}

// Next returns the next chunk's JSON, or io.EOF after the stream's clean end.
func (s *Stream) Next() ([]byte, error) {
	if s.first != nil {
		b := s.first
		s.first = nil
		return b, nil
	}
	c, err := s.s.Next()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.done(err)
		}
		return nil, err
	}
	if c.Usage != nil {
		s.usage = *c.Usage
	}
	return c.Data, nil
}

// Usage is the stream's usage once the upstream reported it.
func (s *Stream) Usage() Usage { return s.usage }

// Close ends the stream and releases its target.
func (s *Stream) Close() error {
	s.done(nil)
	return s.s.Close()
}

// Embeddings answers an embeddings request; the body is OpenAI's
// embeddings response JSON.
func (g *Gateway) Embeddings(ctx context.Context, req *EmbeddingsRequest) (body []byte, err error) {
	plan, err := g.router.Resolve(&router.Request{Model: req.Model}, "")
	if err != nil {
		return nil, err
	}
	var capable []*router.Target
	for _, t := range plan.Targets {
		if _, ok := t.Provider.(provider.Embedder); ok {
			capable = append(capable, t)
		}
	}
	if len(capable) == 0 {
		return nil, provider.Unsupported(plan.Targets[0].Provider.Name(), "embeddings")
	}
	plan.Targets = capable
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var resp *provider.Response
	res, err := g.router.Run(ctx, plan, func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = t.Provider.(provider.Embedder).Embeddings(ctx, &provider.EmbeddingsRequest{Model: t.Model, Body: req, Raw: raw})
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Done(nil)
	return resp.Body, nil
}

// plan resolves the request's route and its JSON for OpenAI-protocol upstreams.
func (g *Gateway) plan(req *ChatRequest, stream bool) (*router.Plan, []byte, error) {
	req.Stream = stream
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	plan, err := g.router.Resolve(&router.Request{Model: req.Model, StickyKey: req.User, Body: raw}, "")
	return plan, raw, err
}

// Package mock is a deterministic provider for demos and load tests: it echoes
// the last user message back, optionally after a delay, without any upstream.
package mock

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// DefaultModel is the model name the mock serves when none is configured.
const DefaultModel = "mock-echo"

// Provider is the mock provider.
type Provider struct {
	name  string
	delay time.Duration
	seq   atomic.Uint64
}

// New builds a mock provider; cfg.Delay is applied before the answer and
// between streamed chunks.
func New(cfg provider.Config) *Provider {
	return &Provider{name: cfg.Name, delay: cfg.Delay}
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.name }

// Kind implements provider.Provider.
func (p *Provider) Kind() string { return "mock" }

// Reply is the text the mock answers to a request.
func Reply(req *openai.ChatRequest) string {
	last := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			last = req.Messages[i].Content.AllText()
			break
		}
	}
	return "echo: " + last
}

// countTokens is the mock's token count: one token per whitespace-separated word.
func countTokens(s string) int { return len(strings.Fields(s)) }

func promptTokens(req *openai.ChatRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += countTokens(m.Content.AllText()) + 1
	}
	return n
}

func (p *Provider) wait(ctx context.Context) error {
	if p.delay <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(p.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return provider.TransportError(ctx, p.name, ctx.Err())
	case <-t.C:
		return nil
	}
}

func (p *Provider) id() string { return fmt.Sprintf("chatcmpl-mock-%d", p.seq.Add(1)) }

func n(req *openai.ChatRequest) int {
	if req.N != nil && *req.N > 1 {
		return *req.N
	}
	return 1
}

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.Response, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	text := Reply(req.Body)
	usage := openai.Usage{PromptTokens: promptTokens(req.Body), CompletionTokens: countTokens(text) * n(req.Body)}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	resp := openai.ChatCompletion{
		ID: p.id(), Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model, Usage: &usage,
	}
	for i := 0; i < n(req.Body); i++ {
		resp.Choices = append(resp.Choices, openai.Choice{
			Index: i, Message: openai.ResponseMessage{Role: "assistant", Content: openai.Ptr(text)}, FinishReason: "stop",
		})
	}
	body, err := provider.Marshal(resp)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: body, Usage: usage}, nil
}

// ChatStream implements provider.Provider: one chunk per word.
func (p *Provider) ChatStream(ctx context.Context, req *provider.ChatRequest) (provider.Stream, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	text := Reply(req.Body)
	b := provider.NewChunkBuilder(p.id(), req.Model)
	chunks := []provider.Chunk{b.Role()}
	words := strings.SplitAfter(text, " ")
	for _, w := range words {
		chunks = append(chunks, b.Text(w))
	}
	chunks = append(chunks, b.Finish("stop"))
	chunks = append(chunks, b.Usage(openai.Usage{PromptTokens: promptTokens(req.Body), CompletionTokens: countTokens(text)}))
	return &stream{ctx: ctx, p: p, chunks: chunks}, nil
}

type stream struct {
	ctx    context.Context
	p      *Provider
	chunks []provider.Chunk
	sent   int
}

func (s *stream) Next() (provider.Chunk, error) {
	if s.sent >= len(s.chunks) {
		return provider.Chunk{}, io.EOF
	}
	if s.sent > 0 {
		if err := s.p.wait(s.ctx); err != nil {
			return provider.Chunk{}, err
		}
	}
	c := s.chunks[s.sent]
	s.sent++
	return c, nil
}

func (s *stream) Close() error { return nil }

// Embeddings implements provider.Embedder with deterministic 8-dimensional
// vectors derived from a hash of each input, as numbers or base64 as the
// request's encoding_format asks.
func (p *Provider) Embeddings(ctx context.Context, req *provider.EmbeddingsRequest) (*provider.Response, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	inputs, ok := req.Body.InputStrings()
	if !ok {
		return nil, &openai.Error{Code: openai.CodeInvalidRequest, Param: "input", Message: "the mock provider embeds strings only"}
	}
	asBase64, oerr := req.Body.WantsBase64()
	if oerr != nil {
		return nil, oerr
	}
	resp := openai.EmbeddingsResponse{Object: "list", Model: req.Model}
	vectors := make([][]float64, len(inputs))
	for i, in := range inputs {
		sum := sha256.Sum256([]byte(in))
		vec := make([]float64, 8)
		for j := range vec {
			vec[j] = float64(binary.BigEndian.Uint32(sum[j*4:]))/float64(1<<32)*2 - 1
		}
		vectors[i] = vec
		resp.Usage.PromptTokens += countTokens(in)
	}
	resp.Data = openai.NewEmbeddings(vectors, asBase64)
	resp.Usage.TotalTokens = resp.Usage.PromptTokens
	body, err := provider.Marshal(resp)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: body, Usage: resp.Usage}, nil
}

// Package provider defines the small interface every upstream provider
// implements, the configuration they are built from, and the HTTP and error
// plumbing they share. Each provider family lives in its own sub-package.
package provider

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

// Provider is one configured upstream. It speaks OpenAI to the gateway and its
// own protocol upstream.
type Provider interface {
	// Name is the configured instance name ("openai", "groq", "my-azure").
	Name() string
	// Kind is the provider family ("openai", "azure", "anthropic", ...).
	Kind() string
	// Chat sends a non-stream chat completion.
	Chat(ctx context.Context, req *ChatRequest) (*Response, error)
	// ChatStream starts a streamed chat completion. The returned error is set
	// when the upstream failed before its first event (so routing may fail over).
	ChatStream(ctx context.Context, req *ChatRequest) (Stream, error)
}

// Embedder is implemented by providers with an embeddings API.
type Embedder interface {
	Embeddings(ctx context.Context, req *EmbeddingsRequest) (*Response, error)
}

// ModelLister is implemented by providers that can list the models their
// upstream serves (GET /v1/models lists them for wildcard providers).
type ModelLister interface {
	ListModels(ctx context.Context) ([]string, error)
}

// MaxModelPages bounds how many pages a ModelLister reads: a list longer
// than that is cut there rather than read without end.
const MaxModelPages = 5

// ListPages reads at most MaxModelPages pages of a paged model list: page
// fetches the page after cursor ("" for the first) and returns its names
// and the next cursor ("" at the end). A cursor that repeats ends the list.
func ListPages(page func(cursor string) (names []string, next string, err error)) ([]string, error) {
	var all []string
	cursor := ""
	for range MaxModelPages {
		names, next, err := page(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, names...)
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	return all, nil
}

// ImageGenerator is implemented by providers that forward /v1/images/generations.
type ImageGenerator interface {
	ImageGenerations(ctx context.Context, req *RawRequest) (*Response, error)
}

// Transcriber is implemented by providers that forward /v1/audio/transcriptions.
type Transcriber interface {
	AudioTranscriptions(ctx context.Context, req *RawRequest) (*Response, error)
}

// ChatRequest is a chat completion bound for one target.
type ChatRequest struct {
	// Model is the upstream model name (after alias resolution and any deployment mapping).
	Model string
	// Body is the decoded client request; its Model is the client's name.
	Body *openai.ChatRequest
	// Raw is the client's JSON body, untouched, so OpenAI-protocol upstreams can
	// receive unknown fields as they were sent.
	Raw []byte
}

// EmbeddingsRequest is an embeddings call bound for one target.
type EmbeddingsRequest struct {
	Model string
	Body  *openai.EmbeddingsRequest
	Raw   []byte
}

// RawRequest is a pass-through call (images, audio): the body is forwarded with
// the model replaced.
type RawRequest struct {
	Model       string
	Body        []byte
	ContentType string
}

// Response is a complete upstream answer already in OpenAI's shape.
type Response struct {
	// Body is the OpenAI JSON body sent to the client.
	Body []byte
	// ContentType defaults to application/json when empty.
	ContentType string
	// Usage is the token usage the upstream reported (zero when it reported none).
	Usage openai.Usage
}

// Stream yields OpenAI chat.completion.chunk events.
type Stream interface {
	// Next returns the next chunk. It returns io.EOF after the upstream's clean
	// end of stream, and an *openai.Error (or a wrapped sse.ErrCut) when the
	// stream broke or the upstream sent an error event.
	Next() (Chunk, error)
	// Close releases the upstream connection. Safe to call more than once.
	Close() error
}

// Chunk is one translated stream event.
type Chunk struct {
	// Data is the JSON of one chat.completion.chunk.
	Data []byte
	// Usage is set on the chunk that carries the stream's usage (a chunk with
	// empty choices and a usage object, as OpenAI sends with include_usage).
	// The gateway forwards that chunk only to clients that asked for it.
	Usage *openai.Usage
}

// Config describes one provider instance. Fields not used by a kind are ignored.
type Config struct {
	Name    string
	Kind    string
	BaseURL string
	APIKey  Secret
	// Headers are extra headers sent upstream on every request (values may be secrets).
	Headers map[string]Secret
	// APIVersion is Azure's api-version or Anthropic's anthropic-version.
	APIVersion string
	// Deployments maps model names to Azure deployment names.
	Deployments map[string]string
	// Project and Location address Vertex AI.
	Project  string
	Location string
	// CredentialsFile is the Google credentials file (service account key,
	// workload identity federation, ...) Vertex AI tokens are made from.
	CredentialsFile string
	// Region is Bedrock's AWS region (empty: from the default chain).
	Region string
	// Models are the model names this provider serves (for /v1/models and
	// default routes).
	Models []string
	// Timeout bounds one upstream attempt; zero means the gateway's default.
	Timeout time.Duration
	// Delay makes the mock provider wait before answering (and between chunks).
	Delay time.Duration
}

// Header returns the configured extra headers with their values: the
// headers every upstream request starts from.
func (c Config) Header() http.Header {
	h := make(http.Header, len(c.Headers))
	for k, v := range c.Headers {
		h.Set(k, v.Value())
	}
	return h
}

// ValidBaseURL reports whether s is an absolute http(s) URL with a host, as
// a configured base_url must be.
func ValidBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Secret is a string that never prints itself.
type Secret string

// Redacted is what a secret prints as, and what Secrets.Redact puts in its place.
const Redacted = "[REDACTED]"

// String redacts.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// LogValue redacts for slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts for encoders (admin config output, JSON logs).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Value returns the secret itself for use in an upstream request.
func (s Secret) Value() string { return string(s) }

// Deps are the shared clients a provider is built with.
type Deps struct {
	// HTTP is the shared upstream client; its transport is reused across requests.
	HTTP *http.Client
	// Logger receives provider warnings; never secrets.
	Logger *slog.Logger
}

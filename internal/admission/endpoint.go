package admission

import "github.com/aigateway/gateway/internal/provider"

// Endpoint is one kind of client request: its name in logs, metrics and
// cache keys, the words errors use for it, whether its answers may be cached,
// and the provider capability a target needs to serve it.
type Endpoint struct {
	// Name is the metrics label, the log line's endpoint and the cache key's namespace.
	Name string
	// What is how errors name it ("provider x does not support <What>").
	What string
	// Cacheable endpoints may be answered from the response cache.
	Cacheable bool
	// Serves reports whether a provider can serve the endpoint (nil: every provider).
	Serves func(provider.Provider) bool
}

// The endpoints the gateway serves.
var (
	Chat           = Endpoint{Name: "chat", What: "chat completions", Cacheable: true}
	Responses      = Endpoint{Name: "responses", What: "the Responses API", Cacheable: true}
	Generate       = Endpoint{Name: "generate", What: "generate", Cacheable: true}
	Embeddings     = Endpoint{Name: "embeddings", What: "embeddings", Cacheable: true, Serves: can[provider.Embedder]}
	Images         = Endpoint{Name: "image generation", What: "image generation", Serves: can[provider.ImageGenerator]}
	Transcriptions = Endpoint{Name: "audio transcription", What: "audio transcription", Serves: can[provider.Transcriber]}
	// Messages is Anthropic's Messages API (POST /v1/messages); its answers
	// are cached as Messages answers, apart from chat's.
	Messages = Endpoint{Name: "messages", What: "the Messages API", Cacheable: true}
	// CountTokens is POST /v1/messages/count_tokens.
	CountTokens = Endpoint{Name: "count_tokens", What: "token counting"}
)

func can[T any](p provider.Provider) bool {
	_, ok := p.(T)
	return ok
}

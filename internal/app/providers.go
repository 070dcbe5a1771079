package app

import (
	"context"
	"fmt"

	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/anthropic"
	"github.com/aigateway/gateway/internal/provider/bedrock"
	"github.com/aigateway/gateway/internal/provider/cohere"
	"github.com/aigateway/gateway/internal/provider/gemini"
	"github.com/aigateway/gateway/internal/provider/mock"
	"github.com/aigateway/gateway/internal/provider/openaicompat"
)

// NewProvider builds one provider from its configuration: the one switch on
// the provider kind.
func NewProvider(ctx context.Context, cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
	switch cfg.Kind {
	case "anthropic":
		return anthropic.New(cfg, deps)
	case "gemini", "vertex":
		return gemini.New(cfg, deps)
	case "bedrock":
		return bedrock.New(ctx, cfg, deps)
	case "cohere":
		return cohere.New(cfg, deps)
	case "mock":
		return mock.New(cfg), nil
	default:
		if openaicompat.IsKind(cfg.Kind) {
			return openaicompat.New(cfg, deps)
		}
		return nil, fmt.Errorf("provider %q: unknown kind %q", cfg.Name, cfg.Kind)
	}
}

// displayNames are the provider names POST /generate answers with.
var displayNames = map[string]string{
	"openai": "OpenAI", "gemini": "Gemini", "anthropic": "Anthropic", "azure": "Azure", "groq": "Groq",
	"mistral": "Mistral", "together": "Together", "perplexity": "Perplexity", "ollama": "Ollama",
	"deepseek": "DeepSeek", "xai": "xAI", "cohere": "Cohere", "bedrock": "Bedrock", "vertex": "Vertex", "mock": "Mock",
}

func displayName(p provider.Provider) string {
	if d, ok := displayNames[p.Name()]; ok {
		return d
	}
	return p.Name()
}

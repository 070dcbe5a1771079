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

// NewProvider builds one provider from its configuration: the one switch
// on the provider family (internal/provider/kinds.go maps kinds to families).
func NewProvider(ctx context.Context, cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
	k, ok := provider.LookupKind(cfg.Kind)
	if !ok {
		return nil, fmt.Errorf("provider %q: unknown kind %q", cfg.Name, cfg.Kind)
	}
	switch k.Family {
	case provider.FamilyAnthropic:
		return anthropic.New(cfg, deps)
	case provider.FamilyGemini:
		return gemini.New(cfg, deps)
	case provider.FamilyBedrock:
		return bedrock.New(ctx, cfg, deps)
	case provider.FamilyCohere:
		return cohere.New(cfg, deps)
	case provider.FamilyMock:
		return mock.New(cfg), nil
	case provider.FamilyOpenAICompat:
		return openaicompat.New(cfg, deps)
	}
	return nil, fmt.Errorf("provider %q: kind %q has no constructor for family %q", cfg.Name, cfg.Kind, k.Family)
}

// displayName is the name POST /generate answers with: the display name of
// the kind the provider is named after ("openai" → "OpenAI"), else its name.
func displayName(p provider.Provider) string {
	if k, ok := provider.LookupKind(p.Name()); ok {
		return k.Display
	}
	return p.Name()
}

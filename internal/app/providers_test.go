package app_test

import (
	"context"
	"testing"

	"github.com/aigateway/gateway/internal/app"
	"github.com/aigateway/gateway/internal/config"
	"github.com/aigateway/gateway/internal/router"
)

// TestClaudeNamesRouteToBedrockWhenOnlyBedrockIsOn: with Bedrock the only
// provider of an environment-only configuration, Anthropic's model names
// route to it (Bedrock sends them as its own ids); with Anthropic on too,
// Anthropic is first and Bedrock its failover.
func TestClaudeNamesRouteToBedrockWhenOnlyBedrockIsOn(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"only Bedrock", map[string]string{"BEDROCK_ENABLED": "true", "BEDROCK_REGION": "eu-west-3"}, []string{"bedrock"}},
		{"Anthropic and Bedrock", map[string]string{"BEDROCK_ENABLED": "true", "BEDROCK_REGION": "eu-west-3", "ANTHROPIC_API_KEY": "a"},
			[]string{"anthropic", "bedrock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.FromEnv(func(k string) string { return tc.env[k] })
			a, err := app.New(context.Background(), cfg, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, model := range []string{"claude-sonnet-4-5", "claude-3-5-haiku-latest"} {
				plan, err := a.Router.Resolve(&router.Request{Model: model}, "")
				if err != nil {
					t.Fatalf("%s: %v", model, err)
				}
				var got []string
				for _, t := range plan.Targets {
					got = append(got, t.Provider.Name())
				}
				if len(got) != len(tc.want) || got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1] {
					t.Errorf("%s went to %v, want %v", model, got, tc.want)
				}
			}
		})
	}
}

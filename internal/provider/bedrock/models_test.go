package bedrock

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/anthropic"
)

func TestAnthropicModelNamesMapToBedrockIDsWithTheRegionsProfile(t *testing.T) {
	for _, tc := range []struct{ region, model, want string }{
		{"us-east-1", "claude-sonnet-4-5", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"us-west-2", "claude-sonnet-4-5-20250929", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"eu-west-3", "claude-3-5-haiku-latest", "eu.anthropic.claude-3-5-haiku-20241022-v1:0"},
		{"eu-central-1", "claude-opus-4-6", "eu.anthropic.claude-opus-4-6-v1"},
		{"us-east-1", "claude-sonnet-5", "us.anthropic.claude-sonnet-5"},
		{"ap-northeast-1", "claude-haiku-4-5", "global.anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"ap-southeast-1", "claude-3-7-sonnet-latest", "apac.anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"sa-east-1", "claude-opus-4-7", "global.anthropic.claude-opus-4-7"},
		{"us-gov-west-1", "claude-sonnet-4-5", "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"us-east-1", "claude-3-haiku-20240307", "anthropic.claude-3-haiku-20240307-v1:0"},
		// Bedrock's own ids and profiles go as they are.
		{"us-east-1", "anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"},
		{"us-east-1", "eu.anthropic.claude-sonnet-4-6", "eu.anthropic.claude-sonnet-4-6"},
		{"us-east-1", "amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"},
	} {
		p := &Provider{name: "bedrock", region: tc.region}
		got, err := p.modelID(tc.model)
		if err != nil || got != tc.want {
			t.Errorf("%s in %s: %q, %v; want %q", tc.model, tc.region, got, err, tc.want)
		}
	}
}

func TestAnUnknownAnthropicNameIsA404NamingHowToRouteIt(t *testing.T) {
	p, f := newTestProvider(t, jsonAnswer(200, "", converseAnswer))
	_, err := p.Chat(context.Background(), &provider.ChatRequest{Model: "claude-imaginary-9", Raw: []byte(hiRequest)})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.HTTPStatus() != http.StatusNotFound || oe.Code != openai.CodeModelNotFound {
		t.Fatalf("err = %v, want a 404 model_not_found", err)
	}
	for _, want := range []string{"claude-imaginary-9", "BEDROCK_MODELS", "ANTHROPIC_API_KEY", "us.anthropic."} {
		if !strings.Contains(oe.Message, want) {
			t.Errorf("message %q does not mention %q", oe.Message, want)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("Bedrock got %d requests, want none", n)
	}
}

// With only Bedrock configured, claude-* names route to it (the kind's
// model family) and must reach Bedrock as its model ids, on chat and on the
// native Messages path.
func TestAnAnthropicNameReachesBedrockAsItsModelID(t *testing.T) {
	p, f := newTestProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/invoke") {
			jsonAnswer(http.StatusOK, "", claudeAnswer)(w, r)
			return
		}
		jsonAnswer(http.StatusOK, "", converseAnswer)(w, r)
	})
	resp, err := p.Chat(context.Background(), &provider.ChatRequest{Model: "claude-sonnet-4-5", Raw: []byte(hiRequest)})
	if err != nil {
		t.Fatal(err)
	}
	const id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0" // AWS_REGION is us-east-1
	if got := f.Last(t).Path; got != "/model/"+id+"/converse" {
		t.Errorf("Converse path %s, want /model/%s/converse", got, id)
	}
	if !strings.Contains(string(resp.Body), `"model":"claude-sonnet-4-5"`) {
		t.Errorf("the answer should name the model asked for: %s", resp.Body)
	}
	if _, err := p.Messages(context.Background(), &anthropic.NativeRequest{
		Body: []byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if got := f.Last(t).Path; got != "/model/"+id+"/invoke" {
		t.Errorf("InvokeModel path %s, want /model/%s/invoke", got, id)
	}
}

func TestBedrockServesClaudeNamesInAnEnvironmentOnlyConfiguration(t *testing.T) {
	k, _ := provider.LookupKind(Kind)
	if len(k.ModelFamilies) == 0 || k.ModelFamilies[0] != "claude-*" {
		t.Errorf("bedrock's model families %v: want claude-*, so claude names route to Bedrock when Anthropic is off", k.ModelFamilies)
	}
	for name := range anthropicNames {
		if _, _, ok := provider.ClaudeVersion(name); !ok {
			t.Errorf("table name %q has no version the thinking and profile rules can read", name)
		}
	}
}

// Bedrock's catalog is on another API; what a client can ask for by
// Anthropic's names is the table, which is what the provider lists.
func TestListModelsListsTheAnthropicNamesWithoutACall(t *testing.T) {
	p, f := newTestProvider(t, jsonAnswer(500, "", `{}`))
	ids, err := p.ListModels(context.Background())
	if err != nil || len(ids) != len(anthropicNames) || !slices.IsSorted(ids) || !slices.Contains(ids, "claude-sonnet-4-5") {
		t.Errorf("ListModels = %v, %v: want the table's names, sorted", ids, err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests reached Bedrock", n)
	}
}

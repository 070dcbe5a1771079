package bedrock

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// anthropicNames maps the model names of Anthropic's own API (ids and their
// aliases) to Bedrock's model ids, so that with only Bedrock configured a
// client's claude-sonnet-4-5 or claude-3-5-haiku-latest reaches Claude on
// Bedrock (the kind's model family claude-* routes those names here).
//
// Sources, checked 2026-12-01: Anthropic's model pages
// (platform.claude.com/docs/en/models/<model>/overview, "Bedrock ID") and
// "Claude on Amazon Bedrock (legacy)"'s model-id table; Bedrock's catalog
// (list-foundation-models with list-inference-profiles in us-east-1,
// 2026-09), which lists every Claude model from 3.5 on as INFERENCE_PROFILE
// only: on-demand calls must name a cross-region inference profile
// (us.anthropic..., eu.anthropic...), not the bare model id (see geoPrefix).
// Names not in the table get a 404 that says how to route them.
var anthropicNames = map[string]bedrockModel{}

// bedrockModel is one Claude model on Bedrock: its model id, and whether
// on-demand calls must go through an inference profile.
type bedrockModel struct {
	id      string
	profile bool
}

func init() {
	for _, m := range []struct {
		names   []string
		id      string
		profile bool
	}{
		{[]string{"claude-opus-5-5"}, "anthropic.claude-opus-5-5", true},
		{[]string{"claude-opus-5"}, "anthropic.claude-opus-5", true},
		{[]string{"claude-sonnet-5"}, "anthropic.claude-sonnet-5", true},
		{[]string{"claude-fable-5-1"}, "anthropic.claude-fable-5-1", true},
		{[]string{"claude-fable-5"}, "anthropic.claude-fable-5", true},
		{[]string{"claude-mythos-5"}, "anthropic.claude-mythos-5", true},
		{[]string{"claude-opus-4-8"}, "anthropic.claude-opus-4-8", true},
		{[]string{"claude-opus-4-7"}, "anthropic.claude-opus-4-7", true},
		{[]string{"claude-opus-4-6"}, "anthropic.claude-opus-4-6-v1", true},
		{[]string{"claude-sonnet-4-6"}, "anthropic.claude-sonnet-4-6", true},
		{[]string{"claude-opus-4-5", "claude-opus-4-5-20251101"}, "anthropic.claude-opus-4-5-20251101-v1:0", true},
		{[]string{"claude-sonnet-4-5", "claude-sonnet-4-5-20250929"}, "anthropic.claude-sonnet-4-5-20250929-v1:0", true},
		{[]string{"claude-haiku-4-5", "claude-haiku-4-5-20251001"}, "anthropic.claude-haiku-4-5-20251001-v1:0", true},
		{[]string{"claude-opus-4-1", "claude-opus-4-1-20250805"}, "anthropic.claude-opus-4-1-20250805-v1:0", true},
		{[]string{"claude-opus-4-0", "claude-opus-4-20250514"}, "anthropic.claude-opus-4-20250514-v1:0", true},
		{[]string{"claude-sonnet-4-0", "claude-sonnet-4-20250514"}, "anthropic.claude-sonnet-4-20250514-v1:0", true},
		{[]string{"claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"}, "anthropic.claude-3-7-sonnet-20250219-v1:0", true},
		{[]string{"claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"}, "anthropic.claude-3-5-haiku-20241022-v1:0", true},
		{[]string{"claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"}, "anthropic.claude-3-5-sonnet-20241022-v2:0", true},
		// Claude 3 and 3.5 Sonnet v1 are served on demand by their ids.
		{[]string{"claude-3-5-sonnet-20240620"}, "anthropic.claude-3-5-sonnet-20240620-v1:0", false},
		{[]string{"claude-3-opus-latest", "claude-3-opus-20240229"}, "anthropic.claude-3-opus-20240229-v1:0", false},
		{[]string{"claude-3-sonnet-20240229"}, "anthropic.claude-3-sonnet-20240229-v1:0", false},
		{[]string{"claude-3-haiku-20240307"}, "anthropic.claude-3-haiku-20240307-v1:0", false},
	} {
		for _, n := range m.names {
			anthropicNames[n] = bedrockModel{id: m.id, profile: m.profile}
		}
	}
}

// modelID is the Bedrock model id for model: model itself unless it is one
// of Anthropic's own names ("claude-..."; Bedrock's ids start with
// "anthropic." or a profile's geography, ARNs with "arn:"), which is looked
// up in anthropicNames and, where Bedrock requires one, given the inference
// profile of the provider's region. An Anthropic name the table lacks is a
// 404 naming the ways to route it.
func (p *Provider) modelID(model string) (string, error) {
	if !strings.HasPrefix(model, "claude-") {
		return model, nil
	}
	m, ok := anthropicNames[model]
	if !ok {
		return "", &openai.Error{Code: openai.CodeModelNotFound, Param: "model", Provider: p.name,
			Message: fmt.Sprintf("provider %s does not know the Bedrock model id of Anthropic's model name `%s`: "+
				"ask for the Bedrock model id or inference profile itself (such as us.anthropic.claude-sonnet-4-5-20250929-v1:0) "+
				"and list it in BEDROCK_MODELS or the provider's models, or set ANTHROPIC_API_KEY to reach Anthropic's API directly", p.name, model)}
	}
	if !m.profile {
		return m.id, nil
	}
	return geoPrefix(p.region, model) + m.id, nil
}

// geoPrefix is the cross-region inference profile a Claude model is called
// through from region (Bedrock's inference-profile docs): the region's own
// geography where Bedrock has one for every Claude model (us., eu., apac.,
// us-gov.); elsewhere (and from Asia Pacific, whose newer models are served
// by jp. and au. profiles rather than apac.) the global. profile, which Claude
// 4.5 and later have. From a region with neither the request goes through
// us. and Bedrock's own error names the problem.
func geoPrefix(region, model string) string {
	major, minor, _ := provider.ClaudeVersion(model)
	global := major > 4 || major == 4 && minor >= 5
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return "us-gov."
	case strings.HasPrefix(region, "us-"), strings.HasPrefix(region, "ca-"):
		return "us."
	case strings.HasPrefix(region, "eu-"):
		return "eu."
	case global:
		return "global."
	case strings.HasPrefix(region, "ap-"):
		return "apac."
	}
	return "us."
}

var _ provider.ModelLister = (*Provider)(nil)

// ListModels implements provider.ModelLister without a call: Bedrock lists
// its catalog on its control-plane API (another client, and an IAM
// permission the gateway's role need not have), and what a client can ask
// for by Anthropic's names is anthropicNames. GET /v1/models shows those the
// provider's patterns match (claude-* in an environment-only
// configuration), and a pattern that matches none of them as itself.
func (p *Provider) ListModels(context.Context) ([]string, error) {
	ids := make([]string, 0, len(anthropicNames))
	for name := range anthropicNames {
		ids = append(ids, name)
	}
	slices.Sort(ids)
	return ids, nil
}

package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/router"
)

// GenerateRequest is the POST /generate body: a prompt, and optionally the
// provider and/or model to send it to.
type GenerateRequest struct {
	Prompt   string `json:"prompt"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// GenerateResponse is the POST /generate answer.
type GenerateResponse struct {
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	Output   string `json:"output"`
	Cached   bool   `json:"cached"`
}

// generate answers a bare prompt: with a model, through that model's route
// (pinned to the provider when one is named); with only a provider, through
// that provider's first model; with neither, over the configured failover
// order. The answer names the provider by its display name.
func (g *Gateway) generate(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var gr GenerateRequest
	if err := decodeJSON(body, &gr); err != nil {
		return err
	}
	if strings.TrimSpace(gr.Prompt) == "" {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "prompt", Message: "prompt is required"}
	}
	req := openai.ChatRequest{Messages: []openai.Message{{Role: "user", Content: openai.TextContent(gr.Prompt)}}}
	in := incoming{endpoint: admission.Generate}
	switch {
	case gr.Model != "":
		req.Model, in.pin = gr.Model, gr.Provider
	case gr.Provider != "":
		p, ok := g.Router.Provider(gr.Provider)
		if !ok {
			return &openai.Error{Code: openai.CodeInvalidRequest, Param: "provider",
				Message: fmt.Sprintf("unknown provider %q; configured: %s", gr.Provider, strings.Join(g.Router.Providers(), ", "))}
		}
		req.Model, in.pin = g.FirstModel[p.Name()], p.Name()
	default:
		in.plan = &router.Plan{Route: "generate", Targets: g.Generate, Retry: g.Config.RetryPolicy(nil)}
	}
	in.model = req.Model
	in.body, _ = json.Marshal(&req)
	in.prompt = int64(pricing.EstimatePromptTokens(&req))
	in.guard = func(profile string) ([]byte, error) {
		p, err := g.Guard.CheckPrompt(profile, gr.Prompt)
		if err != nil {
			return nil, err
		}
		req.Messages[0].Content.Text = p
		return json.Marshal(&req)
	}
	ad, err := g.admit(w, r, rec, in)
	if err != nil {
		return err
	}
	defer ad.ticket.Settle(r.Context(), nil) // a request that failed gives its reservations back
	if e := ad.ticket.Cached(); e != nil {
		rec.cached = true
		ad.ticket.Settle(r.Context(), nil)
		return writeGenerate(w, e.Body, e.Provider, e.Model, true)
	}
	var resp *provider.Response
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, t *router.Target) error {
		rq := req
		rq.Model = t.Model
		raw, err := json.Marshal(&rq)
		if err != nil {
			return err
		}
		resp, err = t.Provider.Chat(ctx, &provider.ChatRequest{Model: t.Model, Body: &rq, Raw: raw})
		return err
	}))
	rec.routed(ad.plan, res)
	if err != nil {
		return err
	}
	res.Done(nil)
	setResultHeaders(w, res)
	charge(w, rec, ad.ticket, res.Target.Model, resp.Usage)
	name := g.DisplayName(res.Target.Provider)
	if err := writeGenerate(w, resp.Body, name, res.Target.Model, false); err != nil {
		ad.ticket.Settle(r.Context(), nil)
		return err
	}
	ad.ticket.Settle(r.Context(), g.cacheEntry(resp.Body, "application/json", name, res.Target.Model))
	return nil
}

func writeGenerate(w http.ResponseWriter, completion []byte, providerName, model string, cached bool) error {
	var cc openai.ChatCompletion
	if err := json.Unmarshal(completion, &cc); err != nil {
		return provider.BadUpstreamBody(providerName, err)
	}
	out := GenerateResponse{Provider: providerName, Model: model, Cached: cached}
	if len(cc.Choices) > 0 && cc.Choices[0].Message.Content != nil {
		out.Output = *cc.Choices[0].Message.Content
	}
	return writeJSON(w, http.StatusOK, out)
}

package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/openaicompat"
	"github.com/aigateway/gateway/internal/router"
)

func (g *Gateway) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	var req openai.EmbeddingsRequest
	if err := decodeJSON(body, &req); err != nil {
		g.fail(w, r, err)
		return
	}
	if req.Model == "" {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "you must provide a model parameter"})
		return
	}
	if len(req.Input) == 0 || string(req.Input) == "null" || string(req.Input) == `""` || string(req.Input) == "[]" {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "input", Message: "input must be a non-empty string or array"})
		return
	}
	guard := func(profile string) ([]byte, error) {
		in, ok := req.InputStrings()
		if !ok {
			return body, nil // token arrays are not text
		}
		changed := false
		for i, s := range in {
			out, err := g.guard.CheckText(profile, "input", s)
			if err != nil {
				return nil, err
			}
			if out != s {
				in[i], changed = out, true
			}
		}
		if !changed {
			return body, nil
		}
		var v any = in
		if len(req.Input) > 0 && req.Input[0] == '"' {
			v = in[0]
		}
		nb, err := sjson.SetBytes(body, "input", v)
		if err != nil {
			return nil, err
		}
		req.Input, _ = json.Marshal(v)
		body = nb
		return nb, nil
	}
	g.forwardGuarded(w, r, req.Model, req.User, body, "embeddings", guard, func(p provider.Provider) bool {
		_, ok := p.(provider.Embedder)
		return ok
	}, func(ctx context.Context, t *router.Target) (*provider.Response, error) {
		return t.Provider.(provider.Embedder).Embeddings(ctx, &provider.EmbeddingsRequest{Model: t.Model, Body: &req, Raw: body})
	})
}

func (g *Gateway) handleImages(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	var probe struct {
		Model  string `json:"model"`
		Prompt string `json:"prompt"`
	}
	if err := decodeJSON(body, &probe); err != nil {
		g.fail(w, r, err)
		return
	}
	if probe.Prompt == "" {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "prompt", Message: "prompt is required"})
		return
	}
	if probe.Model == "" {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "you must provide a model parameter"})
		return
	}
	g.forward(w, r, probe.Model, gjson.GetBytes(body, "user").String(), body, "image generation", func(p provider.Provider) bool {
		_, ok := p.(provider.ImageGenerator)
		return ok
	}, func(ctx context.Context, t *router.Target) (*provider.Response, error) {
		return t.Provider.(provider.ImageGenerator).ImageGenerations(ctx, &provider.RawRequest{Model: t.Model, Body: body, ContentType: "application/json"})
	})
}

func (g *Gateway) handleTranscriptions(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	model, err := openaicompat.MultipartField(body, ct, "model")
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if model == "" {
		g.fail(w, r, &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "you must provide a model parameter"})
		return
	}
	g.forward(w, r, model, "", nil, "audio transcription", func(p provider.Provider) bool {
		_, ok := p.(provider.Transcriber)
		return ok
	}, func(ctx context.Context, t *router.Target) (*provider.Response, error) {
		return t.Provider.(provider.Transcriber).AudioTranscriptions(ctx, &provider.RawRequest{Model: t.Model, Body: body, ContentType: ct})
	})
}

// forward resolves the model and runs a one-shot call over the plan. Targets
// that lack the endpoint are skipped; when none has it the client gets a 400.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, model, user string, body []byte, what string,
	supports func(provider.Provider) bool, call func(ctx context.Context, t *router.Target) (*provider.Response, error)) {
	g.forwardGuarded(w, r, model, user, body, what, nil, supports, call)
}

// forwardGuarded is forward with content rules applied to the body first.
func (g *Gateway) forwardGuarded(w http.ResponseWriter, r *http.Request, model, user string, body []byte, what string,
	guard func(string) ([]byte, error), supports func(provider.Provider) bool,
	call func(ctx context.Context, t *router.Target) (*provider.Response, error)) {
	pq := prepareRequest{model: model, user: user, body: body, endpoint: what, cacheable: what == "embeddings" && body != nil, guard: guard}
	pr, ok := g.prepare(w, r, pq)
	if !ok {
		return
	}
	var capable []*router.Target
	for _, t := range pr.plan.Targets {
		if supports(t.Provider) {
			capable = append(capable, t)
		}
	}
	if len(capable) == 0 {
		g.settle(r.Context(), pr.adm, nil, openai.Usage{}, 0, nil)
		g.fail(w, r, provider.Unsupported(pr.plan.Targets[0].Provider.Name(), what))
		return
	}
	if e := pr.adm.cached; e != nil {
		info(r.Context()).cached = true
		w.Header().Set("X-Gateway-Provider", e.Provider)
		w.Header().Set("X-Gateway-Model", e.Model)
		w.Header().Set("X-Gateway-Cost-Usd", "0")
		writeBody(w, &provider.Response{Body: e.Body, ContentType: e.ContentType})
		g.settle(r.Context(), pr.adm, nil, openai.Usage{}, 0, nil)
		return
	}
	pr.plan.Targets = capable
	var resp *provider.Response
	res, err := g.router.Run(r.Context(), pr.plan, g.limited(pr, func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = call(ctx, t)
		return err
	}))
	info(r.Context()).setResult(pr.plan, res)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	res.Done(nil)
	cacheType := ""
	if pq.cacheable {
		cacheType = resp.ContentType
		if cacheType == "" {
			cacheType = "application/json"
		}
	}
	g.finish(w, r, pr, res, resp, cacheType)
}

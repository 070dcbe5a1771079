package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/openaicompat"
	"github.com/aigateway/gateway/internal/router"
)

func (g *Gateway) embeddings(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req openai.EmbeddingsRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.Model == "" {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "you must provide a model parameter"}
	}
	if len(req.Input) == 0 || string(req.Input) == "null" || string(req.Input) == `""` || string(req.Input) == "[]" {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "input", Message: "input must be a non-empty string or array"}
	}
	guard := func(profile string) ([]byte, error) {
		in, ok := req.InputStrings()
		if !ok {
			return body, nil // token arrays are not text
		}
		changed := false
		for i, s := range in {
			out, err := g.Guard.CheckText(profile, "input", s)
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
	return g.oneShot(w, r, rec, incoming{endpoint: admission.Embeddings, model: req.Model, user: req.User, body: body, guard: guard},
		func(ctx context.Context, t *router.Target) (*provider.Response, error) {
			return t.Provider.(provider.Embedder).Embeddings(ctx, &provider.EmbeddingsRequest{Model: t.Model, Body: &req, Raw: body})
		})
}

func (g *Gateway) images(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var probe struct {
		Model  string `json:"model"`
		Prompt string `json:"prompt"`
	}
	if err := decodeJSON(body, &probe); err != nil {
		return err
	}
	if probe.Prompt == "" {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "prompt", Message: "prompt is required"}
	}
	if probe.Model == "" {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "you must provide a model parameter"}
	}
	return g.oneShot(w, r, rec, incoming{endpoint: admission.Images, model: probe.Model, user: gjson.GetBytes(body, "user").String(), body: body, guard: g.Guard.PromptBodyGuard(&body)},
		func(ctx context.Context, t *router.Target) (*provider.Response, error) {
			return t.Provider.(provider.ImageGenerator).ImageGenerations(ctx, &provider.RawRequest{Model: t.Model, Body: body, ContentType: "application/json"})
		})
}

func (g *Gateway) transcriptions(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	model, err := openaicompat.MultipartField(body, ct, "model")
	if err != nil {
		return err
	}
	if model == "" {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "model", Message: "you must provide a model parameter"}
	}
	return g.oneShot(w, r, rec, incoming{endpoint: admission.Transcriptions, model: model},
		func(ctx context.Context, t *router.Target) (*provider.Response, error) {
			return t.Provider.(provider.Transcriber).AudioTranscriptions(ctx, &provider.RawRequest{Model: t.Model, Body: body, ContentType: ct})
		})
}

// oneShot admits a request and runs one non-streaming call over the plan.
// Targets that cannot serve the endpoint are skipped; when none can, the
// client gets a 400.
func (g *Gateway) oneShot(w http.ResponseWriter, r *http.Request, rec *record, in incoming,
	call func(ctx context.Context, t *router.Target) (*provider.Response, error)) error {
	ad, err := g.admit(w, r, rec, in)
	if err != nil {
		return err
	}
	defer ad.ticket.Settle(r.Context(), nil) // a request that failed gives its reservations back
	var capable []*router.Target
	for _, t := range ad.plan.Targets {
		if in.endpoint.Serves == nil || in.endpoint.Serves(t.Provider) {
			capable = append(capable, t)
		}
	}
	if len(capable) == 0 {
		ad.ticket.Settle(r.Context(), nil)
		return unsupported(ad.plan, in.endpoint)
	}
	if e := ad.ticket.Cached(); e != nil {
		servedFromCache(w, rec, ad)
		writeBody(w, e.Body, e.ContentType)
		ad.ticket.Settle(r.Context(), nil)
		return nil
	}
	ad.plan.Targets = capable
	var resp *provider.Response
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = call(ctx, t)
		return err
	}))
	rec.routed(ad.plan, res)
	if err != nil {
		return err
	}
	res.Done(nil)
	cacheType := ""
	if ad.ticket.CacheMode() == admission.CacheMiss {
		cacheType = resp.ContentType
		if cacheType == "" {
			cacheType = "application/json"
		}
	}
	g.finish(w, r, rec, ad, res, resp, cacheType)
	return nil
}

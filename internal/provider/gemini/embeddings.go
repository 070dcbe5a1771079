package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// Batch sizes per upstream call: AI Studio's batchEmbedContents takes up to
// 100 requests; Vertex's predict takes up to 250 instances, except the Gemini
// embedding models, which take one.
const (
	geminiEmbedBatch = 100
	vertexEmbedBatch = 250
)

// Embeddings implements provider.Embedder. AI Studio (batchEmbedContents)
// reports no token counts, so its usage is 0, as provider.Response.Usage
// documents for an upstream that reports none; Vertex's predict reports the
// token count of each input, which is summed.
func (p *Provider) Embeddings(ctx context.Context, req *provider.EmbeddingsRequest) (*provider.Response, error) {
	inputs, ok := req.Body.InputStrings()
	if !ok {
		return nil, invalid("input", "Gemini embeddings take a string or an array of strings, not tokens")
	}
	if len(inputs) == 0 {
		return nil, invalid("input", "input must not be empty")
	}
	asBase64, oerr := req.Body.WantsBase64()
	if oerr != nil {
		return nil, oerr
	}
	embed, batch := p.embedGemini, geminiEmbedBatch
	if p.kind == KindVertex {
		embed, batch = p.embedVertex, vertexEmbedBatch
		if strings.HasPrefix(req.Model, "gemini-embedding") {
			batch = 1
		}
	}
	vectors := make([][]float64, 0, len(inputs))
	tokens := 0
	for start := 0; start < len(inputs); start += batch {
		part := inputs[start:min(start+batch, len(inputs))]
		vs, n, err := embed(ctx, req.Model, part, req.Body.Dimensions)
		if err != nil {
			return nil, err
		}
		if len(vs) != len(part) {
			return nil, provider.BadUpstreamBody(p.up.Name, fmt.Errorf("%d embeddings for %d inputs", len(vs), len(part)))
		}
		vectors = append(vectors, vs...)
		tokens += n
	}

	u := openai.Usage{PromptTokens: tokens, TotalTokens: tokens}
	out := openai.EmbeddingsResponse{Object: "list", Model: req.Model, Usage: u, Data: openai.NewEmbeddings(vectors, asBase64)}
	body, err := provider.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: body, ContentType: "application/json", Usage: u}, nil
}

func (p *Provider) embedGemini(ctx context.Context, model string, inputs []string, dims *int) ([][]float64, int, error) {
	req := batchEmbedRequest{Requests: make([]embedRequest, len(inputs))}
	name := geminiModelPath(model)
	for i, in := range inputs {
		req.Requests[i] = embedRequest{Model: name, Content: content{Parts: []part{{Text: in}}}, OutputDimensionality: dims}
	}
	body, err := p.post(ctx, p.modelURL(model, "batchEmbedContents"), req)
	if err != nil {
		return nil, 0, err
	}
	var resp batchEmbedResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, 0, provider.BadUpstreamBody(p.up.Name, err)
	}
	vs := make([][]float64, len(resp.Embeddings))
	for i, e := range resp.Embeddings {
		vs[i] = e.Values
	}
	return vs, 0, nil
}

func (p *Provider) embedVertex(ctx context.Context, model string, inputs []string, dims *int) ([][]float64, int, error) {
	req := vertexPredictRequest{Instances: make([]vertexEmbedInstance, len(inputs))}
	for i, in := range inputs {
		req.Instances[i] = vertexEmbedInstance{Content: in}
	}
	if dims != nil {
		req.Parameters = &vertexEmbedParams{OutputDimensionality: dims}
	}
	body, err := p.post(ctx, p.modelURL(model, "predict"), req)
	if err != nil {
		return nil, 0, err
	}
	var resp vertexPredictResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, 0, provider.BadUpstreamBody(p.up.Name, err)
	}
	vs := make([][]float64, len(resp.Predictions))
	tokens := 0
	for i, pr := range resp.Predictions {
		vs[i] = pr.Embeddings.Values
		tokens += int(pr.Embeddings.Statistics.TokenCount)
	}
	return vs, tokens, nil
}

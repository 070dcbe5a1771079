package gemini

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
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
	format := req.Body.EncodingFormat
	if format != "" && format != "float" && format != "base64" {
		return nil, invalid("encoding_format", fmt.Sprintf("encoding_format %q is not supported", format))
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
			return nil, provider.BadUpstreamBody(p.name, fmt.Errorf("%d embeddings for %d inputs", len(vs), len(part)))
		}
		vectors = append(vectors, vs...)
		tokens += n
	}

	u := openai.Usage{PromptTokens: tokens, TotalTokens: tokens}
	out := embeddingsResponse{Object: "list", Model: req.Model, Usage: u, Data: make([]embeddingOut, len(vectors))}
	for i, v := range vectors {
		out.Data[i] = embeddingOut{Object: "embedding", Index: i, Embedding: v}
		if format == "base64" {
			out.Data[i].Embedding = float32Base64(v)
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Message: "could not encode the response"}
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
		return nil, 0, provider.BadUpstreamBody(p.name, err)
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
		return nil, 0, provider.BadUpstreamBody(p.name, err)
	}
	vs := make([][]float64, len(resp.Predictions))
	tokens := 0
	for i, pr := range resp.Predictions {
		vs[i] = pr.Embeddings.Values
		tokens += int(pr.Embeddings.Statistics.TokenCount)
	}
	return vs, tokens, nil
}

// embeddingsResponse is openai.EmbeddingsResponse with an embedding that may
// also be a base64 string (encoding_format "base64", which OpenAI's SDKs ask
// for by default): little-endian float32s, as OpenAI sends them.
type embeddingsResponse struct {
	Object string         `json:"object"`
	Data   []embeddingOut `json:"data"`
	Model  string         `json:"model"`
	Usage  openai.Usage   `json:"usage"`
}

type embeddingOut struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

func float32Base64(v []float64) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(f)))
	}
	return base64.StdEncoding.EncodeToString(b)
}

package cohere

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// embedInputType is the input_type sent with every embeddings call. OpenAI's
// API has no such notion; "search_document" suits the most common use
// (embedding texts to store and search later).
const embedInputType = "search_document"

// embedRequest is the body of POST /v2/embed.
type embedRequest struct {
	Model           string   `json:"model"`
	Texts           []string `json:"texts"`
	InputType       string   `json:"input_type"`
	EmbeddingTypes  []string `json:"embedding_types"`
	OutputDimension *int     `json:"output_dimension,omitempty"`
}

// embedResponse is the answer of /v2/embed. embeddings is
// {"float":[[...]]} (response_type embeddings_by_type, what v2 sends when
// embedding_types is set); a bare array of vectors is accepted too.
type embedResponse struct {
	Embeddings json.RawMessage `json:"embeddings"`
	Meta       struct {
		BilledUnits struct {
			InputTokens float64 `json:"input_tokens"`
		} `json:"billed_units"`
	} `json:"meta"`
}

// embeddingsList is OpenAI's embeddings answer; Embedding is []float64, or a
// base64 string of little-endian float32s when the client asked for base64
// (as OpenAI's SDKs do by default).
type embeddingsList struct {
	Object string          `json:"object"`
	Data   []embeddingItem `json:"data"`
	Model  string          `json:"model"`
	Usage  embedUsage      `json:"usage"`
}

// embedUsage is the usage of an embeddings answer: prompt tokens only.
type embedUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

type embeddingItem struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// Embeddings implements provider.Embedder.
func (p *Provider) Embeddings(ctx context.Context, req *provider.EmbeddingsRequest) (*provider.Response, error) {
	if req == nil || req.Body == nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Provider: p.name, Message: "empty embeddings request"}
	}
	body, format, oerr := translateEmbedRequest(req.Model, req.Body)
	if oerr != nil {
		oerr.Provider = p.name
		return nil, oerr
	}
	b, err := marshal(body)
	if err != nil {
		return nil, err
	}
	raw, err := provider.DoJSON(ctx, p.client, p.name, http.MethodPost, p.base+"/v2/embed", p.header(), b, nil)
	if err != nil {
		return nil, p.redact(err)
	}
	out, u, err := translateEmbedResponse(p.name, req.Model, len(body.Texts), format, raw)
	if err != nil {
		return nil, p.redact(err)
	}
	return &provider.Response{Body: out, ContentType: "application/json", Usage: u}, nil
}

func translateEmbedRequest(model string, in *openai.EmbeddingsRequest) (*embedRequest, string, *openai.Error) {
	format := in.EncodingFormat
	switch format {
	case "", "float":
		format = "float"
	case "base64":
	default:
		return nil, "", invalid("encoding_format", `encoding_format must be "float" or "base64"`)
	}
	texts, ok := in.InputStrings()
	if !ok {
		return nil, "", invalid("input", "Cohere embeds text: input must be a string or an array of strings, not tokens")
	}
	if len(texts) == 0 {
		return nil, "", invalid("input", "input must not be empty")
	}
	return &embedRequest{Model: model, Texts: texts, InputType: embedInputType,
		EmbeddingTypes: []string{"float"}, OutputDimension: in.Dimensions}, format, nil
}

func translateEmbedResponse(providerName, model string, want int, format string, raw []byte) ([]byte, openai.Usage, error) {
	var r embedResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, err)
	}
	var vectors [][]float64
	e := bytes.TrimSpace(r.Embeddings)
	if len(e) > 0 && e[0] == '[' {
		if err := json.Unmarshal(e, &vectors); err != nil {
			return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, err)
		}
	} else {
		var byType struct {
			Float [][]float64 `json:"float"`
		}
		if err := decodeObject(e, &byType); err != nil {
			return nil, openai.Usage{}, provider.BadUpstreamBody(providerName, err)
		}
		vectors = byType.Float
	}
	if len(vectors) != want {
		return nil, openai.Usage{}, provider.BadUpstreamBody(providerName,
			fmt.Errorf("%d embeddings for %d inputs", len(vectors), want))
	}
	in := count(r.Meta.BilledUnits.InputTokens)
	out := embeddingsList{Object: "list", Model: model, Data: make([]embeddingItem, len(vectors)),
		Usage: embedUsage{PromptTokens: in, TotalTokens: in}}
	for i, v := range vectors {
		item := embeddingItem{Object: "embedding", Index: i, Embedding: v}
		if format == "base64" {
			item.Embedding = float32Base64(v)
		}
		out.Data[i] = item
	}
	b, err := marshal(out)
	if err != nil {
		return nil, openai.Usage{}, err
	}
	return b, openai.Usage{PromptTokens: in, TotalTokens: in}, nil
}

// float32Base64 encodes a vector as OpenAI's base64 embeddings: the bytes of
// little-endian float32s.
func float32Base64(v []float64) string {
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(f)))
	}
	return base64.StdEncoding.EncodeToString(buf)
}

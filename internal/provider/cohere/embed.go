package cohere

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// embedInputType is the input_type sent with every embeddings call. OpenAI's
// API has no such notion; "search_document" suits the most common use
// (embedding texts to store and search later).
const embedInputType = "search_document"

// embedBatch is the most texts one /v2/embed call takes (Cohere's limit);
// larger inputs are sent in batches of this size, in order.
const embedBatch = 96

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

// embeddingsList is OpenAI's embeddings answer with the usage OpenAI sends
// for embeddings (prompt and total tokens only): openai.EmbeddingsResponse
// would add completion_tokens.
type embeddingsList struct {
	Object string             `json:"object"`
	Data   []openai.Embedding `json:"data"`
	Model  string             `json:"model"`
	Usage  embedUsage         `json:"usage"`
}

// embedUsage is the usage of an embeddings answer: prompt tokens only.
type embedUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// Embeddings implements provider.Embedder. Inputs beyond embedBatch texts go
// in consecutive calls of at most embedBatch, one after the other; their
// vectors are joined in input order and their billed tokens summed. A failed
// batch fails the request.
func (p *Provider) Embeddings(ctx context.Context, req *provider.EmbeddingsRequest) (*provider.Response, error) {
	if req == nil || req.Body == nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Provider: p.up.Name, Message: "empty embeddings request"}
	}
	body, format, oerr := translateEmbedRequest(req.Model, req.Body)
	if oerr != nil {
		oerr.Provider = p.up.Name
		return nil, oerr
	}
	texts := body.Texts
	vectors := make([][]float64, 0, len(texts))
	tokens := 0
	for start := 0; start < len(texts); start += embedBatch {
		batch := *body
		batch.Texts = texts[start:min(start+embedBatch, len(texts))]
		b, err := provider.Marshal(&batch)
		if err != nil {
			return nil, err
		}
		raw, err := p.up.DoJSON(ctx, http.MethodPost, p.base+"/v2/embed", p.header(), b, nil)
		if err != nil {
			return nil, err
		}
		vs, n, err := decodeEmbedResponse(p.up.Name, len(batch.Texts), raw)
		if err != nil {
			return nil, err
		}
		vectors = append(vectors, vs...)
		tokens += n
	}
	out, u, err := renderEmbeddings(req.Model, format, vectors, tokens)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: out, ContentType: "application/json", Usage: u}, nil
}

// translateEmbedRequest builds the /v2/embed body, and returns the
// encoding_format of the answer: "float" or "base64".
func translateEmbedRequest(model string, in *openai.EmbeddingsRequest) (*embedRequest, string, *openai.Error) {
	asBase64, err := in.WantsBase64()
	if err != nil {
		return nil, "", err
	}
	format := "float"
	if asBase64 {
		format = "base64"
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

// translateEmbedResponse translates one /v2/embed answer for want texts.
func translateEmbedResponse(providerName, model string, want int, format string, raw []byte) ([]byte, openai.Usage, error) {
	vectors, tokens, err := decodeEmbedResponse(providerName, want, raw)
	if err != nil {
		return nil, openai.Usage{}, err
	}
	return renderEmbeddings(model, format, vectors, tokens)
}

// decodeEmbedResponse reads the vectors and billed input tokens of one
// /v2/embed answer, which must hold one vector for each of the want texts.
func decodeEmbedResponse(providerName string, want int, raw []byte) ([][]float64, int, error) {
	var r embedResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, 0, provider.BadUpstreamBody(providerName, err)
	}
	var vectors [][]float64
	e := bytes.TrimSpace(r.Embeddings)
	if len(e) > 0 && e[0] == '[' {
		if err := json.Unmarshal(e, &vectors); err != nil {
			return nil, 0, provider.BadUpstreamBody(providerName, err)
		}
	} else {
		var byType struct {
			Float [][]float64 `json:"float"`
		}
		if err := decodeObject(e, &byType); err != nil {
			return nil, 0, provider.BadUpstreamBody(providerName, err)
		}
		vectors = byType.Float
	}
	if len(vectors) != want {
		return nil, 0, provider.BadUpstreamBody(providerName,
			fmt.Errorf("%d embeddings for %d inputs", len(vectors), want))
	}
	return vectors, count(r.Meta.BilledUnits.InputTokens), nil
}

// renderEmbeddings is OpenAI's embeddings answer for vectors, in input
// order, with the billed input tokens as usage.
func renderEmbeddings(model, format string, vectors [][]float64, tokens int) ([]byte, openai.Usage, error) {
	out := embeddingsList{Object: "list", Model: model, Data: openai.NewEmbeddings(vectors, format == "base64"),
		Usage: embedUsage{PromptTokens: tokens, TotalTokens: tokens}}
	b, err := provider.Marshal(out)
	if err != nil {
		return nil, openai.Usage{}, err
	}
	return b, openai.Usage{PromptTokens: tokens, TotalTokens: tokens}, nil
}

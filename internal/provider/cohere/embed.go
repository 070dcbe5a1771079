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

// Embeddings implements provider.Embedder.
func (p *Provider) Embeddings(ctx context.Context, req *provider.EmbeddingsRequest) (*provider.Response, error) {
	if req == nil || req.Body == nil {
		return nil, &openai.Error{Code: openai.CodeInternal, Provider: p.up.Name, Message: "empty embeddings request"}
	}
	body, format, oerr := translateEmbedRequest(req.Model, req.Body)
	if oerr != nil {
		oerr.Provider = p.up.Name
		return nil, oerr
	}
	b, err := provider.Marshal(body)
	if err != nil {
		return nil, err
	}
	raw, err := p.up.DoJSON(ctx, http.MethodPost, p.base+"/v2/embed", p.header(), b, nil)
	if err != nil {
		return nil, err
	}
	out, u, err := translateEmbedResponse(p.up.Name, req.Model, len(body.Texts), format, raw)
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
	out := embeddingsList{Object: "list", Model: model, Data: openai.NewEmbeddings(vectors, format == "base64"),
		Usage: embedUsage{PromptTokens: in, TotalTokens: in}}
	b, err := provider.Marshal(out)
	if err != nil {
		return nil, openai.Usage{}, err
	}
	return b, openai.Usage{PromptTokens: in, TotalTokens: in}, nil
}

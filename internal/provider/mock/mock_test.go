package mock

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

func embed(t *testing.T, format string) (*provider.Response, error) {
	t.Helper()
	p := New(provider.Config{Name: "mock"})
	return p.Embeddings(context.Background(), &provider.EmbeddingsRequest{Model: "m",
		Body: &openai.EmbeddingsRequest{Input: json.RawMessage(`["a b","c"]`), EncodingFormat: format}})
}

func TestEmbeddingsHonourEncodingFormat(t *testing.T) {
	floats, err := embed(t, "")
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := embed(t, "base64")
	if err != nil {
		t.Fatal(err)
	}
	var f, b openai.EmbeddingsResponse
	if err := json.Unmarshal(floats.Body, &f); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Data []struct {
			Embedding any `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(encoded.Body, &raw); err != nil || len(raw.Data) != 2 {
		t.Fatalf("base64 body = %s (%v)", encoded.Body, err)
	}
	if _, ok := raw.Data[0].Embedding.(string); !ok {
		t.Fatalf("base64 embedding is %T, want a string", raw.Data[0].Embedding)
	}
	if err := json.Unmarshal(encoded.Body, &b); err != nil {
		t.Fatal(err)
	}
	if len(f.Data) != 2 || f.Data[0].Base64 || !b.Data[0].Base64 {
		t.Fatalf("float %+v, base64 %+v", f.Data, b.Data)
	}
	for i := range f.Data {
		if len(b.Data[i].Embedding) != 8 {
			t.Fatalf("base64 vector %d has %d values", i, len(b.Data[i].Embedding))
		}
		for j, v := range f.Data[i].Embedding {
			if float32(v) != float32(b.Data[i].Embedding[j]) {
				t.Errorf("vector %d value %d: float %v, base64 %v", i, j, v, b.Data[i].Embedding[j])
			}
		}
	}
	if floats.Usage.PromptTokens != 3 || encoded.Usage != floats.Usage {
		t.Errorf("usage %+v and %+v, want 3 prompt tokens for both", floats.Usage, encoded.Usage)
	}
}

func TestEmbeddingsRefuseAnUnknownEncodingFormat(t *testing.T) {
	_, err := embed(t, "int8")
	if e := openai.AsError(err); e == nil || e.HTTPStatus() != 400 || e.Param != "encoding_format" {
		t.Errorf("err = %v, want a 400 on encoding_format", err)
	}
}

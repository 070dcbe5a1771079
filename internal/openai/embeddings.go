package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// WantsBase64 reports whether the client asked for base64 embeddings
// (encoding_format "base64", what OpenAI's SDKs ask for by default) rather
// than arrays of numbers (no encoding_format, or "float"). Any other format
// is a 400 naming encoding_format.
func (r *EmbeddingsRequest) WantsBase64() (bool, *Error) {
	switch r.EncodingFormat {
	case "", "float":
		return false, nil
	case "base64":
		return true, nil
	}
	return false, &Error{Code: CodeInvalidRequest, Param: "encoding_format",
		Message: fmt.Sprintf(`encoding_format %q is not supported: use "float" or "base64"`, r.EncodingFormat)}
}

// NewEmbeddings makes the data of an embeddings answer: vectors[i] is the
// embedding of input i, in base64 form when asBase64 is set.
func NewEmbeddings(vectors [][]float64, asBase64 bool) []Embedding {
	out := make([]Embedding, len(vectors))
	for i, v := range vectors {
		out[i] = Embedding{Object: "embedding", Index: i, Embedding: v, Base64: asBase64}
	}
	return out
}

// embeddingWire is Embedding as JSON, its vector in either form.
type embeddingWire struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// MarshalJSON writes the vector as an array of numbers, or as
// EncodeFloat32Base64 of it when e.Base64 is set.
func (e Embedding) MarshalJSON() ([]byte, error) {
	w := embeddingWire{Object: e.Object, Index: e.Index, Embedding: e.Embedding}
	if e.Base64 {
		w.Embedding = EncodeFloat32Base64(e.Embedding)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads either form of the vector; a base64 string sets Base64.
func (e *Embedding) UnmarshalJSON(b []byte) error {
	var w struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Embedding{Object: w.Object, Index: w.Index}
	raw := bytes.TrimSpace(w.Embedding)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		v, err := DecodeFloat32Base64(s)
		if err != nil {
			return err
		}
		e.Embedding, e.Base64 = v, true
		return nil
	}
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, &e.Embedding)
}

// EncodeFloat32Base64 encodes a vector as OpenAI's base64 embeddings do: the
// bytes of its values as little-endian IEEE 754 float32s, in standard base64.
func EncodeFloat32Base64(v []float64) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(f)))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeFloat32Base64 is the inverse of EncodeFloat32Base64.
func DecodeFloat32Base64(s string) ([]float64, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("base64 embedding: %w", err)
	}
	if len(b)%4 != 0 {
		return nil, errors.New("base64 embedding: the length is not a multiple of 4 bytes")
	}
	v := make([]float64, len(b)/4)
	for i := range v {
		v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return v, nil
}

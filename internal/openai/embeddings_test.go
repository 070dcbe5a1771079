package openai

import (
	"encoding/json"
	"testing"
)

func TestBase64EmbeddingsAreLittleEndianFloat32AsOpenAISendsThem(t *testing.T) {
	// The bytes of float32 1.0 (00 00 80 3f), -2.0 (00 00 00 c0) and 0.5
	// (00 00 00 3f), little-endian, in standard base64.
	if got := EncodeFloat32Base64([]float64{1, -2, 0.5}); got != "AACAPwAAAMAAAAA/" {
		t.Errorf("EncodeFloat32Base64 = %q, want AACAPwAAAMAAAAA/", got)
	}
	// Values are rounded to float32: 0.1 is cd cc cc 3d.
	if got := EncodeFloat32Base64([]float64{0.1, -0.25}); got != "zczMPQAAgL4=" {
		t.Errorf("EncodeFloat32Base64 = %q, want zczMPQAAgL4=", got)
	}
	v, err := DecodeFloat32Base64("AACAPwAAAMAAAAA/")
	if err != nil || len(v) != 3 || v[0] != 1 || v[1] != -2 || v[2] != 0.5 {
		t.Errorf("DecodeFloat32Base64 = %v, %v", v, err)
	}
	for _, bad := range []string{"%%%", "AAAA", "AACAPwA="} {
		if _, err := DecodeFloat32Base64(bad); err == nil {
			t.Errorf("DecodeFloat32Base64(%q) accepted it", bad)
		}
	}
}

func TestEmbeddingsMarshalInTheFormatAskedFor(t *testing.T) {
	vectors := [][]float64{{1, -2, 0.5}, {0.25}}
	resp := EmbeddingsResponse{Object: "list", Model: "m", Data: NewEmbeddings(vectors, false)}
	got, _ := json.Marshal(resp)
	want := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,-2,0.5]},{"object":"embedding","index":1,"embedding":[0.25]}],"model":"m","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`
	if string(got) != want {
		t.Errorf("float JSON =\n%s\nwant\n%s", got, want)
	}
	resp.Data = NewEmbeddings(vectors, true)
	got, _ = json.Marshal(resp)
	want = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPwAAAMAAAAA/"},{"object":"embedding","index":1,"embedding":"AACAPg=="}],"model":"m","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`
	if string(got) != want {
		t.Errorf("base64 JSON =\n%s\nwant\n%s", got, want)
	}
}

func TestEmbeddingsUnmarshalEitherForm(t *testing.T) {
	var r EmbeddingsResponse
	body := `{"data":[{"object":"embedding","index":0,"embedding":[0.5,1]},{"object":"embedding","index":1,"embedding":"AACAPwAAAMAAAAA/"}]}`
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	a, b := r.Data[0], r.Data[1]
	if a.Base64 || len(a.Embedding) != 2 || a.Embedding[1] != 1 {
		t.Errorf("float embedding = %+v", a)
	}
	if !b.Base64 || b.Index != 1 || len(b.Embedding) != 3 || b.Embedding[1] != -2 {
		t.Errorf("base64 embedding = %+v", b)
	}
	if err := json.Unmarshal([]byte(`{"embedding":"%%%"}`), &a); err == nil {
		t.Error("a string that is not base64 was accepted")
	}
}

func TestWantsBase64(t *testing.T) {
	for format, want := range map[string]bool{"": false, "float": false, "base64": true} {
		got, err := (&EmbeddingsRequest{EncodingFormat: format}).WantsBase64()
		if err != nil || got != want {
			t.Errorf("WantsBase64(%q) = %v, %v", format, got, err)
		}
	}
	_, err := (&EmbeddingsRequest{EncodingFormat: "int8"}).WantsBase64()
	if err == nil || err.HTTPStatus() != 400 || err.Param != "encoding_format" {
		t.Errorf("WantsBase64(int8) = %v, want a 400 on encoding_format", err)
	}
}

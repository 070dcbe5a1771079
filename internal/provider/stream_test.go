package provider

import (
	"encoding/json"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func TestChunkBuilderRendersTheChoiceIndexAndNoHTMLEscapes(t *testing.T) {
	b := &ChunkBuilder{ID: "id", Model: "m", Created: 1}
	c := b.At(2).Text("<tag> & more")
	want := `{"id":"id","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":2,"delta":{"content":"<tag> & more"},"finish_reason":null}]}`
	if string(c.Data) != want {
		t.Errorf("chunk =\n%s\nwant\n%s", c.Data, want)
	}
	var ch openai.ChatCompletionChunk
	if err := json.Unmarshal(b.Finish("stop").Data, &ch); err != nil || ch.Choices[0].Index != 0 {
		t.Errorf("At changed the builder it was called on: %+v (%v)", ch, err)
	}
}

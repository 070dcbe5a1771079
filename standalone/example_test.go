package standalone_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/aigateway/gateway/standalone"
)

// config routes "fast" to the in-process mock provider, which echoes the prompt.
const config = `
[[providers]]
name = "mock"
kind = "mock"
models = ["mock-echo"]

[aliases]
fast = "mock-echo"
`

func Example() {
	ctx := context.Background()
	gw, err := standalone.FromTOML(ctx, config, os.Getenv)
	if err != nil {
		panic(err)
	}
	answer, err := gw.Chat(ctx, &standalone.ChatRequest{Model: "fast",
		Messages: []standalone.Message{{Role: "user", Content: standalone.TextContent("hello")}}})
	if err != nil {
		panic(err)
	}
	fmt.Println(answer.Provider, answer.Model, *answer.Completion.Choices[0].Message.Content)
	// Output: mock mock-echo echo: hello
}

func TestAStreamDeliversEveryChunkThenEOF(t *testing.T) {
	ctx := context.Background()
	gw, err := standalone.FromTOML(ctx, config, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gw.ChatStream(ctx, &standalone.ChatRequest{Model: "mock-echo",
		Messages: []standalone.Message{{Role: "user", Content: standalone.TextContent("stream me")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var text strings.Builder
	for {
		c, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(gjson.GetBytes(c, "choices.0.delta.content").String())
	}
	if text.String() != "echo: stream me" || s.Provider != "mock" {
		t.Fatalf("streamed %q from %s", text.String(), s.Provider)
	}
}

func TestEmbeddingsAndUnknownModels(t *testing.T) {
	ctx := context.Background()
	gw, err := standalone.FromTOML(ctx, config, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	body, err := gw.Embeddings(ctx, &standalone.EmbeddingsRequest{Model: "mock-echo", Input: []byte(`["a","b"]`)})
	if err != nil || gjson.GetBytes(body, "data.#").Int() != 2 {
		t.Fatalf("%s %v", body, err)
	}
	_, err = gw.Chat(ctx, &standalone.ChatRequest{Model: "nope", Messages: []standalone.Message{{Role: "user", Content: standalone.TextContent("x")}}})
	var e *standalone.Error
	if !errors.As(err, &e) || e.HTTPStatus() != 404 {
		t.Fatalf("an unknown model: %v", err)
	}
}

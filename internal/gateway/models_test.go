package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/openai"
)

// fakeAnthropicModels serves Anthropic's GET /v1/models in two pages,
// refusing a request without the key and version headers.
func fakeAnthropicModels(t *testing.T) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" || r.Header.Get("x-api-key") != secretKey || r.Header.Get("anthropic-version") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after_id") == "" {
			fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-opus-5-5","display_name":"Claude Opus 5.5"},{"type":"model","id":"claude-sonnet-5"}],"has_more":true,"first_id":"claude-opus-5-5","last_id":"claude-sonnet-5"}`)
			return
		}
		if r.URL.Query().Get("after_id") != "claude-sonnet-5" {
			t.Errorf("second page asked after %q", r.URL.Query().Get("after_id"))
		}
		fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-haiku-4-5-20251001"}],"has_more":false,"first_id":"claude-haiku-4-5-20251001","last_id":"claude-haiku-4-5-20251001"}`)
	})
}

// fakeGeminiModels serves Gemini's GET /v1beta/models in two pages,
// refusing a request without the key header.
func fakeGeminiModels(t *testing.T) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1beta/models" || r.Header.Get("x-goog-api-key") != secretKey {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("pageToken") == "" {
			fmt.Fprint(w, `{"models":[{"name":"models/gemini-2.5-flash","supportedGenerationMethods":["generateContent"]},{"name":"models/embedding-001"}],"nextPageToken":"p2"}`)
			return
		}
		fmt.Fprint(w, `{"models":[{"name":"models/gemini-3-pro-preview"}]}`)
	})
}

func modelIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var list openai.ModelList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID+"@"+m.OwnedBy)
	}
	return ids
}

const anthropicAndGemini = `
[[providers]]
name = "claude"
kind = "anthropic"
base_url = "{A}"
api_key = "${UPSTREAM_KEY}"
models = ["claude-*"]
[[providers]]
name = "g"
kind = "gemini"
base_url = "{B}"
api_key = "${UPSTREAM_KEY}"
models = ["gemini-*"]
`

// TestModelsListsAnthropicAndGeminiModelsForTheirWildcards: for wildcard
// providers /v1/models shows what Anthropic's and Gemini's own model lists
// hold (every page, Gemini's names without "models/"), those the pattern
// matches, asked once and then cached.
func TestModelsListsAnthropicAndGeminiModelsForTheirWildcards(t *testing.T) {
	a, b := fakeAnthropicModels(t), fakeGeminiModels(t)
	g, _ := newGateway(t, anthropicAndGemini, a, b)
	want := []string{"claude-haiku-4-5-20251001@claude", "claude-opus-5-5@claude", "claude-sonnet-5@claude",
		"gemini-2.5-flash@g", "gemini-3-pro-preview@g"}
	for range 2 {
		rec := do(t, g, "GET", "/v1/models", "")
		if got := modelIDs(t, rec.Body.Bytes()); !slices.Equal(got, want) {
			t.Fatalf("models %v, want %v", got, want)
		}
	}
	if a.calls.Load() != 2 || b.calls.Load() != 2 {
		t.Errorf("upstreams asked %d and %d times, want two pages each, once (cached)", a.calls.Load(), b.calls.Load())
	}
}

// When the upstream refuses to list (here a wrong key), or lists nothing the
// pattern matches, the pattern itself is listed: the family that routes.
func TestModelsFallsBackToThePatternWhenTheListHasNothingForIt(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-sonnet-5"}],"has_more":false}`)
	})
	b := newUpstream(t, status(http.StatusForbidden, `{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`))
	toml := `
[[providers]]
name = "claude"
kind = "anthropic"
base_url = "{A}"
api_key = "${UPSTREAM_KEY}"
models = ["claude-opus-*"]
[[providers]]
name = "g"
kind = "gemini"
base_url = "{B}"
api_key = "${UPSTREAM_KEY}"
models = ["gemini-*"]
`
	g, _ := newGateway(t, toml, a, b)
	rec := do(t, g, "GET", "/v1/models", "")
	if got, want := modelIDs(t, rec.Body.Bytes()), []string{"claude-opus-*@claude", "gemini-*@g"}; !slices.Equal(got, want) {
		t.Errorf("models %v, want %v", got, want)
	}
}

// TestSimultaneousModelListsAskTheUpstreamOnce: requests that find the list
// uncached at the same time share one upstream listing (each asked it).
func TestSimultaneousModelListsAskTheUpstreamOnce(t *testing.T) {
	release := make(chan struct{})
	inner := fakeAnthropicModels(t)
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		<-release // hold the listing until every request is waiting on it
		inner.Config.Handler.ServeHTTP(w, r)
	})
	b := fakeGeminiModels(t)
	g, _ := newGateway(t, anthropicAndGemini, a, b)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if rec := do(t, g, "GET", "/v1/models", ""); rec.Code != 200 {
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); a.calls.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	// Give the other 19 time to reach the listing (those that do not find
	// its answer cached, or fresh again inside the shared flight: either way
	// no third call).
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if a.calls.Load() != 2 {
		t.Errorf("the upstream was asked %d times for its two pages, want 2", a.calls.Load())
	}
}

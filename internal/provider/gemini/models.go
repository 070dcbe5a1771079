package gemini

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/aigateway/gateway/internal/provider"
)

var _ provider.ModelLister = (*Provider)(nil)

// ListModels implements provider.ModelLister with Gemini's GET
// /v1beta/models (the key in x-goog-api-key, as every call): pages of
// {"models":[{"name":"models/gemini-2.5-flash",...}],"nextPageToken":...},
// asked for 1,000 at a time (the API's largest pageSize). Names are given
// without their "models/" prefix, as clients ask for them. Vertex AI lists
// its publisher's models elsewhere and is not asked (GET /v1/models then
// shows the provider's patterns).
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	if p.kind == KindVertex {
		return nil, provider.Unsupported(p.up.Name, "listing models")
	}
	return provider.ListPages(func(token string) ([]string, string, error) {
		q := url.Values{"pageSize": {"1000"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		h, up, err := p.request()
		if err != nil {
			return nil, "", err
		}
		ue := &upstreamErrors{up: up}
		out, err := up.DoJSON(ctx, http.MethodGet, p.base+"/v1beta/models?"+q.Encode(), h, nil, ue.message)
		if err != nil {
			return nil, "", ue.fix(err)
		}
		var page struct {
			Models []struct {
				Name string `json:"name"`
			} `json:"models"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, "", provider.BadUpstreamBody(p.up.Name, err)
		}
		var ids []string
		for _, m := range page.Models {
			if id := strings.TrimPrefix(m.Name, "models/"); id != "" {
				ids = append(ids, id)
			}
		}
		return ids, page.NextPageToken, nil
	})
}

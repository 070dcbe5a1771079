package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/aigateway/gateway/internal/provider"
)

var _ provider.ModelLister = (*Provider)(nil)

// ListModels implements provider.ModelLister with Anthropic's GET
// /v1/models (x-api-key and anthropic-version, as every call): pages of
// {"data":[{"type":"model","id":...}],"has_more":...,"last_id":...}, asked
// for 1,000 at a time (the largest limit Anthropic takes) and followed with
// after_id.
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	return provider.ListPages(func(after string) ([]string, string, error) {
		q := url.Values{"limit": {"1000"}}
		if after != "" {
			q.Set("after_id", after)
		}
		out, err := p.up.DoJSON(ctx, http.MethodGet, p.models+"?"+q.Encode(), p.header(), nil, nil)
		if err != nil {
			return nil, "", err
		}
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore bool   `json:"has_more"`
			LastID  string `json:"last_id"`
		}
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, "", provider.BadUpstreamBody(p.up.Name, err)
		}
		var ids []string
		for _, m := range page.Data {
			if m.ID != "" {
				ids = append(ids, m.ID)
			}
		}
		if !page.HasMore {
			return ids, "", nil
		}
		return ids, page.LastID, nil
	})
}

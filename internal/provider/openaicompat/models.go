package openaicompat

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aigateway/gateway/internal/provider"
)

var _ provider.ModelLister = (*Provider)(nil)

// ListModels implements provider.ModelLister: GET <base>/models, OpenAI's
// list shape ({"data":[{"id":...}]}). Azure lists deployments elsewhere and
// is not asked.
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	if p.kind == "azure" {
		return nil, provider.Unsupported(p.up.Name, "listing models")
	}
	out, err := p.up.DoJSON(ctx, http.MethodGet, p.base+"/models", p.headers, nil, nil)
	if err != nil {
		return nil, err
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, provider.BadUpstreamBody(p.up.Name, err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}

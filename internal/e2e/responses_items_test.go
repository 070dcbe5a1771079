package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"
)

// The official Go SDK pages through a stored response's input items (its
// auto-pager follows has_more with after = the last item's id) and gets
// OpenAI's 400 when it cancels a response that is not background.
func TestInputItemsAndCancelWithTheSDK(t *testing.T) {
	f := anthropicFamily()
	up := newFakeUpstream(t, f.handle)
	client := startGateway(t, f.config(up.URL))
	ctx := context.Background()

	first, err := client.Responses.New(ctx, responseParams("Say hello"))
	if err != nil {
		t.Fatal(err)
	}
	p := responseParams("And now?")
	p.PreviousResponseID = param.NewOpt(first.ID)
	second, err := client.Responses.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}

	pager := client.Responses.InputItems.ListAutoPaging(ctx, second.ID, responses.InputItemListParams{
		Limit: param.NewOpt(int64(1)), Order: responses.InputItemListParamsOrderAsc})
	var seen []string
	for pager.Next() {
		it := pager.Current()
		if it.ID == "" || it.Type != "message" {
			t.Fatalf("item %s", it.RawJSON())
		}
		var text strings.Builder
		for _, c := range it.AsMessage().Content {
			text.WriteString(c.Text)
		}
		seen = append(seen, it.Role+":"+text.String())
	}
	if err := pager.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " | "); got != "user:Say hello | assistant:"+f.chat.text+" | user:And now?" {
		t.Fatalf("input items %s", got)
	}

	page, err := client.Responses.InputItems.List(ctx, second.ID, responses.InputItemListParams{})
	if err != nil {
		t.Fatal(err)
	}
	raw := page.RawJSON()
	if len(page.Data) != 3 || page.HasMore || page.Data[0].Role != "user" || page.Data[2].Role != "user" ||
		!strings.Contains(raw, `"first_id":"`+page.Data[0].ID+`"`) || !strings.Contains(raw, `"last_id":"`+page.Data[2].ID+`"`) {
		t.Fatalf("default page (newest first) %s", raw)
	}

	_, err = client.Responses.Cancel(ctx, second.ID)
	if apiErr := asAPIError(t, err); apiErr.StatusCode != 400 || apiErr.Message != "Cannot cancel a synchronous response." {
		t.Fatalf("cancel: %v", err)
	}
	_, err = client.Responses.Cancel(ctx, "resp_unknown")
	if apiErr := asAPIError(t, err); apiErr.StatusCode != 404 {
		t.Fatalf("cancel of an unknown id: %v", err)
	}
}

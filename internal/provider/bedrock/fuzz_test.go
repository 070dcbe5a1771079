package bedrock

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/aigateway/gateway/internal/openai"
)

// FuzzTranslateRequest feeds arbitrary OpenAI JSON to the request
// translation: it must not panic, must refuse with a 400, and every JSON
// document it accepts must encode (the SDK would silently drop one that
// does not, and send a broken body).
func FuzzTranslateRequest(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "request_*.json"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGOD=="}}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"[1,2.5e300,null,{\"x\":true}]"}}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"x","content":null}],"tool_choice":{"type":"function"},"tools":[{"function":{"name":"f","parameters":"s"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req openai.ChatRequest
		if json.Unmarshal(data, &req) != nil {
			return
		}
		c, err := translateRequest(testModel, &req)
		if err != nil {
			var ge *openai.Error
			if !errors.As(err, &ge) || ge.HTTPStatus() != 400 {
				t.Fatalf("error %v is not a 400 *openai.Error", err)
			}
			return
		}
		check := func(d document.Interface) {
			b, err := d.MarshalSmithyDocument()
			if err != nil || !json.Valid(b) {
				t.Fatalf("accepted a document that does not encode: %v %q", err, b)
			}
		}
		for _, m := range c.messages {
			if len(m.Content) == 0 {
				t.Fatal("produced a turn with no content")
			}
			for _, b := range m.Content {
				if tu, ok := b.(*types.ContentBlockMemberToolUse); ok {
					check(tu.Value.Input)
				}
			}
		}
		if c.tools != nil {
			for _, tool := range c.tools.Tools {
				if _, ok := tool.(*types.ToolMemberCachePoint); ok {
					continue
				}
				spec := tool.(*types.ToolMemberToolSpec).Value
				check(spec.InputSchema.(*types.ToolInputSchemaMemberJson).Value)
			}
		}
		if c.additional != nil {
			check(c.additional)
		}
	})
}

package responses

import (
	"fmt"
	"strings"
	"testing"
)

// collapse merges runs of one delta event type into one: a replay sends
// each text and each arguments string in a single delta.
func collapse(ts []string) []string {
	var out []string
	for _, t := range ts {
		if len(out) > 0 && out[len(out)-1] == t && strings.HasSuffix(t, ".delta") {
			continue
		}
		out = append(out, t)
	}
	return out
}

func TestReplayIsTheStreamOfAFinishedResponse(t *testing.T) {
	for _, name := range []string{"text", "tool_calls", "refusal", "length"} {
		t.Run(name, func(t *testing.T) {
			streamed, s := translate(t, name)
			final := s.Response()
			before := string(final.JSON())
			fs := frames(t, Replay(final))
			if string(final.JSON()) != before {
				t.Fatal("Replay changed the response it replays")
			}
			checkSequence(t, fs, s)
			if got, want := types(fs), collapse(types(frames(t, streamed))); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("replayed events:\n%s\nstreamed (deltas merged):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			created := fs[0].Data["response"].(map[string]any)
			if created["status"] != StatusInProgress || created["usage"] != nil || len(created["output"].([]any)) != 0 || created["completed_at"] != nil {
				t.Fatalf("response.created carries %v", created)
			}
		})
	}
}

func TestReplayOfItemsTheTranslationNeverMakes(t *testing.T) {
	r := mustParse(t, []byte(`{"model":"m","input":"hi"}`))
	resp := newResponse(r, testMeta(), "gpt-4.1")
	resp.Status = StatusCompleted
	resp.Output = []Item{
		{Type: TypeReasoning, ID: "rs_1", Raw: []byte(`{"type":"reasoning","id":"rs_1","summary":[]}`)},
		{Type: TypeMessage, ID: "msg_1", Status: StatusCompleted, Role: "assistant", Content: Content{Text: "plain"}},
	}
	fs := frames(t, Replay(resp))
	want := "[response.created response.in_progress response.output_item.added response.output_item.done " +
		"response.output_item.added response.content_part.added response.output_text.delta response.output_text.done " +
		"response.content_part.done response.output_item.done response.completed]"
	if fmt.Sprint(types(fs)) != want {
		t.Fatalf("events = %v", types(fs))
	}
	if item := fs[2].Data["item"].(map[string]any); item["id"] != "rs_1" || item["type"] != TypeReasoning {
		t.Fatalf("reasoning item added as %v", item)
	}
	if fs[6].Data["delta"] != "plain" {
		t.Fatalf("string content replayed as %v", fs[6].Data)
	}
}

func TestFailedEndsARelayedStreamWithErrorAndResponseFailed(t *testing.T) {
	r := mustParse(t, []byte(`{"model":"m","input":"hi"}`))
	resp := newResponse(r, testMeta(), "gpt-4.1")
	fs := frames(t, Failed(resp, 7, errCut))
	if fmt.Sprint(types(fs)) != "[error response.failed]" {
		t.Fatalf("events = %v", types(fs))
	}
	for i, f := range fs {
		if f.Data["sequence_number"] != float64(7+i) {
			t.Fatalf("%s has sequence_number %v, want %d", f.Event, f.Data["sequence_number"], 7+i)
		}
	}
	if msg := fs[0].Data["error"].(map[string]any)["message"]; msg != errCut.Message {
		t.Fatalf("error event = %v", fs[0].Data)
	}
	failed := fs[1].Data["response"].(map[string]any)
	if failed["status"] != StatusFailed || failed["error"].(map[string]any)["code"] != "server_error" || failed["id"] != resp.ID {
		t.Fatalf("response.failed carries %v", failed)
	}
}

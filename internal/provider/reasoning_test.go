package provider

import "testing"

func TestClaudeVersionReadsAnthropicAndBedrockNames(t *testing.T) {
	for _, tc := range []struct {
		model        string
		major, minor int
		ok           bool
	}{
		{"claude-3-5-haiku-20241022", 3, 5, true},
		{"claude-3-7-sonnet-latest", 3, 7, true},
		{"claude-sonnet-4-20250514", 4, 0, true},
		{"claude-opus-4-1", 4, 1, true},
		{"claude-sonnet-4-5@20250929", 4, 5, true},
		{"us.anthropic.claude-opus-4-6-v1", 4, 6, true},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", 3, 5, true},
		{"claude-opus-5", 5, 0, true},
		{"claude-haiku-5-5", 5, 5, true},
		{"anthropic.claude-v2:1", 1, 0, true}, // "v2" is not a number; too old to think either way
		{"claude-mythos-preview", 0, 0, false},
		{"gpt-4o", 0, 0, false},
	} {
		major, minor, ok := ClaudeVersion(tc.model)
		if major != tc.major || minor != tc.minor || ok != tc.ok {
			t.Errorf("ClaudeVersion(%q) = %d.%d %v, want %d.%d %v", tc.model, major, minor, ok, tc.major, tc.minor, tc.ok)
		}
	}
}

func TestClaudeReasoningPicksTheThinkingFormTheModelTakes(t *testing.T) {
	for _, tc := range []struct {
		model, effort string
		on            bool
		want          string // Thinking()
		effortOut     string
	}{
		{"claude-3-7-sonnet-latest", "high", true, `{"type":"enabled","budget_tokens":16384}`, ""},
		{"claude-sonnet-4-5", "low", true, `{"type":"enabled","budget_tokens":1024}`, ""},
		{"claude-sonnet-4-6", "medium", true, `{"type":"adaptive"}`, "medium"},
		{"claude-opus-4-7", "xhigh", true, `{"type":"adaptive"}`, "high"},
		{"claude-mythos-preview", "minimal", true, `{"type":"adaptive"}`, "low"},
		{"claude-3-5-haiku-latest", "high", false, "", ""},
		{"claude-sonnet-4-5", "none", false, "", ""},
	} {
		th, on, err := ClaudeReasoning(tc.model, tc.effort)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.model, tc.effort, err)
		}
		got := ""
		if on {
			got = string(th.Thinking())
		}
		if on != tc.on || got != tc.want || th.Effort != tc.effortOut {
			t.Errorf("%s %s: on %v thinking %s effort %q; want %v %s %q", tc.model, tc.effort, on, got, th.Effort, tc.on, tc.want, tc.effortOut)
		}
	}
}

package provider

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
)

// thinkingBudgets is the one table from a chat request's reasoning_effort (a
// Responses request's reasoning.effort reaches the translators as the same
// field) to a thinking-token budget, for providers that take a budget
// instead of a level: Anthropic and Claude on Bedrock (budget_tokens),
// Gemini 2.5 (thinkingBudget).
//
// Sources (checked 2026-12-01): Anthropic's extended-thinking docs set the
// floor at 1,024 tokens; Gemini 2.5's thinking docs cap Flash at 24,576
// (Pro at 32,768); LiteLLM maps low/medium/high to 1,024/2,048/4,096, which
// leaves "high" well short of what OpenAI's high effort spends, so the
// steps here are wider. They are the inverse of internal/messages' budget
// → effort thresholds (below 4,096 low, below 16,384 medium, else high), so
// a Messages request's budget and the effort it becomes map back to the same
// band. "none" (and "") means no thinking.
var thinkingBudgets = map[string]int{
	"minimal": 1024,
	"low":     1024,
	"medium":  4096,
	"high":    16384,
	"xhigh":   24576,
}

// ReasoningBudget returns the thinking budget for a reasoning_effort. on is
// false for "" and "none"; an effort outside OpenAI's values is a 400.
func ReasoningBudget(effort string) (budget int, on bool, err *openai.Error) {
	if effort == "" || effort == "none" {
		return 0, false, nil
	}
	b, ok := thinkingBudgets[effort]
	if !ok {
		return 0, false, &openai.Error{Code: openai.CodeInvalidRequest, Param: "reasoning_effort",
			Message: fmt.Sprintf("reasoning_effort %q is not one of none, minimal, low, medium, high, xhigh", effort)}
	}
	return b, true, nil
}

// ClaudeThinking is the thinking setting a reasoning_effort becomes for one
// Claude model, the same on Anthropic's Messages API and in Bedrock's
// additionalModelRequestFields.
type ClaudeThinking struct {
	// Adaptive is set for models that take {"type":"adaptive"} with
	// output_config.effort (Claude 4.6 and later; Opus 4.7 and the 5
	// family take nothing else), unset for {"type":"enabled",
	// "budget_tokens":N} (Claude 3.7 to 4.5).
	Adaptive bool
	// Budget is budget_tokens; with Adaptive, the room the caller leaves for
	// thinking when it picks a default max_tokens.
	Budget int
	// Effort is output_config.effort when Adaptive.
	Effort string
}

// Thinking is the JSON of the "thinking" field.
func (t ClaudeThinking) Thinking() json.RawMessage {
	if t.Adaptive {
		return json.RawMessage(`{"type":"adaptive"}`)
	}
	return json.RawMessage(`{"type":"enabled","budget_tokens":` + strconv.Itoa(t.Budget) + `}`)
}

// ClaudeReasoning maps a reasoning_effort onto model's thinking controls. on
// is false when the effort asks for none or the model cannot think (Claude
// models before 3.7): the effort is then dropped, as OpenAI's own
// non-reasoning models would drop it.
//
// Adaptive efforts (Anthropic's effort docs, 2026-12-01: low, medium, high,
// and model-dependent xhigh/max): minimal becomes low and xhigh high, the
// values every adaptive model takes.
func ClaudeReasoning(model, effort string) (t ClaudeThinking, on bool, err *openai.Error) {
	budget, on, err := ReasoningBudget(effort)
	if !on {
		return ClaudeThinking{}, false, err
	}
	major, minor, known := ClaudeVersion(model)
	switch {
	case known && (major < 3 || major == 3 && minor < 7):
		return ClaudeThinking{}, false, nil
	case known && (major < 4 || major == 4 && minor < 6):
		return ClaudeThinking{Budget: budget}, true, nil
	}
	// 4.6 and later, and Claude names without a version (the newest
	// models; the unversioned names of old ones are retired).
	level := effort
	switch effort {
	case "minimal":
		level = "low"
	case "xhigh":
		level = "high"
	}
	return ClaudeThinking{Adaptive: true, Budget: budget, Effort: level}, true, nil
}

// ClaudeVersion reads the version out of a Claude model name, as Anthropic
// spells it or as a Bedrock model id or inference profile does:
// claude-3-5-haiku-20241022 (3.5), claude-sonnet-4-20250514 (4.0),
// us.anthropic.claude-opus-4-6-v1 (4.6), claude-opus-5 (5.0). A date is not
// a minor version. ok is false when the name has no "claude-" or no version.
func ClaudeVersion(model string) (major, minor int, ok bool) {
	_, rest, found := strings.Cut(strings.ToLower(model), "claude-")
	if !found {
		return 0, 0, false
	}
	fields := strings.FieldsFunc(rest, func(r rune) bool { return r == '-' || r == '.' || r == ':' || r == '@' })
	small := func(s string) (int, bool) {
		if len(s) == 0 || len(s) > 2 {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	for i, f := range fields {
		n, isNum := small(f)
		if !isNum {
			continue
		}
		major = n
		if i+1 < len(fields) {
			if m, isMinor := small(fields[i+1]); isMinor {
				minor = m
			}
		}
		return major, minor, true
	}
	return 0, 0, false
}

package responses

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTheNodeSDKReadsTheStream runs the official openai npm package (whose
// ResponseStream checks item identities, output indexes and that every added
// item is done before response.completed) against the fake gateway. It needs
// node and OPENAI_NODE_MODULES, a node_modules folder holding openai (for
// example one made with `npm install openai` outside this repository); it
// skips without them.
func TestTheNodeSDKReadsTheStream(t *testing.T) {
	mods := os.Getenv("OPENAI_NODE_MODULES")
	if mods == "" {
		t.Skip("OPENAI_NODE_MODULES is not set")
	}
	if _, err := os.Stat(filepath.Join(mods, "openai", "package.json")); err != nil {
		t.Skipf("no openai package in OPENAI_NODE_MODULES: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	srv := fakeGateway(t)
	script, _ := filepath.Abs("testdata/sdk/node_check.cjs")
	cmd := exec.Command(node, script, srv.URL)
	cmd.Env = append(os.Environ(), "OPENAI_NODE_MODULES="+mods)
	raw, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s", err, msg)
	}
	var got struct {
		Plain struct {
			Status     string         `json:"status"`
			OutputText string         `json:"output_text"`
			Usage      map[string]any `json:"usage"`
		} `json:"plain"`
		ReasoningItem struct {
			Type    string `json:"type"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		} `json:"reasoningItem"`
		Tools, Text, Length, Refusal, Cut, Reasoning struct {
			Types      []string          `json:"types"`
			Status     string            `json:"status"`
			OutputText string            `json:"output_text"`
			Output     []string          `json:"output"`
			Incomplete map[string]string `json:"incomplete"`
			Usage      map[string]any    `json:"usage"`
			Error      string            `json:"error"`
		}
		CutRaw struct {
			Types []string `json:"types"`
			Error string   `json:"error"`
		} `json:"cutRaw"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if got.Plain.Status != "completed" || got.Plain.OutputText != "Hi there! <How> can I help & assist?" || got.Plain.Usage["total_tokens"] != 48.0 {
		t.Errorf("plain = %+v", got.Plain)
	}
	if got.Tools.Error != "" || got.Tools.Status != "completed" || got.Tools.OutputText != "Let me check." ||
		fmt.Sprint(got.Tools.Output) != "[message function_call function_call]" || got.Tools.Usage["total_tokens"] != 128.0 || len(got.Tools.Types) != 21 {
		t.Errorf("tools = %+v", got.Tools)
	}
	if got.Text.Error != "" || got.Text.OutputText != "Hi there! <How> can I help & assist?" {
		t.Errorf("text = %+v", got.Text)
	}
	if got.Length.Error != "" || got.Length.Status != "incomplete" || got.Length.Incomplete["reason"] != "max_output_tokens" {
		t.Errorf("length = %+v", got.Length)
	}
	if got.Refusal.Error != "" || got.Refusal.Status != "completed" || fmt.Sprint(got.Refusal.Output) != "[message]" {
		t.Errorf("refusal = %+v", got.Refusal)
	}
	if !strings.Contains(got.Cut.Error, "stream was cut") || !strings.Contains(got.CutRaw.Error, "stream was cut") ||
		got.CutRaw.Types[len(got.CutRaw.Types)-1] != "response.output_text.delta" {
		t.Errorf("cut = %+v, raw = %+v", got.Cut, got.CutRaw)
	}
	if got.Reasoning.Error != "" || got.Reasoning.OutputText != "2 + 2 = 4." || fmt.Sprint(got.Reasoning.Output) != "[reasoning message]" ||
		got.ReasoningItem.Type != "reasoning" || len(got.ReasoningItem.Content) != 1 || got.ReasoningItem.Content[0].Text != "The user asks 2+2. That is 4." {
		t.Errorf("reasoning = %+v, item = %+v", got.Reasoning, got.ReasoningItem)
	}
	t.Logf("node SDK read: %s", raw)
}

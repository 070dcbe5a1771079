package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// translateRequest builds Gemini's GenerateContentRequest from an OpenAI chat
// request. Client mistakes (unknown roles, unreadable tool arguments, tool
// results that name no earlier call) are 400 errors naming the field. The
// thought signatures earlier answers carried in their tool call ids go back on
// the functionCall parts they came from (see signature.go). model is the
// upstream model, whose generation decides how reasoning_effort is sent.
func translateRequest(model string, r *openai.ChatRequest) (*generateRequest, error) {
	if r == nil {
		return nil, invalid("", "missing request body")
	}
	out := &generateRequest{Contents: []content{}}
	var system []part
	// names maps tool_call ids to function names: Gemini's functionResponse
	// carries the function's name, OpenAI's tool message only the call's id.
	names := map[string]string{}
	prevTool := false
	for i, m := range r.Messages {
		isTool := false
		switch m.Role {
		case "system", "developer":
			if t := m.Content.AllText(); t != "" {
				system = append(system, part{Text: t})
			}
		case "user":
			parts, err := userParts(m.Content, i)
			if err != nil {
				return nil, err
			}
			out.Contents = appendContent(out.Contents, "user", parts)
		case "assistant":
			var parts []part
			if t := m.Content.AllText(); t != "" {
				parts = append(parts, part{Text: t})
			}
			signed := false
			for j, tc := range m.ToolCalls {
				args, err := provider.ArgumentsObject(tc.Function.Arguments)
				if err != nil {
					return nil, invalid(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j), err.Error())
				}
				names[tc.ID] = tc.Function.Name
				sig := signatureFromID(tc.ID)
				signed = signed || sig != ""
				parts = append(parts, part{FunctionCall: &functionCall{Name: tc.Function.Name, Args: args}, ThoughtSignature: sig})
			}
			if len(m.ToolCalls) > 0 && !signed {
				// Calls no Gemini response signed: the first one gets the
				// placeholder Gemini accepts in place of a signature.
				parts[len(parts)-len(m.ToolCalls)].ThoughtSignature = skipSignature
			}
			out.Contents = appendContent(out.Contents, "model", parts)
		case "tool":
			isTool = true
			name := names[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return nil, invalid(fmt.Sprintf("messages[%d].tool_call_id", i),
					fmt.Sprintf("tool message refers to tool call %q, which no earlier assistant message made", m.ToolCallID))
			}
			p := part{FunctionResponse: &functionResponse{Name: name, Response: toolResult(m.Content.AllText())}}
			// Gemini wants the answers to one turn's parallel calls in one
			// content, so consecutive tool messages share it. Tool results are
			// sent with role "user", as Google's function calling guide does.
			if n := len(out.Contents); prevTool && n > 0 {
				out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, p)
			} else {
				out.Contents = append(out.Contents, content{Role: "user", Parts: []part{p}})
			}
		default:
			return nil, invalid(fmt.Sprintf("messages[%d].role", i), fmt.Sprintf("role %q is not supported", m.Role))
		}
		prevTool = isTool
	}
	if len(system) > 0 {
		out.SystemInstruction = &content{Parts: system}
	}

	for i, t := range r.Tools {
		if t.Type != "" && t.Type != "function" {
			return nil, invalid(fmt.Sprintf("tools[%d].type", i), fmt.Sprintf("tool type %q is not supported", t.Type))
		}
		d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if !openai.IsNull(t.Function.Parameters) {
			params, err := toGeminiSchema(t.Function.Parameters)
			if err != nil {
				return nil, invalid(fmt.Sprintf("tools[%d].function.parameters", i), err.Error())
			}
			// Gemini refuses an OBJECT schema without properties: a function
			// without parameters is declared without a schema.
			if !emptyObjectSchema(params) {
				d.Parameters = params
			}
		}
		if len(out.Tools) == 0 {
			out.Tools = []tool{{}}
		}
		out.Tools[0].FunctionDeclarations = append(out.Tools[0].FunctionDeclarations, d)
	}
	if len(out.Tools) > 0 {
		tc, err := toolChoice(r)
		if err != nil {
			return nil, err
		}
		out.ToolConfig = tc
	}

	gc, err := generation(model, r)
	if err != nil {
		return nil, err
	}
	out.GenerationConfig = gc
	return out, nil
}

// appendContent adds a content unless it has no parts (Gemini refuses empty ones).
func appendContent(cs []content, role string, parts []part) []content {
	if len(parts) == 0 {
		return cs
	}
	return append(cs, content{Role: role, Parts: parts})
}

func userParts(c openai.Content, msg int) ([]part, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []part{{Text: c.Text}}, nil
	}
	var parts []part
	for j, p := range c.Parts {
		param := fmt.Sprintf("messages[%d].content[%d]", msg, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, invalid(param+".image_url", "image_url part without image_url")
			}
			ip, err := imagePart(p.ImageURL.URL)
			if err != nil {
				return nil, invalid(param+".image_url.url", err.Error())
			}
			parts = append(parts, ip)
		case "input_audio":
			if p.InputAudio == nil || p.InputAudio.Data == "" {
				return nil, invalid(param+".input_audio", "input_audio part without data")
			}
			parts = append(parts, part{InlineData: &blob{MimeType: audioMime(p.InputAudio.Format), Data: p.InputAudio.Data}})
		default:
			return nil, invalid(param+".type", fmt.Sprintf("content part type %q is not supported by Gemini", p.Type))
		}
	}
	return parts, nil
}

// imagePart turns an image_url into inline data (data: URLs) or a file
// reference (http, https and gs URLs, which Gemini fetches itself).
func imagePart(raw string) (part, error) {
	if mime, data, isData, ok := openai.ParseDataURL(raw); isData {
		if !ok {
			return part{}, fmt.Errorf("data URL must be data:<mime type>;base64,<data>")
		}
		return part{InlineData: &blob{MimeType: mime, Data: data}}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "gs") {
		return part{}, fmt.Errorf("image URL must be an http(s) URL, a gs:// URI or a base64 data URL")
	}
	return part{FileData: &fileData{MimeType: mimeFromExt(u.Path), FileURI: raw}}, nil
}

// mimeFromExt guesses an image's type from its URL path; Gemini needs one for
// fileData and JPEG is the common case.
func mimeFromExt(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".heic":
		return "image/heic"
	case ".heif":
		return "image/heif"
	case ".pdf":
		return "application/pdf"
	default:
		return "image/jpeg"
	}
}

func audioMime(format string) string {
	switch format {
	case "", "wav":
		return "audio/wav"
	case "mp3":
		return "audio/mp3"
	default:
		return "audio/" + format
	}
}

// toolResult makes functionResponse.response, which must be a JSON object: a
// JSON object result is sent as it is, any other JSON value or plain text is
// wrapped as {"result": ...}.
func toolResult(s string) json.RawMessage {
	t := strings.TrimSpace(s)
	if json.Valid([]byte(t)) {
		var buf bytes.Buffer
		_ = json.Compact(&buf, []byte(t))
		if t[0] == '{' {
			return buf.Bytes()
		}
		return json.RawMessage(`{"result":` + buf.String() + `}`)
	}
	b, _ := json.Marshal(map[string]string{"result": s})
	return b
}

func toolChoice(r *openai.ChatRequest) (*toolConfig, error) {
	tc, err := r.ParseToolChoice()
	if err != nil {
		return nil, err
	}
	switch tc.Mode {
	case "auto":
		return &toolConfig{functionCallingConfig{Mode: "AUTO"}}, nil
	case "none":
		return &toolConfig{functionCallingConfig{Mode: "NONE"}}, nil
	case "required":
		return &toolConfig{functionCallingConfig{Mode: "ANY"}}, nil
	case "function":
		return &toolConfig{functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{tc.Function}}}, nil
	}
	return nil, nil
}

func generation(model string, r *openai.ChatRequest) (*generationConfig, error) {
	g := generationConfig{
		Temperature:      r.Temperature,
		TopP:             r.TopP,
		MaxOutputTokens:  r.MaxOutputTokens(),
		StopSequences:    r.Stop,
		Seed:             r.Seed,
		PresencePenalty:  r.PresencePenalty,
		FrequencyPenalty: r.FrequencyPenalty,
	}
	if r.N != nil && *r.N > 1 {
		g.CandidateCount = *r.N
	}
	tc, err := thinking(model, r.ReasoningEffort)
	if err != nil {
		return nil, err
	}
	g.ThinkingConfig = tc
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			g.ResponseMimeType = "application/json"
		case "json_schema":
			g.ResponseMimeType = "application/json"
			if rf.JSONSchema != nil && !openai.IsNull(rf.JSONSchema.Schema) {
				s, err := toGeminiSchema(rf.JSONSchema.Schema)
				if err != nil {
					return nil, invalid("response_format.json_schema.schema", err.Error())
				}
				g.ResponseSchema = s
			}
		default:
			return nil, invalid("response_format.type", fmt.Sprintf("response_format type %q is not supported", rf.Type))
		}
	}
	if g.Temperature == nil && g.TopP == nil && g.MaxOutputTokens == 0 && len(g.StopSequences) == 0 &&
		g.CandidateCount == 0 && g.Seed == nil && g.PresencePenalty == nil && g.FrequencyPenalty == nil &&
		g.ResponseMimeType == "" && g.ThinkingConfig == nil {
		return nil, nil
	}
	return &g, nil
}

// thinking is the thinkingConfig a reasoning_effort becomes (Gemini's
// thinking docs, checked 2026-12-01). A client that asks for reasoning gets
// the model's thought summaries back, as reasoning_content
// (includeThoughts), and the effort as the control the model's generation
// takes:
//   - Gemini 3 and later: thinkingLevel, which has OpenAI's names. Pro
//     models take only low and high, so minimal becomes low and medium high
//     there; xhigh is high everywhere.
//   - Gemini 2.5 and names without a version: thinkingBudget from the
//     gateway's one budget table (provider.ReasoningBudget), at most 24,576,
//     2.5 Flash's ceiling. Gemini 3 still accepts a budget, so a name the
//     gateway cannot date gets the form every thinking model takes.
//   - Gemini 1.x and 2.0, which cannot think: nothing (a thinkingConfig is
//     refused there).
//
// "none" and "" send nothing: the model thinks as it does by default.
func thinking(model, effort string) (*thinkingConfig, error) {
	budget, on, err := provider.ReasoningBudget(effort)
	if err != nil {
		return nil, err
	}
	if !on {
		return nil, nil
	}
	major, minor, known := geminiVersion(model)
	switch {
	case known && (major < 2 || major == 2 && minor == 0):
		return nil, nil
	case known && major >= 3:
		level := effort
		pro := strings.Contains(model, "-pro")
		switch {
		case effort == "xhigh", pro && effort == "medium":
			level = "high"
		case pro && effort == "minimal":
			level = "low"
		}
		return &thinkingConfig{IncludeThoughts: true, ThinkingLevel: level}, nil
	}
	return &thinkingConfig{IncludeThoughts: true, ThinkingBudget: min(budget, maxThinkingBudget)}, nil
}

// maxThinkingBudget is the largest thinkingBudget every Gemini 2.5 model
// takes (Flash's ceiling; Pro's is 32,768).
const maxThinkingBudget = 24576

// geminiVersion reads the version out of a Gemini model name:
// gemini-2.5-flash (2.5), models/gemini-3-pro-preview (3.0),
// gemini-2.0-flash-001 (2.0). ok is false when there is none
// (gemini-flash-latest).
func geminiVersion(model string) (major, minor int, ok bool) {
	_, rest, found := strings.Cut(strings.ToLower(model), "gemini-")
	if !found {
		return 0, 0, false
	}
	v, _, _ := strings.Cut(rest, "-")
	majorText, minorText, _ := strings.Cut(v, ".")
	major, err := strconv.Atoi(majorText)
	if err != nil {
		return 0, 0, false
	}
	if minorText != "" {
		if minor, err = strconv.Atoi(minorText); err != nil {
			return 0, 0, false
		}
	}
	return major, minor, true
}

func invalid(param, msg string) *openai.Error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: msg}
}

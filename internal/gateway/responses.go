package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/jsontext"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/responses"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/sse"
	"github.com/aigateway/gateway/internal/state"
)

// POST /v1/responses, GET and DELETE /v1/responses/{id}: OpenAI's Responses
// API. OpenAI and Azure targets get the client's body natively (only model
// patched); every other target gets it translated to a chat completion and
// back (internal/responses). Either way the client sees the gateway's own
// response ids, so failover between the two kinds, the cache and stored
// responses keep one id space, and previous_response_id is resolved by the
// gateway from its state store, never by an upstream.

// responseTTL is how long a stored response can be read and continued:
// OpenAI keeps stored responses for 30 days.
const responseTTL = 30 * 24 * time.Hour

// nativeResponder is a provider that serves the Responses API itself.
type nativeResponder interface {
	ServesResponses() bool
	Responses(ctx context.Context, req *provider.RawRequest) (*provider.Response, error)
	ResponsesStream(ctx context.Context, req *provider.RawRequest) (provider.Stream, error)
}

// nativeFor returns t's provider when it serves the Responses API natively.
func nativeFor(t *router.Target) (nativeResponder, bool) {
	n, ok := t.Provider.(nativeResponder)
	return n, ok && n.ServesResponses()
}

// storedResponse is what the state store keeps under a response id.
type storedResponse struct {
	// Response is the response object as the client received it.
	Response json.RawMessage `json:"response"`
	// History is what a turn naming this response as its
	// previous_response_id continues from (responses.NextHistory).
	History []responses.Item `json:"history"`
}

// turn is one POST /v1/responses being served.
type turn struct {
	req     *responses.Request
	history []responses.Item
	// chat is the request translated for chat targets; chatErr why it
	// cannot be (a built-in tool, say): then only native targets serve it.
	chat    *openai.ChatRequest
	chatErr error
	// id is the gateway's id of the response this turn answers with.
	id string
}

func (t *turn) translate() {
	t.chat, t.chatErr = responses.ToChat(t.req, t.history)
}

// stores reports whether the response is to be kept (store defaults to true).
func (t *turn) stores() bool { return t.req.Store == nil || *t.req.Store }

// nativeBody is the body for a native target serving model: the client's
// body with the model patched and any history the gateway holds inlined.
func (t *turn) nativeBody(model string) ([]byte, error) {
	b, err := t.req.NativeBody(model, t.history)
	if err == nil && t.req.PreviousResponseID != "" && len(t.history) == 0 {
		// The upstream never saw the gateway's ids, even with nothing to inline.
		b, err = sjson.DeleteBytes(b, "previous_response_id")
	}
	if err != nil {
		return nil, &openai.Error{Code: openai.CodeInvalidJSON, Message: "request body is not valid JSON"}
	}
	return b, nil
}

// cacheBody is what the cache key reads: the request with the history it
// continues inlined, so equal conversations hit whatever ids they came by.
func (t *turn) cacheBody() []byte {
	b, err := t.nativeBody(t.req.Model)
	if err != nil {
		return t.req.Raw
	}
	return b
}

// estimate is the tokens reserved up front: the translation's prompt
// estimate, or the body's size when there is none, plus the output cap.
// estimate is the prompt's estimated tokens and the answer's limit the
// client set (0: none), for the up-front reservations.
func (t *turn) estimate() (prompt, maxOutput int64) {
	if t.chat != nil {
		return int64(pricing.EstimatePromptTokens(t.chat)), int64(t.chat.MaxOutputTokens())
	}
	n := len(t.req.Raw)
	for _, it := range t.history {
		if b, err := it.MarshalJSON(); err == nil {
			n += len(b)
		}
	}
	if t.req.MaxOutputTokens != nil {
		maxOutput = int64(*t.req.MaxOutputTokens)
	}
	return int64((n + pricing.BytesPerToken - 1) / pricing.BytesPerToken), maxOutput
}

// lastText is the text of the turn's last input item, for the log line.
func (t *turn) lastText() string {
	items := t.req.Items()
	if len(items) == 0 {
		return ""
	}
	c := items[len(items)-1].Content
	if !c.List {
		return c.Text
	}
	var texts []string
	for _, p := range c.Parts {
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

func (g *Gateway) responsesStore() state.Responses { return g.Admission.Store().Responses }

// loadResponse reads the stored response id of owner.
func (g *Gateway) loadResponse(ctx context.Context, owner, id string) (*storedResponse, error) {
	st := g.responsesStore()
	if st == nil || id == "" {
		return nil, state.ErrNotFound
	}
	blob, err := st.Get(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	var s storedResponse
	if err := json.Unmarshal(blob, &s); err != nil {
		return nil, fmt.Errorf("stored response %s is unreadable: %w", id, err)
	}
	return &s, nil
}

// notFoundResponse is OpenAI's 404 for an unknown response id; param names
// the field that held it.
func notFoundResponse(id, param string) error {
	return &openai.Error{Code: openai.CodeNotFound, Param: param,
		Message: fmt.Sprintf("Response with id '%s' not found.", id)}
}

// storeError is the error of a store read that failed for a reason other
// than a miss: the detail goes to the log, not to the client.
func (g *Gateway) storeError(rec *record, err error) error {
	g.Logger.Warn("responses store failed", "request_id", rec.id, "error", err.Error())
	return &openai.Error{Code: openai.CodeUnavailable, Message: "stored responses cannot be read right now; try again shortly"}
}

// saveResponse keeps the turn's response, when it asked to be stored and
// finished (completed or incomplete), before the client can see its id: a
// follow-up sent the moment the answer arrives must find it. A failure is
// logged; the answer still goes out.
func (g *Gateway) saveResponse(ctx context.Context, rec *record, t *turn, a *answer) {
	st := g.responsesStore()
	if st == nil || !t.stores() || (a.status != responses.StatusCompleted && a.status != responses.StatusIncomplete) {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	history := responses.NextHistory(t.history, t.req, &responses.Response{Output: a.output})
	if err := enc.Encode(storedResponse{Response: a.body, History: history}); err != nil {
		g.Logger.Warn("response not stored", "request_id", rec.id, "error", err.Error())
		return
	}
	if err := st.Put(context.WithoutCancel(ctx), rec.keyID, t.id, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), responseTTL); err != nil {
		g.Logger.Warn("response not stored", "request_id", rec.id, "response_id", t.id, "error", err.Error())
	}
}

// answer is a finished response: the object sent to the client, what the
// next turn's history takes from it, and what it is billed.
type answer struct {
	body   []byte
	output []responses.Item
	status string
	usage  openai.Usage
}

// cacheable reports whether the answer may answer an equal request again.
func (a *answer) cacheable() bool {
	return a.status == responses.StatusCompleted || a.status == responses.StatusIncomplete
}

// withGatewayID rewrites a native response object to the gateway's id and
// the client's previous_response_id.
func (t *turn) withGatewayID(obj []byte, path string) ([]byte, error) {
	prefix := ""
	if path != "" {
		prefix = path + "."
	}
	out, err := sjson.SetBytes(obj, prefix+"id", t.id)
	if err != nil {
		return nil, err
	}
	if t.req.PreviousResponseID != "" {
		return sjson.SetBytes(out, prefix+"previous_response_id", t.req.PreviousResponseID)
	}
	return sjson.SetRawBytes(out, prefix+"previous_response_id", []byte("null"))
}

// nativeAnswer reads a native upstream's response object.
func (t *turn) nativeAnswer(providerName string, resp *provider.Response) (*answer, error) {
	body, err := t.withGatewayID(resp.Body, "")
	if err != nil {
		return nil, provider.BadUpstreamBody(providerName, err)
	}
	var v struct {
		Status string           `json:"status"`
		Output []responses.Item `json:"output"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, provider.BadUpstreamBody(providerName, err)
	}
	return &answer{body: body, output: v.Output, status: v.Status, usage: resp.Usage}, nil
}

// skipped marks a target that cannot serve the turn (a translated target for
// a request only the Responses API itself carries): routing moves on, and
// the reason is the error when no target serves it.
type skipped struct{ err error }

func (s skipped) Error() string   { return s.err.Error() }
func (s skipped) Unwrap() []error { return []error{s.err, router.ErrSkipTarget} }

// servable reports whether some target of plan can serve the turn.
func (t *turn) servable(plan *router.Plan) bool {
	if t.chatErr == nil {
		return true
	}
	for _, tg := range plan.Targets {
		if _, ok := nativeFor(tg); ok {
			return true
		}
	}
	return false
}

// guard applies the content rules to everything of the turn's own the model
// reads (instructions, input texts, function-call arguments, tools, the
// output schema; the history was checked when it was sent), read as one chat
// request so that the length limit counts all of it, and returns the cache
// key's body. Redacted text is written back into the body a native target
// receives and into the translation.
func (t *turn) guard(g *Gateway) func(profile string) ([]byte, error) {
	return func(profile string) ([]byte, error) {
		req := t.req
		if err := singleKeys(req.Raw, "input", "instructions", "tools", "text"); err != nil {
			return nil, err
		}
		doc := gjson.ParseBytes(req.Raw)
		for _, at := range []string{"text", "text.format"} {
			if err := uniqueKeys(doc.Get(at), at); err != nil {
				return nil, err
			}
		}
		probe := &openai.ChatRequest{}
		var params []string // each probe message's name in the request
		var texts []*string // each probe text part's source, in order
		var calls []*string // each probe tool call's arguments
		add := func(param string) *openai.Message {
			probe.Messages = append(probe.Messages, openai.Message{Role: "user", Content: openai.Content{IsParts: true}})
			params = append(params, param)
			return &probe.Messages[len(probe.Messages)-1]
		}
		text := func(m *openai.Message, s *string) {
			m.Content.Parts = append(m.Content.Parts, openai.ContentPart{Type: "text", Text: *s})
			texts = append(texts, s)
		}
		if req.Instructions != nil {
			text(add("instructions"), req.Instructions)
		}
		if req.Input.Set && !req.Input.List {
			text(add("input"), &req.Input.Text)
		}
		for i := range req.Input.Items {
			it := &req.Input.Items[i]
			m := add(fmt.Sprintf("input[%d]", i))
			var c *responses.Content
			switch it.Type {
			case responses.TypeMessage:
				c = &it.Content
			case responses.TypeFunctionCallOutput:
				c = &it.Output
			case responses.TypeFunctionCall:
				m.ToolCalls = append(m.ToolCalls, openai.ToolCall{ID: it.CallID, Type: "function",
					Function: openai.FunctionCall{Name: it.Name, Arguments: it.Arguments}})
				calls = append(calls, &it.Arguments)
				continue
			case responses.TypeReasoning:
				// Checked, never redacted: a block's signature must still match.
				m.ThinkingBlocks = responses.ThinkingBlocks(*it)
				continue
			default:
				continue
			}
			if !c.List {
				text(m, &c.Text)
			}
			for j := range c.Parts {
				if p := &c.Parts[j]; p.Type == responses.PartInputText || p.Type == responses.PartOutputText {
					text(m, &p.Text)
				}
			}
		}
		var tools []int // each probe tool's index in req.Tools
		for i, tl := range req.Tools {
			// Function tools, and any other tool with a name or a description
			// of its own (custom tools): the model reads them too.
			if tl.Type == "function" || tl.Name != "" || tl.Description != "" {
				if err := uniqueKeys(gjson.ParseBytes(tl.Raw), fmt.Sprintf("tools[%d]", i)); err != nil {
					return nil, err
				}
				probe.Tools = append(probe.Tools, openai.Tool{Type: "function",
					Function: openai.FunctionSpec{Name: tl.Name, Description: tl.Description, Parameters: tl.Parameters}})
				tools = append(tools, i)
			}
		}
		var format *responses.TextFormat
		if req.Text != nil && req.Text.Format != nil && req.Text.Format.Type == "json_schema" {
			format = req.Text.Format
			probe.ResponseFormat = &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchemaSpec{
				Name: format.Name, Description: format.Description, Schema: format.Schema}}
		}
		redacted, err := g.Guard.CheckChat(profile, probe)
		if err != nil {
			return nil, responsesParam(err, params)
		}
		if !redacted {
			return t.cacheBody(), nil
		}
		changed := false
		k := 0
		for _, m := range probe.Messages {
			for _, p := range m.Content.Parts {
				if *texts[k] != p.Text {
					*texts[k], changed = p.Text, true
				}
				k++
			}
		}
		k = 0
		for _, m := range probe.Messages {
			for _, tc := range m.ToolCalls {
				if *calls[k] != tc.Function.Arguments {
					*calls[k], changed = tc.Function.Arguments, true
				}
				k++
			}
		}
		raw := req.Raw
		for k, i := range tools {
			f, tl := probe.Tools[k].Function, &req.Tools[i]
			if f.Description != tl.Description {
				tl.Description = f.Description
				if raw, err = sjson.SetBytes(raw, fmt.Sprintf("tools.%d.description", i), f.Description); err != nil {
					return nil, redactionFailed()
				}
			}
			if !bytes.Equal(f.Parameters, tl.Parameters) {
				tl.Parameters = f.Parameters
				if raw, err = sjson.SetRawBytes(raw, fmt.Sprintf("tools.%d.parameters", i), f.Parameters); err != nil {
					return nil, redactionFailed()
				}
			}
		}
		if format != nil {
			js := probe.ResponseFormat.JSONSchema
			if js.Description != format.Description {
				format.Description = js.Description
				if raw, err = sjson.SetBytes(raw, "text.format.description", js.Description); err != nil {
					return nil, redactionFailed()
				}
			}
			if !bytes.Equal(js.Schema, format.Schema) {
				format.Schema = js.Schema
				if raw, err = sjson.SetRawBytes(raw, "text.format.schema", js.Schema); err != nil {
					return nil, redactionFailed()
				}
			}
		}
		if changed {
			if req.Instructions != nil {
				raw, err = sjson.SetBytes(raw, "instructions", *req.Instructions)
			}
			if req.Input.Set && err == nil {
				var input []byte
				if input, err = req.Input.MarshalJSON(); err == nil {
					raw, err = sjson.SetRawBytes(raw, "input", input)
				}
			}
			if err != nil {
				return nil, redactionFailed()
			}
		}
		req.Raw = raw
		t.translate()
		return t.cacheBody(), nil
	}
}

func redactionFailed() error {
	return openai.Errorf(openai.CodeInternal, "could not apply the content policy's redactions")
}

// responsesParam names a refused field as the Responses request calls it:
// the probe's "messages[k]..." is params[k] ("instructions", "input[3]"),
// its "response_format.json_schema" is "text.format".
func responsesParam(err error, params []string) error {
	var ge *openai.Error
	if !errors.As(err, &ge) {
		return err
	}
	out := *ge
	switch {
	case strings.HasPrefix(ge.Param, "messages["):
		var k int
		if _, scanErr := fmt.Sscanf(ge.Param, "messages[%d]", &k); scanErr != nil || k < 0 || k >= len(params) {
			return err
		}
		rest := ge.Param[strings.IndexByte(ge.Param, ']')+1:]
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, ".content"), ".tool_calls[0].function")
		if strings.HasPrefix(rest, ".thinking_blocks") {
			rest = ".encrypted_content" // where a reasoning item carries its thinking
		}
		out.Param = params[k] + rest
	case ge.Param == "messages":
		out.Param = "input"
	case strings.HasPrefix(ge.Param, "response_format.json_schema"):
		out.Param = "text.format" + strings.TrimPrefix(ge.Param, "response_format.json_schema")
	default:
		return err
	}
	return &out
}

// singleKeys refuses a body that carries one of the named top-level keys
// more than once or in another letter case: the policy reads the decoded
// request, a native upstream the raw bytes, and parsers differ on which
// duplicate wins.
func singleKeys(raw []byte, names ...string) error {
	seen := map[string]int{}
	gjson.ParseBytes(raw).ForEach(func(k, _ gjson.Result) bool {
		for _, n := range names {
			if strings.EqualFold(jsontext.Str(k), n) {
				seen[n]++
			}
		}
		return true
	})
	for _, n := range names {
		if seen[n] > 1 {
			return &openai.Error{Code: openai.CodeInvalidRequest, Param: n,
				Message: fmt.Sprintf("the body holds %q more than once (or in another letter case)", n)}
		}
	}
	return nil
}

// uniqueKeys refuses an object (where names it) that holds a key more than
// once or in two letter cases, for the reason singleKeys gives.
func uniqueKeys(obj gjson.Result, where string) error {
	if !obj.IsObject() {
		return nil
	}
	seen := map[string]bool{}
	var err error
	obj.ForEach(func(k, _ gjson.Result) bool {
		n := strings.ToLower(jsontext.Str(k))
		if seen[n] {
			err = &openai.Error{Code: openai.CodeInvalidRequest, Param: where,
				Message: fmt.Sprintf("%s holds %q more than once (or in another letter case)", where, jsontext.Str(k))}
		}
		seen[n] = true
		return err == nil
	})
	return err
}

// createResponse is POST /v1/responses.
func (g *Gateway) createResponse(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	req, err := responses.Parse(body)
	if err != nil {
		return err
	}
	if req.Background != nil && *req.Background {
		return &openai.Error{Code: openai.CodeInvalidRequest, Param: "background",
			Message: "background mode is not supported by this gateway; send the request without it (stream: true keeps a long answer alive)"}
	}
	rec.stream = req.Stream
	t := &turn{req: req, id: responses.NewID("resp")}
	if req.PreviousResponseID != "" {
		// The history is the caller's: read it with the caller's key.
		key, err := g.Admission.Authenticate(r.Context(), r.Header)
		if err != nil {
			return err
		}
		owner := ""
		if key != nil {
			owner = key.ID
		}
		prev, err := g.loadResponse(r.Context(), owner, req.PreviousResponseID)
		switch {
		case errors.Is(err, state.ErrNotFound):
			return &openai.Error{Code: openai.CodeNotFound, Param: "previous_response_id",
				Message: fmt.Sprintf("Previous response with id '%s' not found.", req.PreviousResponseID)}
		case err != nil:
			return g.storeError(rec, err)
		}
		t.history = prev.History
	}
	t.translate()
	prompt, maxOutput := t.estimate()
	ad, err := g.admit(w, r, rec, incoming{endpoint: admission.Responses, model: req.Model, user: req.User,
		body: t.cacheBody(), prompt: prompt, maxOutput: maxOutput, guard: t.guard(g)})
	if err != nil {
		return err
	}
	defer ad.ticket.Settle(r.Context(), nil) // a request that failed gives its reservations back
	if g.Config.Server.LogPrompts {
		rec.prompt = t.lastText()
	}
	if ad.ticket.Cached() != nil {
		return g.responseFromCache(w, r, rec, ad, t)
	}
	if !t.servable(ad.plan) {
		ad.ticket.Settle(r.Context(), nil)
		return t.chatErr
	}
	if req.Stream {
		return g.streamResponse(w, r, rec, ad, t)
	}
	var a *answer
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, tg *router.Target) error {
		var err error
		a, err = g.answerOnce(ctx, t, tg)
		return err
	}))
	rec.routed(ad.plan, res)
	if err != nil {
		ad.ticket.Settle(r.Context(), nil)
		return err
	}
	res.Done(nil)
	setResultHeaders(w, res)
	charge(w, rec, ad.ticket, res.Target.Model, a.usage)
	g.saveResponse(r.Context(), rec, t, a)
	writeBody(w, a.body, "application/json")
	var entry *state.CacheEntry
	if a.cacheable() {
		entry = g.cacheEntry(a.body, "application/json", res.Target.Provider.Name(), res.Target.Model)
	}
	ad.ticket.Settle(r.Context(), entry)
	return nil
}

// answerOnce asks one target for the whole response.
func (g *Gateway) answerOnce(ctx context.Context, t *turn, tg *router.Target) (*answer, error) {
	if n, ok := nativeFor(tg); ok {
		body, err := t.nativeBody(tg.Model)
		if err != nil {
			return nil, err
		}
		resp, err := n.Responses(ctx, &provider.RawRequest{Model: tg.Model, Body: body})
		if err != nil {
			return nil, err
		}
		return t.nativeAnswer(tg.Provider.Name(), resp)
	}
	if t.chatErr != nil {
		return nil, skipped{t.chatErr}
	}
	raw, err := json.Marshal(t.chat)
	if err != nil {
		return nil, openai.Errorf(openai.CodeInternal, "internal error")
	}
	resp, err := tg.Provider.Chat(ctx, &provider.ChatRequest{Model: tg.Model, Body: t.chat, Raw: raw})
	if err != nil {
		return nil, err
	}
	out, err := responses.FromChatBody(t.req, resp.Body, responses.Meta{ID: t.id, Now: g.Now})
	if err != nil {
		return nil, provider.BadUpstreamBody(tg.Provider.Name(), err)
	}
	return &answer{body: out.JSON(), output: out.Output, status: out.Status, usage: resp.Usage}, nil
}

// responseFromCache answers with a cached response under a new id (and the
// request's own previous_response_id, store, metadata and user, which the
// cache key leaves out), as JSON or replayed as a stream, and stores it as
// any other answer.
func (g *Gateway) responseFromCache(w http.ResponseWriter, r *http.Request, rec *record, ad *admitted, t *turn) error {
	e := ad.ticket.Cached()
	servedFromCache(w, rec, ad)
	defer ad.ticket.Settle(r.Context(), nil)
	body, err := t.replayed(e.Body, g.Now())
	if err != nil {
		return openai.Errorf(openai.CodeInternal, "cached answer unreadable")
	}
	var resp responses.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		return openai.Errorf(openai.CodeInternal, "cached answer unreadable")
	}
	g.saveResponse(r.Context(), rec, t, &answer{body: body, output: resp.Output, status: resp.Status})
	if !t.req.Stream {
		writeBody(w, body, "application/json")
		return nil
	}
	replayStream(w, &resp)
	return nil
}

// replayed is a cached response object as this turn's answer.
func (t *turn) replayed(cached []byte, now time.Time) ([]byte, error) {
	b, err := t.withGatewayID(cached, "")
	set := func(path string, v any) {
		if err == nil {
			b, err = sjson.SetBytes(b, path, v)
		}
	}
	set("created_at", now.Unix())
	if gjson.GetBytes(cached, "completed_at").Type == gjson.Number {
		set("completed_at", now.Unix())
	}
	set("store", t.stores())
	metadata := t.req.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	set("metadata", metadata)
	if t.req.User != "" {
		set("user", t.req.User)
	} else if err == nil {
		b, err = sjson.SetRawBytes(b, "user", []byte("null"))
	}
	return b, err
}

// writeFrames sends SSE frames as they are and flushes.
func writeFrames(w http.ResponseWriter, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// relay turns one target's stream into the Responses events the client gets.
type relay interface {
	// chunk translates one upstream chunk into frames to send; an error ends
	// the stream (send its frames first, then fail's).
	chunk(c provider.Chunk) ([]byte, error)
	// finish ends a stream the upstream ended cleanly: the last frames and
	// the finished response. An error means the upstream ended without
	// finishing the response; end with fail's frames then.
	finish() ([]byte, *answer, error)
	// fail ends a stream that broke, with an error event and response.failed.
	fail(err error) []byte
	// usage is the upstream's usage so far.
	usage() openai.Usage
}

// responsesChatRelay translates a chat completion stream.
type responsesChatRelay struct{ s *responses.Stream }

func (c *responsesChatRelay) chunk(ch provider.Chunk) ([]byte, error) { return c.s.Chunk(ch.Data) }
func (c *responsesChatRelay) fail(err error) []byte                   { return c.s.Fail(err) }

func (c *responsesChatRelay) finish() ([]byte, *answer, error) {
	frames := c.s.Finish()
	resp := c.s.Response()
	return frames, &answer{body: resp.JSON(), output: resp.Output, status: resp.Status, usage: c.usage()}, nil
}

func (c *responsesChatRelay) usage() openai.Usage {
	if u := c.s.Usage(); u != nil {
		return *u
	}
	return openai.Usage{}
}

// responsesNativeRelay relays a native Responses stream with the response ids
// rewritten. It keeps what a failure needs (the last response object, the
// items done so far, the next sequence number) and holds the terminal event
// back until finish, so the response is stored before the client sees it.
type responsesNativeRelay struct {
	t        *turn
	provider string
	seq      int64
	last     []byte           // the latest response object, rewritten
	done     []responses.Item // items of output_item.done events
	terminal []byte           // the held-back terminal frame
	final    *answer
	u        openai.Usage
}

// lifecycleEvents carry the whole response object.
var lifecycleEvents = map[string]bool{
	"response.created": true, "response.in_progress": true, "response.queued": true,
	"response.completed": true, "response.incomplete": true, "response.failed": true,
}

func (n *responsesNativeRelay) chunk(c provider.Chunk) ([]byte, error) {
	data := c.Data
	if bytes.IndexByte(data, '\n') >= 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, data) == nil {
			data = buf.Bytes()
		}
	}
	typ := gjson.GetBytes(data, "type").Str
	if seq := gjson.GetBytes(data, "sequence_number"); seq.Exists() {
		n.seq = seq.Int() + 1
	}
	if c.Usage != nil {
		n.u = *c.Usage
	}
	if lifecycleEvents[typ] && gjson.GetBytes(data, "response").IsObject() {
		var err error
		if data, err = n.t.withGatewayID(data, "response"); err != nil {
			return nil, provider.BadUpstreamBody(n.provider, err)
		}
		n.last = []byte(gjson.GetBytes(data, "response").Raw)
	}
	frame := make([]byte, 0, len(typ)+len(data)+16)
	frame = append(append(append(append(append(frame, "event: "...), typ...), "\ndata: "...), data...), "\n\n"...)
	switch typ {
	case "response.output_item.done":
		var it responses.Item
		if json.Unmarshal([]byte(gjson.GetBytes(data, "item").Raw), &it) == nil {
			n.done = append(n.done, it)
		}
	case "response.completed", "response.incomplete", "response.failed":
		var v struct {
			Status string           `json:"status"`
			Output []responses.Item `json:"output"`
		}
		if err := json.Unmarshal(n.last, &v); err != nil {
			return nil, provider.BadUpstreamBody(n.provider, err)
		}
		n.final = &answer{body: n.last, output: v.Output, status: v.Status}
		n.terminal = frame
		return nil, nil
	}
	return frame, nil
}

// errNoTerminal is a native stream that ended without its terminal event.
var errNoTerminal = errors.New("the upstream ended the stream before response.completed")

func (n *responsesNativeRelay) finish() ([]byte, *answer, error) {
	if n.final == nil {
		return nil, nil, &openai.Error{Code: openai.CodeUpstreamError, Provider: n.provider, Retryable: true,
			Message: fmt.Sprintf("provider %s: %v", n.provider, errNoTerminal)}
	}
	n.final.usage = n.u
	return n.terminal, n.final, nil
}

func (n *responsesNativeRelay) fail(err error) []byte {
	resp := &responses.Response{}
	if n.last == nil || json.Unmarshal(n.last, resp) != nil {
		resp = &responses.Response{ID: n.t.id, Object: "response", Model: n.t.req.Model, Metadata: map[string]string{}}
		if n.t.req.PreviousResponseID != "" {
			resp.PreviousResponseID = &n.t.req.PreviousResponseID
		}
	}
	resp.Output = n.done
	return responses.Failed(resp, int(n.seq), err)
}

func (n *responsesNativeRelay) usage() openai.Usage { return n.u }

// streamResponse relays a streamed response. Until the first event reaches
// the client a failing target is replaced by the next one; after it, a
// failure ends the stream with an error event and response.failed.
func (g *Gateway) streamResponse(w http.ResponseWriter, r *http.Request, rec *record, ad *admitted, t *turn) error {
	var (
		stream provider.Stream
		first  provider.Chunk
		rel    relay
	)
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, tg *router.Target) error {
		s, rl, err := g.startStream(ctx, t, tg)
		if err != nil {
			return err
		}
		c, err := s.Next()
		if err != nil {
			s.Close()
			if err == io.EOF {
				return &openai.Error{Code: openai.CodeUpstreamError, Provider: tg.Provider.Name(), Retryable: true, Message: errEmptyStream.Error()}
			}
			return err
		}
		stream, first, rel = s, c, rl
		return nil
	}))
	rec.routed(ad.plan, res)
	if err != nil {
		ad.ticket.Settle(r.Context(), nil)
		return err
	}
	defer res.Done(router.ErrAbandoned) // a panic below still frees the breaker's trial slot
	defer stream.Close()
	startStream(w, res)
	var tail []byte // the stream's last frames, once made
	streamEnded := rec.endsWith(func(err error) []byte {
		if tail != nil {
			return tail // made, not yet sent
		}
		return rel.fail(err)
	})
	var streamErr error
	gone := false
	complete := false
	for c := first; ; {
		frames, err := rel.chunk(c)
		if werr := writeFrames(w, frames); werr != nil {
			gone = true
			break
		}
		if err != nil {
			streamErr = err
			break
		}
		c, err = stream.Next()
		if err == io.EOF {
			complete = true
			break
		}
		if err != nil {
			if clientLeft(r) {
				gone = true
			} else {
				streamErr = err
			}
			break
		}
	}
	var final *answer
	if complete {
		if tail, final, streamErr = rel.finish(); streamErr != nil {
			tail = rel.fail(streamErr)
		} else {
			g.saveResponse(r.Context(), rec, t, final)
		}
	} else if streamErr != nil {
		tail = rel.fail(streamErr)
	}
	res.Done(streamErr)
	chargeStream(w, rec, ad.ticket, res.Target.Model, rel.usage()) // before the terminal event
	switch {
	case gone || clientLeft(r):
		rec.errMsg = "client disconnected"
	case streamErr != nil:
		rec.errMsg = openai.AsError(streamErr).Error()
		_ = writeFrames(w, tail)
	default:
		_ = writeFrames(w, tail)
	}
	streamEnded()
	var entry *state.CacheEntry
	if final != nil && final.cacheable() && ad.ticket.CacheMode() == admission.CacheMiss {
		entry = g.cacheEntry(final.body, "application/json", res.Target.Provider.Name(), res.Target.Model)
	}
	// Usage is settled even when the client left: nothing accepted is lost.
	ad.ticket.Settle(r.Context(), entry)
	return nil
}

// startStream opens one target's stream and the relay that translates it.
func (g *Gateway) startStream(ctx context.Context, t *turn, tg *router.Target) (provider.Stream, relay, error) {
	if n, ok := nativeFor(tg); ok {
		body, err := t.nativeBody(tg.Model)
		if err != nil {
			return nil, nil, err
		}
		s, err := n.ResponsesStream(ctx, &provider.RawRequest{Model: tg.Model, Body: body})
		if err != nil {
			return nil, nil, err
		}
		return s, &responsesNativeRelay{t: t, provider: tg.Provider.Name()}, nil
	}
	if t.chatErr != nil {
		return nil, nil, skipped{t.chatErr}
	}
	raw, err := json.Marshal(t.chat)
	if err != nil {
		return nil, nil, openai.Errorf(openai.CodeInternal, "internal error")
	}
	s, err := tg.Provider.ChatStream(ctx, &provider.ChatRequest{Model: tg.Model, Body: t.chat, Raw: raw})
	if err != nil {
		return nil, nil, err
	}
	return s, &responsesChatRelay{s: responses.NewStream(t.req, responses.Meta{ID: t.id, Now: g.Now})}, nil
}

// responseOwner authenticates a GET or DELETE of a stored response and
// returns the caller's key id.
func (g *Gateway) responseOwner(r *http.Request, rec *record) (string, error) {
	rec.endpoint = admission.Responses.Name
	key, err := g.Admission.Authenticate(r.Context(), r.Header)
	if err != nil || key == nil {
		return "", err
	}
	rec.keyID = key.ID
	return key.ID, nil
}

// getResponse is GET /v1/responses/{id}: the stored response, as JSON or,
// with ?stream=true, replayed as its event stream. Another key's id is a 404.
func (g *Gateway) getResponse(w http.ResponseWriter, r *http.Request, rec *record) error {
	s, err := g.ownResponse(r, rec)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("stream") != "true" {
		writeBody(w, s.Response, "application/json")
		return nil
	}
	var resp responses.Response
	if err := json.Unmarshal(s.Response, &resp); err != nil {
		return g.storeError(rec, err)
	}
	rec.stream = true
	replayStream(w, &resp)
	return nil
}

// replayStream sends resp as the stream of events that would have made it.
// The frames are made before the headers go out: a panic while making them
// is then a plain 500 in OpenAI's shape, not a cut stream.
func replayStream(w http.ResponseWriter, resp *responses.Response) {
	frames := responses.Replay(resp)
	sse.SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	_ = writeFrames(w, frames)
}

// deleteResponse is DELETE /v1/responses/{id}. Another key's id is a 404
// and stays stored.
func (g *Gateway) deleteResponse(w http.ResponseWriter, r *http.Request, rec *record) error {
	owner, err := g.responseOwner(r, rec)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	st := g.responsesStore()
	if st == nil {
		return notFoundResponse(id, "response_id")
	}
	switch err := st.Delete(r.Context(), owner, id); {
	case errors.Is(err, state.ErrNotFound):
		return notFoundResponse(id, "response_id")
	case err != nil:
		return g.storeError(rec, err)
	}
	return writeJSON(w, http.StatusOK, struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Deleted bool   `json:"deleted"`
	}{id, "response", true})
}

// listInputItems is GET /v1/responses/{id}/input_items: a page (limit,
// order, after) of the items the stored response was made from, the turns
// it continued included, as OpenAI lists them. Another key's id is a 404.
func (g *Gateway) listInputItems(w http.ResponseWriter, r *http.Request, rec *record) error {
	s, err := g.ownResponse(r, rec)
	if err != nil {
		return err
	}
	page, err := responses.ParsePage(r.URL.Query())
	if err != nil {
		return err
	}
	// The history ends with the response's own output.
	input := s.History[:max(0, len(s.History)-int(gjson.GetBytes(s.Response, "output.#").Int()))]
	list, err := responses.InputItems(r.PathValue("id"), input, page)
	if err != nil {
		return err
	}
	b, err := list.JSON()
	if err != nil {
		return g.storeError(rec, err)
	}
	writeBody(w, b, "application/json")
	return nil
}

// errCancelSynchronous is OpenAI's answer to cancelling a response that was
// not created in background mode: every response this gateway makes.
var errCancelSynchronous = &openai.Error{Code: openai.CodeInvalidRequest, Message: "Cannot cancel a synchronous response."}

// cancelResponse is POST /v1/responses/{id}/cancel. Only background
// responses can be cancelled, and the gateway makes none: a stored response
// of the caller's is a 400 as OpenAI answers it; another key's or an unknown
// id is a 404.
func (g *Gateway) cancelResponse(w http.ResponseWriter, r *http.Request, rec *record) error {
	if _, err := g.ownResponse(r, rec); err != nil {
		return err
	}
	return errCancelSynchronous
}

// ownResponse is the caller's stored response named by the path's {id}:
// another key's or an unknown id is a 404 naming it.
func (g *Gateway) ownResponse(r *http.Request, rec *record) (*storedResponse, error) {
	owner, err := g.responseOwner(r, rec)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	s, err := g.loadResponse(r.Context(), owner, id)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, notFoundResponse(id, "response_id")
	case err != nil:
		return nil, g.storeError(rec, err)
	}
	return s, nil
}

// handleResponseByID registers GET and DELETE on path, GET on its
// input_items and POST on its cancel; other methods get a 405 in OpenAI's
// error shape naming the allowed ones.
func (g *Gateway) handleResponseByID(path string) {
	routes := []struct {
		path    string
		methods []string
		h       []handlerFunc
	}{
		{path, []string{http.MethodGet, http.MethodDelete}, []handlerFunc{g.getResponse, g.deleteResponse}},
		{path + "/input_items", []string{http.MethodGet}, []handlerFunc{g.listInputItems}},
		{path + "/cancel", []string{http.MethodPost}, []handlerFunc{g.cancelResponse}},
	}
	for _, rt := range routes {
		for i, m := range rt.methods {
			g.mux.Handle(m+" "+rt.path, g.endpoint(rt.h[i]))
		}
		allow, p := strings.Join(rt.methods, ", "), rt.path
		g.mux.Handle(p, g.endpoint(func(w http.ResponseWriter, r *http.Request, _ *record) error {
			w.Header().Set("Allow", allow)
			return openai.Errorf(openai.CodeMethodNotAllowed, "method %s is not allowed on %s; use %s", r.Method, p,
				strings.Join(rt.methods, " or "))
		}))
	}
}

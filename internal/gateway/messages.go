package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/aigateway/gateway/internal/admission"
	"github.com/aigateway/gateway/internal/messages"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/pricing"
	"github.com/aigateway/gateway/internal/provider"
	"github.com/aigateway/gateway/internal/provider/anthropic"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/sse"
	"github.com/aigateway/gateway/internal/state"
	"github.com/tidwall/sjson"
)

// Anthropic's Messages API for clients (the Anthropic SDKs, Claude Code):
// POST /v1/messages and /v1/messages/count_tokens. A request goes through
// the same admission and routing as a chat completion; a target whose
// provider speaks the Messages API upstream for its model (Anthropic; Claude
// models on Bedrock, through InvokeModel) gets the client's body with only
// its model changed (and, on Bedrock, put in Bedrock's form), and its answer
// reaches the client byte for byte; every other target gets the request
// translated to chat, and its answer translated back. Errors are in
// Anthropic's shape (anthropicEndpoint).

// nativeMessages is a provider that speaks the Messages API upstream.
type nativeMessages interface {
	Messages(ctx context.Context, req *anthropic.NativeRequest) (*provider.Response, error)
	MessagesStream(ctx context.Context, req *anthropic.NativeRequest) (*anthropic.NativeStream, error)
	CountTokens(ctx context.Context, req *anthropic.NativeRequest) (*provider.Response, error)
}

// messagesModels is a native provider that speaks the Messages API for
// some of its models only: Bedrock, for Claude.
type messagesModels interface {
	ServesMessages(model string) bool
}

func nativeOf(t *router.Target) (nativeMessages, bool) {
	n, ok := t.Provider.(nativeMessages)
	if !ok {
		return nil, false
	}
	if m, some := t.Provider.(messagesModels); some && !m.ServesMessages(t.Model) {
		return nil, false
	}
	return n, true
}

// TokenCountHeader marks a count_tokens answer that is the gateway's
// estimate (its value is "estimate"), not the provider's own count.
const TokenCountHeader = "X-Gateway-Token-Count"

// DroppedHeader names, on an answer a translated target made, the request's
// fields the translation to chat could not carry (messages.Dropped),
// comma-separated: "top_k,cache_control".
const DroppedHeader = "X-Gateway-Dropped"

// reportDropped tells the client (DroppedHeader) and the log line
// ("dropped") what the translation for t left out of the request; a native
// target got all of it.
func (mc *messagesCall) reportDropped(w http.ResponseWriter, rec *record, t *router.Target) {
	if t == nil {
		return
	}
	if _, native := nativeOf(t); native {
		return
	}
	if d := messages.Dropped(mc.req); len(d) > 0 {
		v := strings.Join(d, ",")
		w.Header().Set(DroppedHeader, v)
		rec.attrs = append(rec.attrs, slog.String("dropped", v))
	}
}

// messagesCall is a decoded Messages request and what its targets need.
type messagesCall struct {
	req  *messages.Request
	body []byte // the body sent to native targets (after guardrails)
	// chat is the request translated for the other targets, chatRaw its
	// JSON; chatErr is why there is none (a request only Anthropic serves).
	chat    *openai.ChatRequest
	chatRaw []byte
	chatErr error
	beta    string // the client's anthropic-beta
}

func newMessagesCall(req *messages.Request, body []byte, r *http.Request) *messagesCall {
	mc := &messagesCall{req: req, body: body, beta: strings.Join(r.Header.Values("Anthropic-Beta"), ",")}
	mc.chat, mc.chatErr = messages.ToChat(req)
	if mc.chatErr == nil {
		mc.chatRaw, mc.chatErr = json.Marshal(mc.chat)
	}
	return mc
}

// betaFeatures is an anthropic-beta value in one spelling: its features
// sorted, without repeats or blanks.
func betaFeatures(beta string) string {
	var fs []string
	for _, f := range strings.Split(beta, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	slices.Sort(fs)
	return strings.Join(fs, ",")
}

// promptEstimate is the prompt's size in tokens, guessed high.
func (mc *messagesCall) promptEstimate() int {
	if mc.chat != nil {
		return pricing.EstimatePromptTokens(mc.chat)
	}
	return len(mc.body)/pricing.BytesPerToken + 1
}

// nativeRequest is the body for target t: the client's with t's model.
func (mc *messagesCall) nativeRequest(t *router.Target) (*anthropic.NativeRequest, error) {
	raw, err := messages.PatchModel(mc.body, t.Model)
	if err != nil {
		return nil, err
	}
	return &anthropic.NativeRequest{Body: raw, Beta: mc.beta}, nil
}

func (mc *messagesCall) chatRequest(t *router.Target) *provider.ChatRequest {
	return &provider.ChatRequest{Model: t.Model, Body: mc.chat, Raw: mc.chatRaw}
}

// servable narrows the plan to the targets that can serve the request: all
// of them, or only the native ones when the request has no chat form.
func (mc *messagesCall) servable(plan *router.Plan, why error) error {
	if why == nil {
		return nil
	}
	var native []*router.Target
	for _, t := range plan.Targets {
		if _, ok := nativeOf(t); ok {
			native = append(native, t)
		}
	}
	if len(native) == 0 {
		return why
	}
	plan.Targets = native
	return nil
}

// admitMessages reads, decodes and admits a Messages request; the ticket is
// settled by the caller.
func (g *Gateway) admitMessages(w http.ResponseWriter, r *http.Request, rec *record, ep admission.Endpoint,
	decode func([]byte) (*messages.Request, error)) (*messagesCall, *admitted, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, nil, err
	}
	req, err := decode(body)
	if err != nil {
		return nil, nil, err
	}
	rec.stream = req.Stream
	mc := newMessagesCall(req, body, r)
	user := ""
	if req.Metadata != nil {
		user = req.Metadata.UserID
	}
	ad, err := g.admit(w, r, rec, incoming{endpoint: ep, model: req.Model, user: user, body: body,
		prompt: int64(mc.promptEstimate()), maxOutput: int64(req.MaxTokens), cacheVary: betaFeatures(mc.beta),
		guard: func(profile string) ([]byte, error) { return g.checkMessages(profile, req, body) }})
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(ad.body, body) {
		// Redacted: the translation is made again from what is sent.
		if req, err = decode(ad.body); err != nil {
			ad.ticket.Settle(r.Context(), nil)
			return nil, nil, err
		}
		mc = newMessagesCall(req, ad.body, r)
	}
	if g.Config.Server.LogPrompts && len(req.Messages) > 0 {
		var texts []string
		for _, b := range req.Messages[len(req.Messages)-1].Content {
			if b.Type == messages.BlockText {
				texts = append(texts, b.Text)
			}
		}
		rec.prompt = strings.Join(texts, "\n")
	}
	return mc, ad, nil
}

// messages serves POST /v1/messages.
func (g *Gateway) messages(w http.ResponseWriter, r *http.Request, rec *record) error {
	mc, ad, err := g.admitMessages(w, r, rec, admission.Messages, messages.Decode)
	if err != nil {
		return err
	}
	// Settled once: after the answer below with its cache entry, or here
	// when the request failed, which corrects its reservations.
	defer ad.ticket.Settle(r.Context(), nil)
	if ad.ticket.Cached() != nil {
		return g.messagesFromCache(w, rec, ad, mc)
	}
	if err := mc.servable(ad.plan, mc.chatErr); err != nil {
		return err
	}
	if mc.req.Stream {
		return g.streamMessages(w, r, rec, ad, mc)
	}
	var resp *provider.Response
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, t *router.Target) error {
		var err error
		resp, err = mc.answer(ctx, t)
		return err
	}))
	rec.routed(ad.plan, res)
	if err != nil {
		return err
	}
	mc.reportDropped(w, rec, res.Target)
	res.Done(nil)
	cacheType := ""
	if _, ok := messages.ParseMessage(resp.Body); ok && ad.ticket.CacheMode() == admission.CacheMiss {
		cacheType = "application/json"
	}
	g.finish(w, r, rec, ad, res, resp, cacheType)
	return nil
}

// answer makes one non-stream call to t: the Messages answer and its usage.
func (mc *messagesCall) answer(ctx context.Context, t *router.Target) (*provider.Response, error) {
	if n, ok := nativeOf(t); ok {
		nr, err := mc.nativeRequest(t)
		if err != nil {
			return nil, err
		}
		resp, err := n.Messages(ctx, nr)
		if err != nil {
			return nil, err
		}
		var u messages.NativeUsage
		u.Add(resp.Body)
		nu, _ := u.Usage()
		resp.Usage = nu.ChatUsage()
		return resp, nil
	}
	resp, err := t.Provider.Chat(ctx, mc.chatRequest(t))
	if err != nil {
		return nil, err
	}
	m, err := messages.FromChatBody(resp.Body, mc.req.Model)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Body: m.JSON(), ContentType: "application/json", Usage: resp.Usage}, nil
}

// messagesFromCache answers from the cache: the stored answer as it is, or
// replayed as a stream's events.
func (g *Gateway) messagesFromCache(w http.ResponseWriter, rec *record, ad *admitted, mc *messagesCall) error {
	e, req := ad.ticket.Cached(), mc.req
	// The answer was made by the target the entry names: what its
	// translation dropped, it dropped for this request too.
	mc.reportDropped(w, rec, cachedTarget(ad))
	if !req.Stream {
		servedFromCache(w, rec, ad)
		writeBody(w, e.Body, e.ContentType)
		return nil
	}
	m, ok := messages.ParseMessage(e.Body)
	if !ok {
		return openai.Errorf(openai.CodeInternal, "cached answer unreadable")
	}
	servedFromCache(w, rec, ad)
	sse.SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(messages.Replay(m))
	flush(w)
	return nil
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// messagesStream is an upstream stream as the client's Messages stream.
type messagesStream interface {
	// next returns the next bytes for the client (possibly none); io.EOF
	// once the stream is complete, another error when it broke.
	next() ([]byte, error)
	// fail is what ends a stream that broke with err.
	fail(err error) []byte
	// usage is the upstream's usage so far.
	usage() openai.Usage
	// answer is the complete answer, when the stream completed and it can
	// be cached.
	answer() (*messages.Message, bool)
	close()
}

// streamMessages relays a streamed answer. Until the first event reaches the
// client a failing target is replaced by the next one; after it, a failure
// ends the stream with an error event.
func (g *Gateway) streamMessages(w http.ResponseWriter, r *http.Request, rec *record, ad *admitted, mc *messagesCall) error {
	caching := ad.ticket.CacheMode() == admission.CacheMiss
	var st messagesStream
	res, err := g.Router.Run(r.Context(), ad.plan, ad.ticket.Wrap(func(ctx context.Context, t *router.Target) error {
		var err error
		if n, ok := nativeOf(t); ok {
			st, err = mc.startNative(ctx, t, n, caching)
		} else {
			st, err = mc.startChat(ctx, t)
		}
		return err
	}))
	rec.routed(ad.plan, res)
	if err != nil {
		return err
	}
	defer res.Done(router.ErrAbandoned) // a panic below still frees the breaker's trial slot
	defer st.close()
	mc.reportDropped(w, rec, res.Target)
	startStream(w, res)
	var streamErr error
	complete := false
	for {
		b, err := st.next()
		if err == io.EOF {
			complete = true
			break
		}
		if err != nil {
			if clientLeft(r) {
				rec.errMsg = "client disconnected"
				break
			}
			streamErr = err
			rec.errMsg = anthropicErrors.describe(err)
			_, _ = w.Write(st.fail(err))
			flush(w)
			break
		}
		if len(b) == 0 {
			continue
		}
		if _, err := w.Write(b); err != nil {
			rec.errMsg = "client disconnected"
			break
		}
		flush(w)
	}
	res.Done(streamErr)
	chargeStream(w, rec, ad.ticket, res.Target.Model, st.usage()) // after message_stop, the upstream's own last event
	var entry *state.CacheEntry
	if m, ok := st.answer(); complete && caching && ok {
		entry = g.cacheEntry(m.JSON(), "application/json", res.Target.Provider.Name(), res.Target.Model)
	}
	// Usage is settled even when the client left: nothing accepted is lost.
	ad.ticket.Settle(r.Context(), entry)
	return nil
}

// startNative opens a native stream on t and reads its first event; an
// error event first (after any comments) is the target's failure, so another
// may be tried.
func (mc *messagesCall) startNative(ctx context.Context, t *router.Target, n nativeMessages, caching bool) (messagesStream, error) {
	nr, err := mc.nativeRequest(t)
	if err != nil {
		return nil, err
	}
	s, err := n.MessagesStream(ctx, nr)
	if err != nil {
		return nil, err
	}
	// Comments before the first event go out with it.
	var lead []byte
	f, err := s.Next()
	for err == nil && f.Data == nil {
		lead = append(lead, f.Raw...)
		f, err = s.Next()
	}
	if err == nil && f.Err != nil {
		err = f.Err
	}
	if err != nil {
		s.Close()
		if err == io.EOF {
			err = &openai.Error{Code: openai.CodeUpstreamError, Provider: t.Provider.Name(), Retryable: true, Message: errEmptyStream.Error()}
		}
		return nil, err
	}
	f.Raw = append(lead, f.Raw...)
	ns := &nativeRelay{s: s, first: &f}
	if caching {
		ns.acc = &messages.Accumulator{}
	}
	return ns, nil
}

// nativeRelay sends a native stream's events on as they came.
type nativeRelay struct {
	s      *anthropic.NativeStream
	first  *anthropic.Frame
	u      messages.NativeUsage
	acc    *messages.Accumulator // nil unless the answer is to be cached
	failed error                 // an error event already relayed
}

func (n *nativeRelay) next() ([]byte, error) {
	if n.failed != nil {
		return nil, n.failed
	}
	var f anthropic.Frame
	if n.first != nil {
		f, n.first = *n.first, nil
	} else {
		var err error
		if f, err = n.s.Next(); err != nil {
			return nil, err
		}
	}
	if f.Data != nil {
		n.u.Add(f.Data)
		if n.acc != nil {
			n.acc.Add(f.Data)
		}
	}
	if f.Err != nil {
		n.failed = f.Err
	}
	return f.Raw, nil
}

func (n *nativeRelay) fail(err error) []byte {
	if err == n.failed {
		return nil // the upstream's own error event is what the client has
	}
	return messages.FromError(err).Event()
}

func (n *nativeRelay) usage() openai.Usage {
	u, _ := n.u.Usage()
	return u.ChatUsage()
}

func (n *nativeRelay) answer() (*messages.Message, bool) {
	if n.acc == nil {
		return nil, false
	}
	return n.acc.Message()
}

func (n *nativeRelay) close() { n.s.Close() }

// startChat opens a chat stream on t and reads its first chunk.
func (mc *messagesCall) startChat(ctx context.Context, t *router.Target) (messagesStream, error) {
	s, err := t.Provider.ChatStream(ctx, mc.chatRequest(t))
	if err != nil {
		return nil, err
	}
	c, err := s.Next()
	if err != nil {
		s.Close()
		if err == io.EOF {
			return nil, &openai.Error{Code: openai.CodeUpstreamError, Provider: t.Provider.Name(), Retryable: true, Message: errEmptyStream.Error()}
		}
		return nil, err
	}
	return &chatRelay{s: s, first: &c, ms: messages.NewStream(mc.req.Model, mc.promptEstimate())}, nil
}

// chatRelay translates a chat stream into the Messages stream's events.
type chatRelay struct {
	s        provider.Stream
	first    *provider.Chunk
	ms       *messages.Stream
	finished bool
}

func (c *chatRelay) next() ([]byte, error) {
	if c.finished {
		return nil, io.EOF
	}
	var ch provider.Chunk
	if c.first != nil {
		ch, c.first = *c.first, nil
	} else {
		var err error
		ch, err = c.s.Next()
		if err == io.EOF {
			c.finished = true
			return c.ms.Finish(), nil
		}
		if err != nil {
			return nil, err
		}
	}
	return c.ms.Chunk(ch.Data)
}

func (c *chatRelay) fail(err error) []byte { return c.ms.Fail(err) }

func (c *chatRelay) usage() openai.Usage { return c.ms.Usage() }

func (c *chatRelay) answer() (*messages.Message, bool) {
	if !c.finished {
		return nil, false
	}
	return c.ms.Message(), true
}

func (c *chatRelay) close() { c.s.Close() }

// countTokens serves POST /v1/messages/count_tokens: the provider's own count
// from a native target, else the gateway's estimate, marked as such.
func (g *Gateway) countTokens(w http.ResponseWriter, r *http.Request, rec *record) error {
	mc, ad, err := g.admitMessages(w, r, rec, admission.CountTokens, messages.DecodeCountTokens)
	if err != nil {
		return err
	}
	defer ad.ticket.Settle(r.Context(), nil)
	estimate, estErr := messages.CountTokens(mc.req)
	if err := mc.servable(ad.plan, estErr); err != nil {
		return err
	}
	var resp *provider.Response
	estimated := false
	res, err := g.Router.Run(r.Context(), ad.plan, func(ctx context.Context, t *router.Target) error {
		n, ok := nativeOf(t)
		if !ok {
			b, _ := json.Marshal(estimate)
			resp, estimated = &provider.Response{Body: b, ContentType: "application/json"}, true
			return nil
		}
		return ad.ticket.Wrap(func(ctx context.Context, t *router.Target) error {
			nr, err := mc.nativeRequest(t)
			if err == nil {
				resp, err = n.CountTokens(ctx, nr)
			}
			return err
		})(ctx, t)
	})
	rec.routed(ad.plan, res)
	if err != nil {
		return err
	}
	res.Done(nil)
	setResultHeaders(w, res)
	if estimated {
		w.Header().Set(TokenCountHeader, "estimate")
	}
	writeBody(w, resp.Body, resp.ContentType)
	return nil
}

// checkMessages applies the content rules of profile to the prompt text of
// a Messages body (messages.Texts) and returns the body to send: body
// itself, or with only the redacted texts rewritten.
//
// The rules read the texts as one chat request whose message i holds the
// texts of turn i, and whose last message holds the system prompt: the
// length limit counts all of them, and a refusal names the turn.
func (g *Gateway) checkMessages(profile string, req *messages.Request, body []byte) ([]byte, error) {
	texts, err := messages.Texts(body)
	if err != nil {
		return nil, err
	}
	system := len(req.Messages)
	probe := &openai.ChatRequest{Messages: make([]openai.Message, system+1)}
	type at struct{ msg, part int }
	where := make([]at, len(texts))
	for i, t := range texts {
		m := t.Turn
		if m < 0 || m >= system {
			m = system
		}
		c := &probe.Messages[m].Content
		c.IsParts = true
		c.Parts = append(c.Parts, openai.ContentPart{Type: "text", Text: t.Text})
		where[i] = at{m, len(c.Parts) - 1}
	}
	for i := range probe.Messages {
		probe.Messages[i].Role = "user"
	}
	// The model reads the tools (names, descriptions, the descriptions in
	// their schemas), the inputs of earlier tool calls and earlier thinking
	// too: they go in as the chat request's tools, tool calls and thinking
	// blocks, which the rules read as chat's.
	type use struct{ msg, block, call int }
	var uses []use
	for m, msg := range req.Messages {
		for j, b := range msg.Content {
			if b.Type == messages.BlockThinking && b.Thinking != "" {
				// An earlier turn's reasoning, which Anthropic reads back in a
				// tool-use loop: checked as chat's thinking blocks are, never
				// redacted (its signature must still match).
				probe.Messages[m].ThinkingBlocks = append(probe.Messages[m].ThinkingBlocks,
					openai.ThinkingBlock{Type: openai.ThinkingTypeThinking, Thinking: b.Thinking})
			}
			if b.Type == messages.BlockToolUse && len(b.Input) > 0 {
				probe.Messages[m].ToolCalls = append(probe.Messages[m].ToolCalls, openai.ToolCall{ID: b.ID, Type: "function",
					Function: openai.FunctionCall{Name: b.Name, Arguments: string(b.Input)}})
				uses = append(uses, use{m, j, len(probe.Messages[m].ToolCalls) - 1})
			}
		}
	}
	for _, tl := range req.Tools {
		probe.Tools = append(probe.Tools, openai.Tool{Type: "function",
			Function: openai.FunctionSpec{Name: tl.Name, Description: tl.Description, Parameters: tl.InputSchema}})
	}
	redacted, err := g.Guard.CheckChat(profile, probe)
	if err != nil {
		return nil, turnError(err, system)
	}
	if !redacted {
		return body, nil
	}
	var changed []messages.Text
	for i, t := range texts {
		if s := probe.Messages[where[i].msg].Content.Parts[where[i].part].Text; s != t.Text {
			t.Text = s
			changed = append(changed, t)
		}
	}
	out, err := messages.SetTexts(body, changed)
	// The paths below are numbers and fixed names only; Texts refused a
	// block or tool whose keys repeat, so each names the one field sent.
	for _, u := range uses {
		args := probe.Messages[u.msg].ToolCalls[u.call].Function.Arguments
		if err == nil && args != string(req.Messages[u.msg].Content[u.block].Input) {
			out, err = sjson.SetRawBytes(out, fmt.Sprintf("messages.%d.content.%d.input", u.msg, u.block), []byte(args))
		}
	}
	for i, tl := range req.Tools {
		f := probe.Tools[i].Function
		if err == nil && f.Description != tl.Description {
			out, err = sjson.SetBytes(out, fmt.Sprintf("tools.%d.description", i), f.Description)
		}
		if err == nil && !bytes.Equal(f.Parameters, tl.InputSchema) {
			out, err = sjson.SetRawBytes(out, fmt.Sprintf("tools.%d.input_schema", i), f.Parameters)
		}
	}
	return out, err
}

// turnError names a refused turn as the Messages API does ("messages.2",
// "system") rather than as chat does ("messages[2]").
func turnError(err error, system int) error {
	var ge *openai.Error
	if !errors.As(err, &ge) || !strings.HasPrefix(ge.Param, "messages[") {
		return err
	}
	var i int
	if _, scanErr := fmt.Sscanf(ge.Param, "messages[%d]", &i); scanErr != nil {
		return err
	}
	name := fmt.Sprintf("messages.%d", i)
	if i == system {
		name = "system"
	}
	out := *ge
	out.Param = ""
	out.Message = strings.Replace(ge.Message, fmt.Sprintf("messages[%d]", i), name, 1)
	return &out
}

package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/messages"
	"github.com/aigateway/gateway/internal/metrics"
	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/router"
	"github.com/aigateway/gateway/internal/sse"
)

// record is what one request's log line and metrics event report. The
// middleware creates it; the endpoint adapter hands it to the handler, which
// fills in what it learns.
type record struct {
	id       string
	endpoint string
	upstream time.Duration
	ttfb     time.Duration
	keyID    string
	costUSD  float64
	route    string
	provider string
	model    string
	// metricsModel is the model's name in metrics: bounded by the
	// configuration (a wildcard-resolved model reports its pattern).
	metricsModel string
	stream       bool
	cached       bool
	attempts     int
	failovers    int
	usage        openai.Usage
	errMsg       string
	prompt       string
	// cut is set when the upstream broke off a stream already under way.
	cut bool
	// style is the protocol the endpoint writes its errors in.
	style errorStyle
	// endStream, when a stream writer set it, ends its stream after a panic
	// in the stream's own protocol (streamend.go).
	endStream func() []byte
	// attrs are what the endpoint adds to its log line.
	attrs []slog.Attr
}

// errorStyle is the protocol an endpoint writes its errors in.
type errorStyle int

const (
	// openAIErrors: {"error":{"message","type","param","code"}}, and in a
	// stream a data: event with it, then [DONE].
	openAIErrors errorStyle = iota
	// anthropicErrors: {"type":"error","error":{"type","message"}} with
	// Anthropic's statuses, and in a stream an error event (the Messages API).
	anthropicErrors
)

// write sends err as an error response in the style's shape.
func (s errorStyle) write(w http.ResponseWriter, err error, requestID string) {
	if s == anthropicErrors {
		var ge *openai.Error
		if errors.As(err, &ge) {
			for k, v := range ge.Header {
				w.Header()[k] = v
			}
		}
		e := *messages.FromError(err)
		e.RequestID = requestID
		e.Write(w)
		return
	}
	openai.AsError(err).Write(w)
}

// describe is what the log line says about err.
func (s errorStyle) describe(err error) string {
	var me *messages.Error
	if s == anthropicErrors && errors.As(err, &me) {
		return me.Error()
	}
	return openai.AsError(err).Error()
}

// internalError ends a response whose handler panicked, in the style's
// shape: an error response before anything was written, an error event inside
// an SSE stream.
func (s errorStyle) internalError(tw *trackingWriter, requestID string) {
	switch {
	case !tw.wroteHeader:
		s.write(tw, openai.Errorf(openai.CodeInternal, "internal error"), requestID)
	case tw.isSSE() && tw.failed == nil:
		if s == anthropicErrors {
			e := messages.FromError(openai.Errorf(openai.CodeInternal, "internal error"))
			_, _ = tw.Write(e.Event())
			tw.Flush()
			return
		}
		out := sse.NewWriter(tw)
		_ = out.Data(openai.Errorf(openai.CodeInternal, "internal error").JSON())
		_ = out.Done()
	}
	// Otherwise a non-SSE body was under way, or the client is gone:
	// nothing can be appended that the client would understand.
}

// routed records which target answered and how many tries it took.
func (rec *record) routed(plan *router.Plan, res *router.Result) {
	rec.route = plan.Route
	rec.attempts, rec.failovers = res.Attempts, res.Failovers
	if t := res.Tried; t != nil {
		// The target that answered, or on a failure the last one tried:
		// metrics and the log line name the provider that failed.
		rec.provider, rec.model, rec.metricsModel = t.Provider.Name(), t.Model, t.MetricsModel()
	}
	if res.Target != nil {
		if rec.stream {
			rec.ttfb = res.Latency
		} else {
			rec.upstream = res.Latency
		}
	}
}

type recordKey struct{}

// handlerFunc is an endpoint: it returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request, rec *record) error

// endpoint adapts a handlerFunc: a returned error is written in OpenAI's
// shape (unless the response already started) and noted for the log line.
func (g *Gateway) endpoint(h handlerFunc) http.Handler { return g.endpointAs(openAIErrors, h) }

// anthropicEndpoint is endpoint for the Messages API: errors in Anthropic's
// shape and with its statuses.
func (g *Gateway) anthropicEndpoint(h handlerFunc) http.Handler {
	return g.endpointAs(anthropicErrors, h)
}

func (g *Gateway) endpointAs(style errorStyle, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := r.Context().Value(recordKey{}).(*record)
		if !ok {
			rec = &record{}
		}
		rec.style = style
		if style == anthropicErrors {
			w.Header().Set("Request-Id", rec.id) // where Anthropic's clients look for it
		}
		if err := h(w, r, rec); err != nil {
			rec.errMsg = style.describe(err)
			if tw, ok := w.(*trackingWriter); !ok || !tw.wroteHeader {
				style.write(w, err, rec.id)
			}
		}
	})
}

// ServeHTTP implements http.Handler: request id, CORS, body limit, timeout,
// panic recovery, the route, and one log line and metrics event.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &record{id: r.Header.Get("X-Request-Id")}
	if !validRequestID(rec.id) {
		rec.id = newID()
	}
	tw := track(w)
	tw.Header().Set("X-Request-Id", rec.id)
	if g.cors(tw, r) {
		return
	}
	if r.Body != nil && g.Config.Server.MaxBodyBytes > 0 {
		r.Body = http.MaxBytesReader(tw, r.Body, g.Config.Server.MaxBodyBytes)
	}
	ctx := context.WithValue(r.Context(), recordKey{}, rec)
	if g.Config.Server.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.Config.Server.Timeout)
		defer cancel()
	}
	r = r.WithContext(ctx)
	defer func() { g.logRequest(r, tw.status, time.Since(start), rec) }()
	g.root.ServeHTTP(tw, r)
}

// onPanic logs a recovered panic with the request's id.
func (g *Gateway) onPanic(r *http.Request, p any) {
	rec, _ := r.Context().Value(recordKey{}).(*record)
	if rec == nil {
		rec = &record{}
	}
	g.Logger.Error("panic", "request_id", rec.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	rec.errMsg = "panic"
}

// Recover ends the response of a panicking handler in a form the client
// understands: before anything was written a 500 in OpenAI's error shape;
// inside an SSE stream an error event and `data: [DONE]`, so SDKs end the
// stream with an error instead of hanging. On the Messages API (the
// request's record says so) both are in Anthropic's shape; a stream whose
// writer left its own ending on the record (the Responses API's error and
// response.failed) ends with that. http.ErrAbortHandler is re-raised
// (the server cuts the connection) unless recoverAborts is set. onPanic (nil:
// a log line on the default logger) hears of every other panic.
func Recover(next http.Handler, recoverAborts bool, onPanic func(*http.Request, any)) http.Handler {
	if onPanic == nil {
		onPanic = func(_ *http.Request, p any) {
			slog.Error("panic in the gateway handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := track(w)
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				if !recoverAborts {
					panic(p)
				}
			} else {
				onPanic(r, p)
			}
			style, id := openAIErrors, ""
			if rec, ok := r.Context().Value(recordKey{}).(*record); ok {
				style, id = rec.style, rec.id
				if rec.endAfterPanic(tw) {
					return
				}
			}
			style.internalError(tw, id)
		}()
		next.ServeHTTP(tw, r)
	})
}

func (g *Gateway) logRequest(r *http.Request, status int, d time.Duration, rec *record) {
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("request_id", rec.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
	}
	if rec.route != "" {
		attrs = append(attrs, slog.String("route", rec.route))
	}
	if rec.keyID != "" {
		attrs = append(attrs, slog.String("key_id", rec.keyID))
	}
	if rec.costUSD > 0 {
		attrs = append(attrs, slog.Float64("cost_usd", rec.costUSD))
	}
	if rec.provider != "" {
		attrs = append(attrs, slog.String("provider", rec.provider), slog.String("model", rec.model),
			slog.Int("attempts", rec.attempts), slog.Int("failovers", rec.failovers))
	}
	if rec.usage.TotalTokens > 0 || rec.usage.PromptTokens > 0 {
		attrs = append(attrs, slog.Int("prompt_tokens", rec.usage.PromptTokens),
			slog.Int("completion_tokens", rec.usage.CompletionTokens))
	}
	attrs = append(attrs, slog.Bool("stream", rec.stream), slog.Bool("cached", rec.cached))
	attrs = append(attrs, rec.attrs...)
	if rec.errMsg != "" {
		attrs = append(attrs, slog.String("error", rec.errMsg))
	}
	if g.Config.Server.LogPrompts && rec.prompt != "" {
		attrs = append(attrs, slog.String("prompt", rec.prompt))
	}
	if !isOps(r.URL.Path) {
		g.Metrics.Record(metrics.Event{
			Time: time.Now(), Endpoint: rec.endpoint, Route: rec.route, Provider: rec.provider, Model: rec.metricsModel, KeyID: rec.keyID,
			Status: status, Stream: rec.stream, Latency: d, UpstreamLatency: rec.upstream, TimeToFirstByte: rec.ttfb,
			InputTokens: rec.usage.PromptTokens, OutputTokens: rec.usage.CompletionTokens, CostUSD: rec.costUSD,
			CacheHit: rec.cached, RateLimited: status == http.StatusTooManyRequests, Failovers: rec.failovers,
		})
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case rec.cut:
		level = slog.LevelWarn
	}
	g.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

// cors answers preflights; it reports true when the request was fully handled.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	origins := g.Config.Server.CORS.AllowedOrigins
	origin := r.Header.Get("Origin")
	if len(origins) == 0 || origin == "" {
		return false
	}
	allowed := ""
	for _, o := range origins {
		if o == "*" || strings.EqualFold(o, origin) {
			allowed = o
			if o != "*" {
				allowed = origin
			}
			break
		}
	}
	if allowed == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allowed)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", exposedHeaders)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", strings.Join(g.Config.Server.CORS.AllowedHeaders, ", "))
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// trackingWriter records the status, whether the response started, and the
// first failed write, and keeps Flush reachable.
type trackingWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	failed      error
}

// track wraps w unless it is already tracked.
func track(w http.ResponseWriter) *trackingWriter {
	if tw, ok := w.(*trackingWriter); ok {
		return tw
	}
	return &trackingWriter{ResponseWriter: w}
}

func (w *trackingWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.failed == nil {
		w.failed = err
	}
	return n, err
}

func (w *trackingWriter) isSSE() bool {
	return strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream")
}

func (w *trackingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// validRequestID accepts a client's request id for echoing in headers and
// logs: 1 to 128 printable ASCII characters, no spaces.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isOps reports whether path is an operator's endpoint (health checks,
// metrics and dashboard polls, the admin API): logged, but not counted as
// traffic in the metrics.
func isOps(path string) bool {
	switch path {
	case "/health", "/metrics", "/metrics/prometheus", "/dashboard":
		return true
	}
	return strings.HasPrefix(path, "/admin/")
}

// exposedHeaders are the response headers a browser client may read: the
// gateway's own and OpenAI's rate-limit headers.
const exposedHeaders = "X-Request-Id, X-Gateway-Provider, X-Gateway-Model, X-Gateway-Cache, X-Gateway-Cost-Usd, " +
	"X-Gateway-Dropped, Retry-After, X-Ratelimit-Limit-Requests, X-Ratelimit-Remaining-Requests, " +
	"X-Ratelimit-Reset-Requests, X-Ratelimit-Limit-Tokens, X-Ratelimit-Remaining-Tokens, X-Ratelimit-Reset-Tokens"

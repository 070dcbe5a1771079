package bedrock

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

// holdingConn holds the write of a request's body (any write that does not
// start a request) after sending it, until release is closed.
type holdingConn struct {
	net.Conn
	release <-chan struct{}
	held    chan<- struct{}
	once    *sync.Once
}

func (c holdingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if !bytes.HasPrefix(b, []byte("POST ")) {
		c.once.Do(func() { close(c.held) })
		select {
		case <-c.release:
		case <-time.After(5 * time.Second):
		}
	}
	return n, err
}

// TestTheRequestWriteOutlivingTheResponseKeepsTheStream: Bedrock may answer
// as soon as it has the request's body, before net/http's write loop has
// finished with it (after the ContentLength bytes it drains the body once
// more), and by then the SDK has closed the body. That last read must end
// the write cleanly: a failed write closes the connection under the event
// stream. The connection here holds the write loop right after the body was
// sent until the stream has started, which makes that order certain.
func TestTheRequestWriteOutlivingTheResponseKeepsTheStream(t *testing.T) {
	isolateAWS(t)
	rest := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("reading the request: %v", err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		writeEvent(t, w, startEvent)
		select {
		case <-rest:
		case <-r.Context().Done():
			return
		}
		for _, e := range []fakeEvent{helloEvent, stopEvent, usageEvent} {
			writeEvent(t, w, e)
		}
	}))
	defer srv.Close()
	defer close(rest)

	release, held := make(chan struct{}), make(chan struct{})
	var once sync.Once
	dial := func(t *http.Transport) {
		d := &net.Dialer{}
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return holdingConn{Conn: c, release: release, held: held, once: &once}, nil
		}
	}
	p, err := newProvider(context.Background(), provider.Config{Name: "bedrock", Kind: Kind, BaseURL: srv.URL}, provider.Deps{}, dial)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	wrote := make(chan error, 1)
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote <- i.Err },
	})
	s, err := p.ChatStream(ctx, chatRequest(t, streamRequest))
	if err != nil {
		close(release)
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("the request's body was not written on its own: this test no longer holds the write loop after it")
	}
	// The stream has started, so the SDK is done with the request: now the
	// write loop may finish.
	close(release)
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatalf("writing the request failed after the answer had started: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request was never written")
	}

	rest <- struct{}{}
	var text string
	for {
		c, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		text += string(c.Data)
	}
	if !bytes.Contains([]byte(text), []byte("Hello")) {
		t.Errorf("the stream gave %s, want Hello in it", text)
	}
}

package providertest

import (
	"io"
	"testing"

	"github.com/aigateway/gateway/internal/provider"
)

// maxChunks bounds Drain: a stream still going after that many chunks is
// taken to never end.
const maxChunks = 10000

// Drain reads s until Next fails and returns the chunks read and the error
// Next failed with: io.EOF after a clean end. It does not close s.
func Drain(t testing.TB, s provider.Stream) ([]provider.Chunk, error) {
	t.Helper()
	var chunks []provider.Chunk
	for range maxChunks {
		c, err := s.Next()
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, c)
	}
	t.Fatalf("the stream did not end after %d chunks", maxChunks)
	return nil, nil
}

// StreamErr is the outcome of a ChatStream call that returned s and err:
// err when set, else the error s ends with after Drain, nil after a clean
// end. It closes s.
func StreamErr(t testing.TB, s provider.Stream, err error) error {
	t.Helper()
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := Drain(t, s); err != io.EOF {
		return err
	}
	return nil
}

package providertest

import (
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

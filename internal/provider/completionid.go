package provider

import (
	"crypto/rand"
	"encoding/hex"
)

// NewCompletionID returns a random OpenAI-style completion id, for upstreams
// that send none.
func NewCompletionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "chatcmpl-" + hex.EncodeToString(b[:])
}

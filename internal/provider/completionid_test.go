package provider

import (
	"strings"
	"testing"
)

func TestNewCompletionID(t *testing.T) {
	a, b := NewCompletionID(), NewCompletionID()
	if !strings.HasPrefix(a, "chatcmpl-") || len(a) != len("chatcmpl-")+24 || a == b {
		t.Errorf("ids %q and %q", a, b)
	}
}

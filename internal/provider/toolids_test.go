package provider

import (
	"regexp"
	"strings"
	"testing"
)

func TestShortToolCallIDKeepsShortIDsAndShortensLongOnesStably(t *testing.T) {
	if got := ShortToolCallID("call_abc", MaxOpenAIToolCallID); got != "call_abc" {
		t.Errorf("a short id became %q", got)
	}
	long := "call_0__thought__" + strings.Repeat("x", 300)
	a, b := ShortToolCallID(long, MaxOpenAIToolCallID), ShortToolCallID(long, MaxOpenAIToolCallID)
	other := ShortToolCallID(long+"y", MaxOpenAIToolCallID)
	if a != b || a == other {
		t.Errorf("short ids %q, %q, %q: want the same id for the same input and another for another", a, b, other)
	}
	for _, max := range []int{MaxOpenAIToolCallID, MaxBedrockToolCallID} {
		got := ShortToolCallID(long, max)
		if len(got) > max || !regexp.MustCompile(`^call_[A-Za-z0-9_-]+$`).MatchString(got) {
			t.Errorf("ShortToolCallID(long, %d) = %q: want at most %d characters of [A-Za-z0-9_-]", max, got, max)
		}
	}
}

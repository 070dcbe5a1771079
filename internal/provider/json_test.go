package provider

import (
	"errors"
	"testing"

	"github.com/aigateway/gateway/internal/openai"
)

func TestMarshalDoesNotEscapeHTML(t *testing.T) {
	got, err := Marshal(map[string]string{"text": "<b>a</b> & b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"text":"<b>a</b> & b"}`; string(got) != want {
		t.Errorf("Marshal = %s, want %s (no escapes, no trailing newline)", got, want)
	}
}

func TestMarshalFailureIsAnInternalError(t *testing.T) {
	_, err := Marshal(make(chan int))
	var e *openai.Error
	if !errors.As(err, &e) || e.Code != openai.CodeInternal {
		t.Errorf("err = %v, want an internal *openai.Error", err)
	}
}

package openaicompat

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"

	"github.com/aigateway/gateway/internal/openai"
)

// ReplaceMultipartField re-encodes a multipart/form-data body with the value of
// one text field replaced (added when missing). Every other part, files
// included, is copied byte for byte with its headers.
func ReplaceMultipartField(body []byte, contentType, field, value string) ([]byte, string, error) {
	bad := func(msg string) error {
		return &openai.Error{Code: openai.CodeInvalidRequest, Message: msg}
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, "", bad("expected a multipart/form-data body")
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out bytes.Buffer
	w := multipart.NewWriter(&out)
	replaced := false
	for {
		part, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", bad("malformed multipart body")
		}
		if part.FormName() == field && part.FileName() == "" {
			if err := w.WriteField(field, value); err != nil {
				return nil, "", err
			}
			replaced = true
			continue
		}
		pw, err := w.CreatePart(part.Header)
		if err != nil {
			return nil, "", err
		}
		if _, err := io.Copy(pw, part); err != nil {
			return nil, "", bad("malformed multipart body")
		}
	}
	if !replaced {
		if err := w.WriteField(field, value); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return out.Bytes(), w.FormDataContentType(), nil
}

// MultipartField reads one text field of a multipart/form-data body.
func MultipartField(body []byte, contentType, field string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", &openai.Error{Code: openai.CodeInvalidRequest, Message: "expected a multipart/form-data body"}
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", &openai.Error{Code: openai.CodeInvalidRequest, Message: "malformed multipart body"}
		}
		if part.FormName() == field && part.FileName() == "" {
			v, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				return "", &openai.Error{Code: openai.CodeInvalidRequest, Message: "malformed multipart body"}
			}
			return string(v), nil
		}
	}
}

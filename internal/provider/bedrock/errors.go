package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/aigateway/gateway/internal/openai"
	"github.com/aigateway/gateway/internal/provider"
)

// mapError turns an SDK error into the client's error. Messages carry
// Bedrock's own error text, never the SDK's wrapped error (which may quote
// request details).
func (p *Provider) mapError(ctx context.Context, err error) *openai.Error {
	var ge *openai.Error
	if errors.As(err, &ge) {
		return ge
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return provider.TransportError(ctx, p.name, err)
	}

	status := 0
	var header http.Header
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
		if re.Response != nil {
			header = re.Response.Header
		}
	}

	var api smithy.APIError
	if !errors.As(err, &api) {
		if status >= 200 && status < 300 {
			return provider.BadUpstreamBody(p.name, errors.New("the answer is not Converse JSON"))
		}
		if status != 0 {
			// An error page the SDK could not decode, such as a proxy's HTML.
			return provider.StatusError(p.name, status, header, nil, nil)
		}
		if strings.Contains(err.Error(), "get identity") {
			p.logger.Warn("bedrock: no AWS credentials", "provider", p.name, "error", err)
			return &openai.Error{Code: openai.CodeUpstreamAuth, Provider: p.name, Retryable: true,
				Message: fmt.Sprintf("provider %s has no usable AWS credentials", p.name)}
		}
		return provider.TransportError(ctx, p.name, err)
	}

	code, msg := api.ErrorCode(), api.ErrorMessage()
	if msg == "" {
		msg = code
	}
	switch code {
	case "ValidationException":
		return &openai.Error{Code: openai.CodeInvalidRequest, Provider: p.name, Status: http.StatusBadRequest, Message: msg}
	case "ResourceNotFoundException":
		return &openai.Error{Code: openai.CodeModelNotFound, Provider: p.name, Status: http.StatusNotFound, Message: msg}
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
		"ExpiredTokenException", "IncompleteSignature", "MissingAuthenticationTokenException",
		"InvalidClientTokenId", "SignatureDoesNotMatch":
		// The message may name the account and role: log it, do not send it.
		p.logger.Warn("bedrock: credentials refused", "provider", p.name, "code", code, "message", msg)
		return &openai.Error{Code: openai.CodeUpstreamAuth, Provider: p.name, Retryable: true,
			Message: fmt.Sprintf("provider %s refused the gateway's credentials (%s)", p.name, code)}
	case "ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException":
		return &openai.Error{Code: openai.CodeRateLimited, Provider: p.name, Retryable: true,
			RetryAfter: provider.ParseRetryAfter(header),
			Message:    fmt.Sprintf("provider %s is rate limiting: %s", p.name, msg)}
	case "ModelTimeoutException":
		return &openai.Error{Code: openai.CodeUpstreamTimeout, Provider: p.name, Retryable: true,
			Message: fmt.Sprintf("provider %s timed out: %s", p.name, msg)}
	case "ModelNotReadyException", "ServiceUnavailableException", "InternalServerException",
		"ModelErrorException", "ModelStreamErrorException":
		return &openai.Error{Code: openai.CodeUpstreamError, Provider: p.name, Retryable: true,
			RetryAfter: provider.ParseRetryAfter(header),
			Message:    fmt.Sprintf("provider %s failed (%s): %s", p.name, code, msg)}
	}
	if status != 0 {
		return provider.StatusError(p.name, status, header, []byte(msg), func(b []byte) string { return string(b) })
	}
	return &openai.Error{Code: openai.CodeUpstreamError, Provider: p.name, Retryable: true,
		Message: fmt.Sprintf("provider %s failed (%s): %s", p.name, code, msg)}
}

// streamError maps a failure after the stream's first event: the client
// already has a 200, so every upstream failure is a retryable error event.
func (p *Provider) streamError(ctx context.Context, err error) *openai.Error {
	if ctx.Err() != nil {
		return provider.TransportError(ctx, p.name, ctx.Err())
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return provider.ErrorEvent(p.name, api.ErrorCode()+": "+api.ErrorMessage())
	}
	return cutError(p.name, "the event stream broke: "+err.Error())
}

func cutError(name, why string) *openai.Error {
	return &openai.Error{Code: openai.CodeUpstreamError, Provider: name, Retryable: true,
		Message: fmt.Sprintf("provider %s stream was cut: %s", name, why)}
}

package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/aigateway/gateway/internal/config"
)

// SecretEnv names the environment variable holding the provider secret's ARN
// (or name).
const SecretEnv = "PROVIDER_SECRET_ARN"

// secretTimeout bounds the one Secrets Manager call of a cold start, so a
// missing permission or endpoint fails the start with a clear message rather
// than hanging until Lambda's init timeout.
const secretTimeout = 8 * time.Second

// SecretGetter is the part of the Secrets Manager client the loader uses.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput,
		optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ReadSecret returns the entries of the secret named by PROVIDER_SECRET_ARN;
// without that variable it returns none and makes no AWS call. The client
// comes from the default AWS configuration (the function's role).
func ReadSecret(ctx context.Context, getenv func(string) string, log *slog.Logger) (map[string]string, error) {
	id := getenv(SecretEnv)
	if id == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider secret: AWS configuration: %w", err)
	}
	vals, err := LoadSecret(ctx, secretsmanager.NewFromConfig(awsCfg), id)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	log.Info("provider secret loaded", "secret", id, "names", names)
	return vals, nil
}

// SecretEntries splits a secret's entries into those that may reach the
// configuration and the names of those that may not. A secret holds
// credentials: provider variables (OPENAI_API_KEY, OPENAI_BASE_URL, ...),
// any value a config file names with ${VAR}, and the gateway's own
// credentials (GATEWAY_ADMIN_KEY, GATEWAY_JWT_SECRET). It never sets a
// gateway setting: every other variable of config.EnvVars, anything else
// named GATEWAY_*, and PROVIDER_SECRET_ARN are ignored, so a secret cannot
// turn authentication off, move the state or the metrics, or point at
// another config file.
func SecretEntries(vals map[string]string) (kept map[string]string, ignored []string) {
	kept = make(map[string]string, len(vals))
	for name, v := range vals {
		if secretMayHold(name) {
			kept[name] = v
		} else {
			ignored = append(ignored, name)
		}
	}
	slices.Sort(ignored)
	return kept, ignored
}

func secretMayHold(name string) bool {
	if e, ok := config.LookupEnvVar(name); ok {
		return e.Credential
	}
	return name != SecretEnv && !strings.HasPrefix(name, "GATEWAY_")
}

// LoadSecret reads one secret whose value is a JSON object of string values.
// Errors name the secret but never echo its value.
func LoadSecret(ctx context.Context, c SecretGetter, id string) (map[string]string, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		return nil, fmt.Errorf("provider secret %s: %w", id, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("provider secret %s: has no string value (binary secrets are not supported)", id)
	}
	return ParseSecret(id, *out.SecretString)
}

// ParseSecret decodes a secret's value: a JSON object whose values are
// strings, e.g. {"OPENAI_API_KEY":"sk-..."}. An empty value is an empty
// object.
func ParseSecret(id, s string) (map[string]string, error) {
	vals := map[string]string{}
	if s == "" {
		return vals, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil || raw == nil {
		// The JSON error may quote the value: report only where it broke.
		var se *json.SyntaxError
		at := ""
		if errors.As(err, &se) {
			at = fmt.Sprintf(" (syntax error at byte %d)", se.Offset)
		}
		return nil, fmt.Errorf(`provider secret %s: the value must be a JSON object such as {"OPENAI_API_KEY":"..."}%s`, id, at)
	}
	for k, v := range raw {
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return nil, fmt.Errorf("provider secret %s: the value of %q must be a JSON string", id, k)
		}
		vals[k] = str
	}
	return vals, nil
}

// Overlay returns a getenv that answers from vals first, then from getenv.
func Overlay(getenv func(string) string, vals map[string]string) func(string) string {
	return func(name string) string {
		if v, ok := vals[name]; ok {
			return v
		}
		return getenv(name)
	}
}

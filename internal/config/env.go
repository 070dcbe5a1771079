package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aigateway/gateway/internal/provider"
)

// Variables a deployment sets besides the settings of EnvVars.
const (
	// FileEnv names the TOML file to load (the local server's --config
	// default; on Lambda relative to LAMBDA_TASK_ROOT).
	FileEnv = "GATEWAY_CONFIG"
	// LockedEnv lists variables of EnvVars, comma-separated, whose settings
	// come from the environment alone: the file cannot set them, and one that
	// is unset keeps its default. The CDK stack locks what it owns (auth,
	// store, table, metrics namespace).
	LockedEnv = "GATEWAY_LOCKED"
	// OpenAccessEnv = true lets a Lambda function start with authentication
	// off; the stack sets it only when deployed with -c openAccess=true.
	OpenAccessEnv = "GATEWAY_OPEN_ACCESS"
)

// EnvVar is one environment variable that sets one gateway setting. The same
// table builds an environment-only configuration and overlays a file.
type EnvVar struct {
	// Name is the variable, e.g. GATEWAY_AUTH.
	Name string
	// Key is the setting, as its TOML key, e.g. auth.enabled.
	Key string
	// Credential marks a secret value (an admin key, a signing secret): the
	// only gateway settings a deployment's provider secret may hold.
	Credential bool

	set   func(c *Config, v string) error
	reset func(c *Config)
	same  func(a, b *Config) bool
}

// envVars is the table, in the order the README documents it.
var envVars = []EnvVar{
	setting("PORT", "server.port", func(c *Config) *int { return &c.Server.Port }, parseInt),
	setting("GATEWAY_MAX_BODY_BYTES", "server.max_body_bytes", func(c *Config) *int64 { return &c.Server.MaxBodyBytes }, parseInt64),
	setting("GATEWAY_AUTH", "auth.enabled", func(c *Config) *bool { return &c.Auth.Enabled }, parseBool),
	credential("GATEWAY_ADMIN_KEY", "auth.admin_key", func(c *Config) *provider.Secret { return &c.Auth.AdminKey }),
	credential("GATEWAY_JWT_SECRET", "auth.jwt_hs256_secret", func(c *Config) *provider.Secret { return &c.Auth.JWTHS256Secret }),
	setting("GATEWAY_STORE", "store.kind", func(c *Config) *string { return &c.Store.Kind }, parseString),
	setting("TABLE_NAME", "store.table", func(c *Config) *string { return &c.Store.Table }, parseString),
	setting("DYNAMODB_ENDPOINT", "store.endpoint", func(c *Config) *string { return &c.Store.Endpoint }, parseString),
	setting("GATEWAY_CREATE_TABLE", "store.create_table", func(c *Config) *bool { return &c.Store.CreateTable }, parseBool),
	setting("GATEWAY_CACHE", "cache.enabled", func(c *Config) *bool { return &c.Cache.Enabled }, parseBool),
	setting("GATEWAY_CACHE_TTL", "cache.ttl", func(c *Config) *time.Duration { return &c.Cache.TTL }, parseDuration),
	setting("GATEWAY_CACHE_SCOPE", "cache.scope", func(c *Config) *string { return &c.Cache.Scope }, parseString),
	setting("GATEWAY_CACHE_STORE", "cache.store", func(c *Config) *string { return &c.Cache.Store }, parseString),
	setting("GATEWAY_LIMITS_FAIL_CLOSED", "limits.fail_closed", func(c *Config) *bool { return &c.Limits.FailClosed }, parseBool),
	setting("GATEWAY_METRICS_NAMESPACE", "metrics.namespace", func(c *Config) *string { return &c.Metrics.Namespace }, parseString),
}

// EnvVars returns the table of setting variables.
func EnvVars() []EnvVar { return slices.Clone(envVars) }

// LookupEnvVar finds a setting variable by name.
func LookupEnvVar(name string) (EnvVar, bool) {
	i := slices.IndexFunc(envVars, func(e EnvVar) bool { return e.Name == name })
	if i < 0 {
		return EnvVar{}, false
	}
	return envVars[i], true
}

func setting[T comparable](name, key string, field func(*Config) *T, parse func(string) (T, error)) EnvVar {
	return EnvVar{
		Name: name, Key: key,
		set: func(c *Config, v string) error {
			x, err := parse(v)
			if err != nil {
				return fmt.Errorf("config: %s (%s): %q %w", name, key, v, err)
			}
			*field(c) = x
			return nil
		},
		reset: func(c *Config) { *field(c) = *field(newConfig()) },
		same:  func(a, b *Config) bool { return *field(a) == *field(b) },
	}
}

// credential is a setting whose value is a secret (it parses every value,
// so no error can echo it).
func credential(name, key string, field func(*Config) *provider.Secret) EnvVar {
	e := setting(name, key, field, func(v string) (provider.Secret, error) { return provider.Secret(v), nil })
	e.Credential = true
	return e
}

func parseString(v string) (string, error) { return v, nil }

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("is not true or false")
	}
	return b, nil
}

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New("is not a whole number")
	}
	return n, nil
}

func parseInt64(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errors.New("is not a whole number")
	}
	return n, nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("is not a duration such as 90s, 10m or 1h")
	}
	return d, nil
}

// overlay applies the environment layer over c: every variable of the table
// that is set (not empty) replaces its setting, and a locked one (LockedEnv)
// replaces it even when unset, with the default. inFile reports whether the
// file set a key (nil without a file); a file value the environment changes
// is noted in the warnings. It returns the variables applied.
func (c *Config) overlay(getenv func(string) string, inFile func(key ...string) bool) ([]string, error) {
	var errs []error
	locked := map[string]bool{}
	for _, name := range splitList(getenv(LockedEnv)) {
		if _, ok := LookupEnvVar(name); !ok {
			errs = append(errs, fmt.Errorf("config: %s: %s is not a setting variable (one of %s)", LockedEnv, name, strings.Join(envVarNames(), ", ")))
		}
		locked[name] = true
	}
	var applied []string
	for _, e := range envVars {
		v := getenv(e.Name)
		if v == "" && !locked[e.Name] {
			continue
		}
		before := *c
		fromFile := inFile != nil && inFile(strings.Split(e.Key, ".")...)
		if v == "" {
			e.reset(c)
		} else if err := e.set(c, v); err != nil {
			errs = append(errs, err)
			continue
		}
		if c.origin == nil {
			c.origin = map[string]string{}
		}
		c.origin[e.Key] = e.Name
		c.defined[e.Key] = v != "" // a locked variable left unset sets nothing: the default applies
		applied = append(applied, e.Name)
		switch {
		case !fromFile || e.same(c, &before):
		case v == "":
			c.Warnings = append(c.Warnings, fmt.Sprintf("config: %s from the file is ignored: %s locks it to the environment, which leaves it unset (the default applies)", e.Key, LockedEnv))
		default:
			c.Warnings = append(c.Warnings, fmt.Sprintf("config: %s from the file is overridden by %s", e.Key, e.Name))
		}
	}
	return applied, errors.Join(errs...)
}

func envVarNames() []string {
	names := make([]string, len(envVars))
	for i, e := range envVars {
		names[i] = e.Name
	}
	return names
}

// envProviders sets c's providers from the environment: one provider per
// kind the environment turns on, in provider.Kinds order (usually by its API
// key; Ollama by OLLAMA_BASE_URL, Bedrock by BEDROCK_ENABLED=true or
// BEDROCK_MODELS), each with a <PROVIDER>_BASE_URL override and a
// <PROVIDER>_MODELS list. With no provider at all the mock provider serves
// model mock-echo.
func (c *Config) envProviders(getenv func(string) string) {
	for _, k := range provider.Kinds() {
		if p, ok := envProvider(k, getenv); ok {
			c.Providers = append(c.Providers, p)
		}
	}
	if len(c.Providers) == 0 {
		c.Providers = []Provider{{Name: "mock", Kind: "mock", Models: []string{"mock-echo"}}}
		c.Warnings = append(c.Warnings, "no provider credentials found in the environment: serving the MOCK provider as model mock-echo (set OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY, ... or GATEWAY_CONFIG)")
	}
}

// envProvider is kind k's provider when the environment turns it on.
func envProvider(k provider.Kind, getenv func(string) string) (Provider, bool) {
	key := ""
	if k.KeyEnv != "" {
		key = getenv(k.KeyEnv)
	}
	if key == "" && k.AltKeyEnv != "" {
		key = getenv(k.AltKeyEnv)
	}
	var on bool
	switch k.Env {
	case provider.EnvKey:
		on = key != ""
	case provider.EnvKeyAndBaseURL:
		on = key != "" && getenv(k.BaseURLEnv) != ""
	case provider.EnvBaseURL:
		on = getenv(k.BaseURLEnv) != ""
	case provider.EnvEnabled:
		on = getenv(k.EnabledEnv) == "true" || getenv(k.ModelsEnv) != ""
	}
	if !on {
		return Provider{}, false
	}
	p := Provider{Name: k.Name, Kind: k.Name, APIKey: provider.Secret(key), BaseURL: getenv(k.BaseURLEnv),
		Models: append([]string{k.DefaultModel}, k.ModelFamilies...)}
	if ms := splitList(getenv(k.ModelsEnv)); len(ms) > 0 {
		p.Models = ms
	}
	if k.APIVersionEnv != "" {
		p.APIVersion = getenv(k.APIVersionEnv)
	}
	if k.RegionEnv != "" {
		p.Region = getenv(k.RegionEnv)
	}
	return p, true
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Package config loads the gateway's configuration in layers, each over the
// one before and each checked:
//
//  1. the defaults (defaults.go);
//  2. an optional TOML file: unknown keys are refused by name, and "${VAR}"
//     references expand from getenv (on Lambda that includes the provider
//     secret);
//  3. the environment: each variable of EnvVars that is set replaces its
//     setting (env.go), and without a file the provider variables build the
//     providers.
//
// The result is validated as a whole; every error names its key (and the
// variable, when the value came from one).
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/aigateway/gateway/internal/provider"
)

// Load reads the configuration: the defaults, the TOML file at path when path
// is set, then the environment over both. getenv is usually os.Getenv.
func Load(path string, getenv func(string) string) (*Config, error) {
	c := newConfig()
	var inFile func(key ...string) bool
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		md, err := c.decode(string(data), getenv)
		if err != nil {
			return nil, err
		}
		c.Source = "file " + path
		inFile = md.IsDefined
	} else {
		c.envProviders(getenv)
		c.Source = "environment"
	}
	applied, err := c.overlay(getenv, inFile)
	if err != nil {
		return nil, err
	}
	if path != "" && len(applied) > 0 {
		c.Source += " + environment (" + strings.Join(applied, ", ") + ")"
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// FromEnv is Load without a file, for tests and tools that hold a known-good
// environment: it panics on an environment Load refuses.
func FromEnv(getenv func(string) string) *Config {
	c, err := Load("", getenv)
	if err != nil {
		panic(err)
	}
	return c
}

// Parse decodes and validates TOML text over the defaults by itself, without
// the environment layer ("${VAR}" references still expand from getenv): the
// same defaults as Load (the response cache on among them). The CDK app uses
// it to check a file before anything deploys, the Go library (standalone) to
// build a gateway from text, and tests to state a configuration exactly
// (testutil.CacheOffUnlessSet turns the cache off for fixtures that count
// upstream calls).
func Parse(text string, getenv func(string) string) (*Config, error) {
	c := newConfig()
	if _, err := c.decode(text, getenv); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode reads TOML text over c and expands its "${VAR}" references.
func (c *Config) decode(text string, getenv func(string) string) (toml.MetaData, error) {
	md, err := toml.Decode(text, c)
	if err != nil {
		return md, fmt.Errorf("config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return md, fmt.Errorf("config: unknown key(s): %s", strings.Join(keys, ", "))
	}
	// The metadata names no index of an array (IsDefined cannot say which
	// provider set its timeout): the keys are read again from the text.
	var tree map[string]any
	if _, err := toml.Decode(text, &tree); err != nil {
		return md, fmt.Errorf("config: %w", err)
	}
	define(c.defined, "", tree)
	return md, c.expand(getenv)
}

// define adds to keys the key of v, a value of the decoded TOML tree, and of
// everything in it, as Validate names them: "defaults.timeout",
// "routes[0].targets[1].timeout".
func define(keys map[string]bool, key string, v any) {
	if key != "" {
		keys[key] = true
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if key != "" {
				k = key + "." + k
			}
			define(keys, k, x)
		}
	case []map[string]any: // an array of tables
		for i, x := range v {
			define(keys, fmt.Sprintf("%s[%d]", key, i), x)
		}
	case []any:
		for i, x := range v {
			define(keys, fmt.Sprintf("%s[%d]", key, i), x)
		}
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandString replaces ${VAR} and ${VAR:-default}; an unset VAR without a
// default is an error naming the key.
func expandString(key, s string, getenv func(string) string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		if v := getenv(sub[1]); v != "" {
			return v
		}
		if sub[2] != "" {
			return sub[3]
		}
		missing = append(missing, sub[1])
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("config: %s: environment variable %s is not set", key, strings.Join(missing, ", "))
	}
	return out, nil
}

func (c *Config) expand(getenv func(string) string) error {
	var errs []error
	ex := func(key string, s *string) {
		v, err := expandString(key, *s, getenv)
		if err != nil {
			errs = append(errs, err)
		}
		*s = v
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		k := fmt.Sprintf("providers[%d]", i)
		key := string(p.APIKey)
		ex(k+".api_key", &key)
		p.APIKey = provider.Secret(key)
		ex(k+".base_url", &p.BaseURL)
		ex(k+".project", &p.Project)
		ex(k+".location", &p.Location)
		ex(k+".credentials_file", &p.CredentialsFile)
		ex(k+".region", &p.Region)
		for h, v := range p.Headers {
			s := string(v)
			ex(fmt.Sprintf("%s.headers.%s", k, h), &s)
			p.Headers[h] = provider.Secret(s)
		}
	}
	admin, jwtSecret := string(c.Auth.AdminKey), string(c.Auth.JWTHS256Secret)
	ex("auth.admin_key", &admin)
	ex("auth.jwt_hs256_secret", &jwtSecret)
	c.Auth.AdminKey, c.Auth.JWTHS256Secret = provider.Secret(admin), provider.Secret(jwtSecret)
	ex("auth.jwt_rs256_public_key", &c.Auth.JWTRS256PublicKey)
	ex("store.table", &c.Store.Table)
	ex("store.endpoint", &c.Store.Endpoint)
	return errors.Join(errs...)
}

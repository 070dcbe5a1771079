// Package config loads the gateway's configuration: a TOML file (with ${ENV}
// expansion for secrets) or, without one, providers built from the environment.
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/aigateway/gateway/internal/provider"
)

// Load reads the configuration: the TOML file at path when path is set,
// otherwise the environment. getenv is usually os.Getenv.
func Load(path string, getenv func(string) string) (*Config, error) {
	var c *Config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		c, err = Parse(string(data), getenv)
		if err != nil {
			return nil, err
		}
		c.Source = "file " + path
	} else {
		c = FromEnv(getenv)
	}
	if p := getenv("PORT"); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("config: PORT %q is not a number", p)
		}
		c.Server.Port = port
	}
	return c, nil
}

// Parse decodes and validates TOML text.
func Parse(text string, getenv func(string) string) (*Config, error) {
	var c Config
	md, err := toml.Decode(text, &c)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config: unknown key(s): %s", strings.Join(keys, ", "))
	}
	if err := c.expand(getenv); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
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

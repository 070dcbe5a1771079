package runtimeapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// EventEnv reads the environment a sample event runs with: the file beside
// it with .env for .json (events/api/missing-key.env for
// events/api/missing-key.json), one NAME=value per line, # comments and
// blank lines skipped. No such file is no extra environment. `make invoke`
// and the event tests apply it, so an event means what its name says.
func EventEnv(eventPath string) ([]string, error) {
	data, err := os.ReadFile(strings.TrimSuffix(eventPath, ".json") + ".env")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, _, ok := strings.Cut(line, "="); !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%s.env:%d: want NAME=value, got %q", strings.TrimSuffix(eventPath, ".json"), n, line)
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

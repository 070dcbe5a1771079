package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// validateEMF checks one log line against the CloudWatch Embedded Metric Format
// specification (Amazon CloudWatch User Guide, "Specification: Embedded metric
// format"), with today's limits:
//   - the line is one JSON object and nothing else, at most 1 MB;
//   - the root has an "_aws" object with an integer Timestamp in milliseconds
//     since the epoch and a non-empty CloudWatchMetrics array of directives;
//   - a directive has exactly Namespace (string, 1–255), Dimensions (an array of
//     dimension sets, each an array of at most 30 strings, that may be empty)
//     and Metrics (at most 100 metric definitions);
//   - every dimension key names a top-level member whose value is a string that
//     CloudWatch accepts (non-blank printable ASCII, at most 1024 bytes);
//   - a metric definition has Name (string, 1–255), an optional Unit from
//     CloudWatch's unit list and an optional StorageResolution of 1 or 60, and
//     nothing else; its Name names a top-level number or array of at most 100
//     numbers.
//
// Objects defined by the specification "MUST NOT contain any additional
// members", so unknown members inside "_aws", directives and definitions are
// errors here.
func validateEMF(line []byte) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(line) > 1<<20 {
		bad("line is %d bytes, more than the 1 MB event limit", len(line))
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	if root == nil {
		return errors.New("not a JSON object: null")
	}
	if _, err := dec.Token(); err != io.EOF {
		bad("data after the JSON object")
	}

	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		bad("_aws member missing or not an object")
		return errors.Join(errs...)
	}
	for k := range aws {
		if k != "Timestamp" && k != "CloudWatchMetrics" {
			bad("_aws has an unknown member %q", k)
		}
	}
	switch ts, ok := aws["Timestamp"].(json.Number); {
	case !ok:
		bad("_aws.Timestamp missing or not a number")
	default:
		ms, err := ts.Int64()
		switch {
		case err != nil:
			bad("_aws.Timestamp %s is not an integer", ts)
		case ms < 946684800000 || ms > 4102444800000: // 2000-01-01 .. 2100-01-01
			bad("_aws.Timestamp %d is not milliseconds since the epoch", ms)
		}
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		bad("_aws.CloudWatchMetrics missing, not an array, or empty")
	}
	for i, d := range directives {
		errs = append(errs, validateDirective(fmt.Sprintf("CloudWatchMetrics[%d]", i), d, root)...)
	}
	return errors.Join(errs...)
}

func validateDirective(at string, v any, root map[string]any) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(at+": "+format, args...)) }
	d, ok := v.(map[string]any)
	if !ok {
		bad("not an object")
		return errs
	}
	for k := range d {
		if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
			bad("unknown member %q", k)
		}
	}
	if ns, ok := d["Namespace"].(string); !ok || !cloudWatchName(ns, 255) {
		bad("Namespace %v is not a string of 1 to 255 printable ASCII characters", d["Namespace"])
	}

	dimKeys := map[string]bool{}
	sets, ok := d["Dimensions"].([]any)
	if !ok || len(sets) == 0 {
		bad("Dimensions missing, not an array, or empty")
	}
	for i, s := range sets {
		set, ok := s.([]any)
		if !ok {
			bad("Dimensions[%d] is not an array of strings", i)
			continue
		}
		if len(set) > 30 {
			bad("Dimensions[%d] has %d keys, more than 30", i, len(set))
		}
		seen := map[string]bool{}
		for _, k := range set {
			key, ok := k.(string)
			if !ok || !cloudWatchName(key, 255) {
				bad("Dimensions[%d] has a key %v that is not a string of 1 to 255 characters", i, k)
				continue
			}
			if seen[key] {
				bad("Dimensions[%d] repeats %q", i, key)
			}
			seen[key] = true
			dimKeys[key] = true
			val, present := root[key]
			s, isString := val.(string)
			switch {
			case !present:
				bad("dimension %q has no top-level member", key)
			case !isString:
				bad("dimension %q is %s, not a string", key, jsonType(val))
			case !cloudWatchName(s, 1024):
				bad("dimension %q value %q is not 1 to 1024 printable ASCII characters with a non-space", key, s)
			}
		}
	}

	defs, ok := d["Metrics"].([]any)
	switch {
	case !ok || len(defs) == 0:
		bad("Metrics missing, not an array, or empty")
	case len(defs) > 100:
		bad("Metrics has %d definitions, more than 100", len(defs))
	}
	names := map[string]bool{}
	for i, m := range defs {
		def, ok := m.(map[string]any)
		if !ok {
			bad("Metrics[%d] is not an object", i)
			continue
		}
		for k := range def {
			if k != "Name" && k != "Unit" && k != "StorageResolution" {
				bad("Metrics[%d] has an unknown member %q", i, k)
			}
		}
		name, ok := def["Name"].(string)
		if !ok || !cloudWatchName(name, 255) {
			bad("Metrics[%d].Name %v is not a string of 1 to 255 characters", i, def["Name"])
			continue
		}
		if names[name] {
			bad("metric %q is defined twice", name)
		}
		names[name] = true
		if dimKeys[name] {
			bad("metric %q is also a dimension", name)
		}
		if u, present := def["Unit"]; present {
			if s, ok := u.(string); !ok || !cloudWatchUnits[s] {
				bad("metric %q has unit %v, not one of CloudWatch's units", name, u)
			}
		}
		if r, present := def["StorageResolution"]; present {
			if n, ok := r.(json.Number); !ok || (n.String() != "1" && n.String() != "60") {
				bad("metric %q has StorageResolution %v, not 1 or 60", name, r)
			}
		}
		switch val := root[name].(type) {
		case json.Number:
		case []any:
			if len(val) == 0 || len(val) > 100 {
				bad("metric %q has %d values, not 1 to 100", name, len(val))
			}
			for _, x := range val {
				if _, ok := x.(json.Number); !ok {
					bad("metric %q has a value %v that is not a number", name, x)
				}
			}
		case nil:
			bad("metric %q has no top-level member", name)
		default:
			bad("metric %q is %s, not a number or an array of numbers", name, jsonType(val))
		}
	}
	return errs
}

func jsonType(v any) string {
	switch v.(type) {
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// cloudWatchName reports whether s is 1..maxLen printable ASCII characters
// with at least one that is not a space (CloudWatch's rule for dimension
// names and values, and namespaces).
func cloudWatchName(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	blank := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
		blank = blank && s[i] == ' '
	}
	return !blank
}

// cloudWatchUnits is the StandardUnit list of CloudWatch's MetricDatum.
var cloudWatchUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true,
	"Bytes": true, "Kilobytes": true, "Megabytes": true, "Gigabytes": true, "Terabytes": true,
	"Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true, "Terabits": true,
	"Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

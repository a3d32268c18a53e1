package main

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The configuration is decoded by walking the YAML node tree beside the
// Config struct rather than by yaml.Unmarshal, so that every problem (an
// unknown key, a value of the wrong type) is reported with its full key
// path, all of them at once, and so that the environment overrides are
// derived from the same yaml tags by the same value parser.

var durationType = reflect.TypeOf(Duration{})

// decodeYAML fills cfg from data, leaving defaults where a key is absent,
// and returns one problem per bad key.
func decodeYAML(data []byte, cfg *Config) []string {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var p []string
	if len(root.Content) > 0 { // an empty file keeps every default
		decodeNode(root.Content[0], reflect.ValueOf(cfg).Elem(), "", &p)
	}
	return p
}

func decodeNode(n *yaml.Node, v reflect.Value, path string, p *[]string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with nothing after it keeps the default
	}
	where := fmt.Sprintf(" (line %d)", n.Line)
	name := path
	if name == "" {
		name = "the file"
	}
	switch {
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		if n.Kind != yaml.MappingNode {
			*p = append(*p, name+": want a mapping of keys"+where)
			return
		}
		fields := yamlFields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			idx, ok := fields[key]
			if !ok {
				*p = append(*p, fmt.Sprintf("%s: unknown key (line %d)", join(path, key), n.Content[i].Line))
				continue
			}
			decodeNode(n.Content[i+1], v.Field(idx), join(path, key), p)
		}
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			*p = append(*p, name+": want a list"+where)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			decodeNode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), p)
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			*p = append(*p, name+": want a single value"+where)
			return
		}
		if msg := setText(v, n.Value); msg != "" {
			*p = append(*p, name+": "+msg+where)
		}
	}
}

// setText parses text into the leaf v, returning what is wrong or "".
func setText(v reflect.Value, text string) string {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return fmt.Sprintf("%q is not a duration (such as 90s, 15m, 12h)", text)
		}
		v.Set(reflect.ValueOf(Duration{d}))
	case v.Kind() == reflect.String:
		v.SetString(text)
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return fmt.Sprintf("%q is not a whole number", text)
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return fmt.Sprintf("%q is not true or false", text)
		}
		v.SetBool(b)
	default:
		return "cannot be set from text"
	}
	return ""
}

// applyEnv overrides cfg from GATEHOUSE_* variables. It returns the
// problems, the variables it applied, and the GATEHOUSE_* variables that
// match no key (a typo the caller should warn about).
func applyEnv(cfg *Config, environ []string) (problems, applied, unknown []string) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "GATEHOUSE_") {
			env[k] = v
		}
	}
	known := map[string]bool{}
	walkLeaves(reflect.ValueOf(cfg).Elem(), "", func(v reflect.Value, path string) {
		name := EnvName(path)
		known[name] = true
		text, ok := env[name]
		if !ok {
			return
		}
		applied = append(applied, name)
		if msg := setText(v, text); msg != "" {
			problems = append(problems, fmt.Sprintf("%s (from %s): %s", path, name, msg))
		}
	})
	for k := range env {
		// GATEHOUSE_TEST_* configure the test suite, not the server.
		if !known[k] && !strings.HasPrefix(k, "GATEHOUSE_TEST_") {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	return problems, applied, unknown
}

// EnvName is the variable that overrides the key at path.
func EnvName(path string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// walkLeaves calls fn for every scalar key of a config struct; lists
// (roles) are set in the file only.
func walkLeaves(v reflect.Value, path string, fn func(reflect.Value, string)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Struct && f.Type != durationType:
			walkLeaves(fv, join(path, tag), fn)
		case fv.Kind() == reflect.Slice:
		default:
			fn(fv, join(path, tag))
		}
	}
}

// ConfigKeys lists every key path that takes a single value, in order.
func ConfigKeys() []string {
	var out []string
	cfg := DefaultConfig()
	walkLeaves(reflect.ValueOf(&cfg).Elem(), "", func(_ reflect.Value, path string) { out = append(out, path) })
	return out
}

func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && tag != "" && tag != "-" {
			m[tag] = i
		}
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortProblems(p []string) { sort.Strings(p) }

package cmd

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// thresholdField is one key of thresholds.<rule-id>: a field of the rule's config struct in
// analyze, named by its yaml tag.
type thresholdField struct {
	key string
	v   reflect.Value // settable
}

var durationType = reflect.TypeFor[time.Duration]()

// thresholdFields lists the keys of a rule's config struct (a pointer from Config.Thresholds)
// in declaration order; `yaml:",inline"` structs contribute their fields, `yaml:"-"` none.
func thresholdFields(ptr any) []thresholdField {
	var fs []thresholdField
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			name, opts, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			switch {
			case name == "-":
			case name == "" && opts == "inline":
				walk(v.Field(i))
			case name != "":
				fs = append(fs, thresholdField{key: name, v: v.Field(i)})
			}
		}
	}
	walk(reflect.ValueOf(ptr).Elem())
	return fs
}

// applyThresholds decodes node, the value of thresholds.<rule>, onto the rule's config struct in
// c. The keys are the struct's yaml tags; a key that is left out, null or 0 keeps the value c
// already holds (the default, or rotation.grace), a negative one is an error, and durations take
// days ("7d") as the flags do.
//
// The keys are walked here rather than with the decoder's DisallowUnknownField so that every
// error names the key, and an unknown one lists the keys the rule has.
func applyThresholds(c *analyze.Config, rule string, node ast.Node) error {
	dst := c.Thresholds(rule)
	if dst == nil {
		if slices.ContainsFunc(analyze.Rules(), func(r analyze.Rule) bool { return r.ID == rule }) {
			return fmt.Errorf("rule %s has no thresholds", rule)
		}
		return fmt.Errorf("unknown rule id %q (vaultsentry rules lists them)", rule)
	}
	fields := thresholdFields(dst)
	if node == nil || node.Type() == ast.NullType {
		return nil
	}
	m, ok := node.(ast.MapNode)
	if !ok {
		return fmt.Errorf("%s want a mapping of %s, got %s", yamlPos(node), keyList(fields), node.Type())
	}
	for it := m.MapRange(); it.Next(); {
		key := it.Key().GetToken().Value
		i := slices.IndexFunc(fields, func(f thresholdField) bool { return f.key == key })
		if i < 0 {
			return fmt.Errorf("%s unknown field %q (%s takes %s)", yamlPos(it.Key()), key, rule, keyList(fields))
		}
		if err := setThreshold(fields[i].v, it.Value()); err != nil {
			return fmt.Errorf("%s: %s %w", key, yamlPos(it.Value()), err)
		}
	}
	return nil
}

// setThreshold decodes node into dst unless it is null or 0 (keep dst), refusing negative values.
// Whole numbers must be written as such: 2.5 for a count is an error, not 2.
func setThreshold(dst reflect.Value, node ast.Node) error {
	if node.Type() == ast.NullType {
		return nil
	}
	want := map[reflect.Kind]string{reflect.Int: "a whole number", reflect.Float64: "a number"}[dst.Kind()]
	if dst.Type() == durationType {
		want = "a duration (like 90s, 30m, 24h, 7d)"
	}
	if want == "" {
		// a field type this function does not know yet: a programming error the tests catch
		return fmt.Errorf("cannot set a threshold of type %s", dst.Type())
	}
	sc, ok := node.(ast.ScalarNode)
	if !ok {
		return fmt.Errorf("want %s, got a %s", want, node.Type())
	}
	text := fmt.Sprint(sc.GetValue())
	v := reflect.New(dst.Type()).Elem()
	switch {
	case dst.Type() == durationType:
		d, err := parseDuration(text)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case dst.Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("want %s, got %q", want, text)
		}
		v.SetInt(int64(n))
	default:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("want %s, got %q", want, text)
		}
		v.SetFloat(f)
	}
	switch {
	case v.IsZero():
		return nil
	case v.Kind() == reflect.Float64 && v.Float() < 0, v.Kind() != reflect.Float64 && v.Int() < 0:
		return fmt.Errorf("%s must be positive (leave it out or set 0 to keep the default, %s)", thresholdValue(v), thresholdValue(dst))
	}
	dst.Set(v)
	return nil
}

// thresholdValue prints a threshold as the configuration file writes it: 5m, 24h, 30.
func thresholdValue(v reflect.Value) string {
	if v.Type() == durationType {
		return formatDuration(time.Duration(v.Int()))
	}
	return fmt.Sprint(v.Interface())
}

// formatDuration is time.Duration.String without the zero units ("5m", not "5m0s"), and whole
// days of two or more as "7d", which parseDuration reads back.
func formatDuration(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func keyList(fs []thresholdField) string {
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

// yamlPos is the [line:column] prefix the YAML decoder puts on its own errors.
func yamlPos(n ast.Node) string {
	if t := n.GetToken(); t != nil && t.Position != nil {
		return fmt.Sprintf("[%d:%d]", t.Position.Line, t.Position.Column)
	}
	return ""
}

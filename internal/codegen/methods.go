package codegen

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// methods emits Validate, ToWire and FromWire for struct type n. With
// pointers, the fields are pointers and only set ones are handled.
func (g *gen) methods(n string, fs []field, pointers bool) {
	recv := strings.ToLower(n[:1])
	if strings.Contains("ekmv", recv) { // avoid the method's local names
		recv = "x"
	}
	deref := func(f field) string {
		if pointers {
			return "*" + recv + "." + f.name
		}
		return recv + "." + f.name
	}

	g.p("// Validate checks the values against the thing model's limits.")
	g.p("func (%s *%s) Validate() error {", recv, n)
	for _, f := range fs {
		code := validateCode(deref(f), strconv.Quote(f.id), f.define, f.typ, 0)
		if code == "" {
			continue
		}
		if pointers {
			g.p("if %s.%s != nil {", recv, f.name)
			g.p("%s", code)
			g.p("}")
		} else {
			g.p("%s", code)
		}
	}
	g.p("return nil")
	g.p("}")

	g.p("// ToWire converts the values to the wire form the sdk sends.")
	g.p("func (%s *%s) ToWire() map[string]any {", recv, n)
	g.p("m := make(map[string]any, %d)", len(fs))
	for _, f := range fs {
		if pointers {
			g.p("if %s.%s != nil {", recv, f.name)
			g.p("m[%q] = %s", f.id, toWireExpr(deref(f), f.define, f.typ))
			g.p("}")
		} else {
			g.p("m[%q] = %s", f.id, toWireExpr(deref(f), f.define, f.typ))
		}
	}
	g.p("return m")
	g.p("}")

	g.p("// FromWire sets the values present in m (a wire map as the sdk")
	g.p("// delivers it) and validates the result. Unknown keys are an error.")
	g.p("func (%s *%s) FromWire(m map[string]any) error {", recv, n)
	if len(fs) > 0 {
		sorted := append([]field(nil), fs...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].id < sorted[j].id })
		g.p("keys := make([]string, 0, len(m))")
		g.p("for k := range m { keys = append(keys, k) }")
		g.p("sortStrings(keys)")
		g.p("for _, k := range keys {")
		g.p("switch k {")
		for _, f := range sorted {
			g.p("case %q:", f.id)
			g.p("v, err := %s", fromWireExpr("m[k]", f.define, f.typ))
			g.p("if err != nil { return fmt.Errorf(\"%%s: %%w\", k, err) }")
			if pointers {
				g.p("%s.%s = &v", recv, f.name)
			} else {
				g.p("%s.%s = v", recv, f.name)
			}
		}
		g.p("default:")
		g.p("return fmt.Errorf(\"%%s: %%w\", k, errNotInModel)")
		g.p("}")
		g.p("}")
	} else {
		g.p("for k := range m { return fmt.Errorf(\"%%s: %%w\", k, errNotInModel) }")
	}
	g.p("return %s.Validate()", recv)
	g.p("}")
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// validateCode returns statements that return an error when expr is out of
// the define's limits; path is a Go string expression naming the value.
func validateCode(expr, path string, d thingmodel.Define, typ string, depth int) string {
	switch d.Type {
	case thingmodel.TypeInt:
		lo, hi := limits(d)
		return fmt.Sprintf("if err := checkInt(%s, %s, %s, %s); err != nil { return err }", path, expr, num(lo), num(hi))
	case thingmodel.TypeFloat:
		lo, hi := limits(d)
		return fmt.Sprintf("if err := checkFloat(%s, %s, %s, %s); err != nil { return err }", path, expr, num(lo), num(hi))
	case thingmodel.TypeString:
		lo, hi := limits(d)
		return fmt.Sprintf("if err := checkString(%s, %s, %s, %s); err != nil { return err }", path, expr, num(lo), num(hi))
	case thingmodel.TypeTimestamp:
		return fmt.Sprintf("if err := checkInt(%s, %s, 0, math.MaxInt64); err != nil { return err }", path, expr)
	case thingmodel.TypeEnum, thingmodel.TypeStringEnum:
		keys := make([]string, 0, len(d.Mapping))
		for k := range d.Mapping {
			keys = append(keys, k)
		}
		numeric := d.Type == thingmodel.TypeEnum
		sortKeys(keys, numeric)
		if !numeric {
			for i, k := range keys {
				keys[i] = strconv.Quote(k)
			}
		}
		return fmt.Sprintf("switch %s {\ncase %s:\ndefault:\nreturn fmt.Errorf(\"%%s: %%v: %%w\", %s, %s, errNotEnumValue)\n}",
			expr, strings.Join(keys, ", "), path, expr)
	case thingmodel.TypeStruct:
		return fmt.Sprintf("if err := (%s).Validate(); err != nil { return fmt.Errorf(\"%%s.%%w\", %s, err) }", expr, path)
	case thingmodel.TypeArray:
		i, e := fmt.Sprintf("i%d", depth), fmt.Sprintf("e%d", depth)
		inner := validateCode(e, fmt.Sprintf("fmt.Sprintf(\"%%s[%%d]\", %s, %s)", path, i), *d.ArrayInfo, strings.TrimPrefix(typ, "[]"), depth+1)
		if inner == "" {
			return ""
		}
		return fmt.Sprintf("for %s, %s := range %s {\n%s\n}", i, e, expr, inner)
	}
	return ""
}

// toWireExpr returns an expression of the wire value of expr.
func toWireExpr(expr string, d thingmodel.Define, typ string) string {
	switch d.Type {
	case thingmodel.TypeBool:
		return "boolWire(" + expr + ")"
	case thingmodel.TypeStruct:
		return "(" + expr + ").ToWire()"
	case thingmodel.TypeArray:
		elem := strings.TrimPrefix(typ, "[]")
		return fmt.Sprintf("sliceWire(%s, func(e %s) any { return %s })", expr, elem, toWireExpr("e", *d.ArrayInfo, elem))
	}
	return expr
}

// fromWireExpr returns an expression of type (T, error) decoding src.
func fromWireExpr(src string, d thingmodel.Define, typ string) string {
	switch d.Type {
	case thingmodel.TypeBool:
		return "wireBool(" + src + ")"
	case thingmodel.TypeInt, thingmodel.TypeEnum, thingmodel.TypeTimestamp:
		return "wireInt(" + src + ")"
	case thingmodel.TypeFloat:
		return "wireFloat(" + src + ")"
	case thingmodel.TypeString, thingmodel.TypeStringEnum:
		return "wireString(" + src + ")"
	case thingmodel.TypeStruct:
		return "wireStruct[" + typ + "](" + src + ")"
	case thingmodel.TypeArray:
		elem := strings.TrimPrefix(typ, "[]")
		return fmt.Sprintf("wireSlice(%s, func(e any) (%s, error) { return %s })", src, elem, fromWireExpr("e", *d.ArrayInfo, elem))
	}
	return src + ", nil"
}

// helpers is appended to every generated file.
const helpers = `
var (
	errNotInModel   = fmt.Errorf("not in the thing model")
	errNotEnumValue = fmt.Errorf("not an enum value")
	errOutOfRange   = fmt.Errorf("out of range")
	errWrongType    = fmt.Errorf("wrong type")
)

func checkInt(path string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s: %d not in [%d, %d]: %w", path, v, lo, hi, errOutOfRange)
	}
	return nil
}

func checkFloat(path string, v, lo, hi float64) error {
	if math.IsNaN(v) || v < lo || v > hi {
		return fmt.Errorf("%s: %v not in [%v, %v]: %w", path, v, lo, hi, errOutOfRange)
	}
	return nil
}

func checkString(path, v string, lo, hi int) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s: not valid UTF-8: %w", path, errWrongType)
	}
	if len(v) < lo || len(v) > hi {
		return fmt.Errorf("%s: length %d not in [%d, %d]: %w", path, len(v), lo, hi, errOutOfRange)
	}
	return nil
}

func boolWire(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sliceWire[T any](s []T, f func(T) any) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = f(e)
	}
	return out
}

func wireFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case json.Number:
		return x.Float64()
	}
	return 0, fmt.Errorf("%T is not a number: %w", v, errWrongType)
}

func wireInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case json.Number:
		return x.Int64()
	}
	f, err := wireFloat(v)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, fmt.Errorf("%v is not an integer: %w", f, errWrongType)
	}
	return int64(f), nil
}

func wireBool(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	n, err := wireInt(v)
	if err != nil || (n != 0 && n != 1) {
		return false, fmt.Errorf("%v is not 0, 1, true or false: %w", v, errWrongType)
	}
	return n == 1, nil
}

func wireString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("%T is not a string: %w", v, errWrongType)
}

func wireStruct[T any, P interface {
	*T
	FromWire(map[string]any) error
}](v any) (T, error) {
	var t T
	m, ok := v.(map[string]any)
	if !ok {
		return t, fmt.Errorf("%T is not an object: %w", v, errWrongType)
	}
	err := P(&t).FromWire(m)
	return t, err
}

func wireSlice[T any](v any, f func(any) (T, error)) ([]T, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%T is not an array: %w", v, errWrongType)
	}
	out := make([]T, len(a))
	for i, e := range a {
		x, err := f(e)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = x
	}
	return out, nil
}

// sortStrings sorts s (insertion sort: wire maps are small), so that
// FromWire reports the first bad key deterministically.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
`

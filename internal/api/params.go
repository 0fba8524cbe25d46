package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// decodeJSON decodes a POST body into req. Unknown fields are ignored (the
// SDKs send fields Thingo does not use, e.g. LoRa keys); a type mismatch is
// an InvalidParameter naming the field.
func decodeJSON(body []byte, req any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				return newError(codeInvalidParameter, "request body must be a JSON object")
			}
			return newError(codeInvalidParameter, fmt.Sprintf("parameter %s: expected %s, got JSON %s", field, jsonKind(te.Type), te.Value))
		}
		return newError(codeInvalidParameter, "request body is not valid JSON: "+err.Error())
	}
	return nil
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array"
	default:
		return "an object"
	}
}

// checkRequired returns MissingParameter for the first field tagged
// required:"true" that is absent (nil pointer or slice); an empty string
// is present (descriptions may be empty). It descends into slices of structs ("DevicesItems.0.ProductId").
func checkRequired(v reflect.Value, prefix string) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f, fv := t.Field(i), v.Field(i)
			name := prefix + f.Name
			if f.Tag.Get("required") == "true" {
				missing := false
				switch fv.Kind() {
				case reflect.Pointer:
					missing = fv.IsNil()
				case reflect.Slice:
					missing = fv.IsNil()
				case reflect.String:
					missing = fv.String() == ""
				}
				if missing {
					return newError(codeMissingParameter, "missing required parameter "+name)
				}
			}
			if err := checkRequired(fv, name+"."); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := checkRequired(v.Index(i), prefix+strconv.Itoa(i)+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// MaxQueryParams bounds the number of parameters of a GET request.
const MaxQueryParams = 1000

// queryNode is one level of a flattened query: "Filters.0.Values.1=x".
type queryNode struct {
	value *string
	kids  map[string]*queryNode
}

// queryToJSON turns the flattened query of a GET request into the JSON a
// POST would carry, converting each value to the type of the matching field
// of reqType. Parameters that match no field are dropped, as in a JSON body.
func queryToJSON(rawQuery string, reqType reflect.Type) ([]byte, error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, newError(codeInvalidParameter, "malformed query string")
	}
	if len(vals) > MaxQueryParams {
		return nil, newError(codeInvalidParameter, "too many query parameters")
	}
	root := &queryNode{}
	for key, vs := range vals {
		n := root
		for seg := range strings.SplitSeq(key, ".") {
			if n.kids == nil {
				n.kids = map[string]*queryNode{}
			}
			k, ok := n.kids[seg]
			if !ok {
				k = &queryNode{}
				n.kids[seg] = k
			}
			n = k
		}
		v := vs[len(vs)-1]
		n.value = &v
	}
	if root.kids == nil { // no parameters at all
		return []byte("{}"), nil
	}
	out, err := coerce(root, reqType, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func coerce(n *queryNode, t reflect.Type, path string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	mismatch := func() error {
		return newError(codeInvalidParameter, fmt.Sprintf("parameter %s: expected %s", strings.TrimSuffix(path, "."), jsonKind(t)))
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.kids == nil {
			return nil, mismatch()
		}
		obj := map[string]any{}
		for key, kid := range n.kids {
			f, ok := t.FieldByNameFunc(func(s string) bool { return strings.EqualFold(s, key) })
			if !ok || !f.IsExported() {
				continue
			}
			v, err := coerce(kid, f.Type, path+f.Name+".")
			if err != nil {
				return nil, err
			}
			obj[f.Name] = v
		}
		return obj, nil
	case reflect.Slice:
		if n.kids == nil {
			return nil, mismatch()
		}
		idx := make([]int, 0, len(n.kids))
		for key := range n.kids {
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= MaxQueryParams || strconv.Itoa(i) != key {
				return nil, newError(codeInvalidParameter, fmt.Sprintf("parameter %s%s: expected an array index", path, key))
			}
			idx = append(idx, i)
		}
		sort.Ints(idx)
		arr := make([]any, 0, len(idx))
		for _, i := range idx {
			v, err := coerce(n.kids[strconv.Itoa(i)], t.Elem(), path+strconv.Itoa(i)+".")
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	}
	if n.value == nil || n.kids != nil {
		return nil, mismatch()
	}
	s := *n.value
	switch t.Kind() {
	case reflect.String:
		return s, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, mismatch()
		}
		return b, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, mismatch()
		}
		return i, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, mismatch()
		}
		return u, nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, mismatch()
		}
		return f, nil
	}
	return nil, mismatch()
}

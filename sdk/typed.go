package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Properties converts v, a struct whose json tags are the thing model's
// property ids (or any value that encodes as a JSON object), to the params
// of ReportProperties. Fields tagged omitempty and left empty are not
// reported. Booleans encode as true/false, which the platform accepts for
// bool properties.
func Properties(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sdk: properties: %w", err)
	}
	var params map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&params); err != nil || params == nil {
		return nil, fmt.Errorf("sdk: properties: %T does not encode as a JSON object", v)
	}
	return params, nil
}

// DecodeParams decodes the params of a control or an action (as handed to
// a ControlHandler or ActionHandler) into v, a pointer to a struct whose
// json tags are the property or parameter ids. Fields absent from params
// keep their values, so a partial control updates only what it names.
// Bool properties sent as 0/1 decode into Go bools too.
func DecodeParams(params map[string]any, v any) error {
	b, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("sdk: decode params: %w", err)
	}
	if err := json.Unmarshal(b, v); err == nil {
		return nil
	}
	// The platform sends bool properties as 0/1: retry with the numbers
	// that bool fields of v expect turned into booleans.
	var fields map[string]json.RawMessage
	probe, _ := json.Marshal(v)
	if json.Unmarshal(probe, &fields) != nil {
		return fmt.Errorf("sdk: decode params into %T: %w", v, json.Unmarshal(b, v))
	}
	fixed := make(map[string]any, len(params))
	for k, p := range params {
		fixed[k] = p
		if f, ok := fields[k]; ok && (string(f) == "true" || string(f) == "false") {
			switch n := p.(type) {
			case float64:
				fixed[k] = n != 0
			case json.Number:
				fixed[k] = n.String() != "0"
			}
		}
	}
	b, err = json.Marshal(fixed)
	if err != nil {
		return fmt.Errorf("sdk: decode params: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("sdk: decode params into %T: %w", v, err)
	}
	return nil
}

package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// Errors of the control and action endpoints' input checks.
var (
	errDevUnknownProperty = errors.New("unknown property")
	errDevReadOnly        = errors.New("property is read-only")
	errDevUnknownAction   = errors.New("unknown action")
	errDevBadValue        = errors.New("invalid value")
)

// devField is one typed input of the device page: a property control or an
// action input parameter, built from a thing model define.
type devField struct {
	ID    string
	Name  string
	Type  string // thing model type: bool, int, float, enum, stringenum, string, timestamp, struct, array
	Kind  string // input kind: checkbox, range, number, select, text, json
	Min   string
	Max   string
	Step  string
	Unit  string
	Opts  []devOption // enum, stringenum and bool mappings
	Write bool        // a property the platform may control (mode rw)
	// Value is the current value as JSON ("" when unknown), Text the same
	// for display (strings unquoted), Label the enum/bool mapping of it.
	Value string
	Text  string
	Label string
	// Updated is when the value was reported (unix ms, 0: unknown).
	Updated int64
	// InputID is the element id of an action input ("action-{aid}-{pid}").
	InputID string
}

// Labels maps the field's option values to their labels.
func (f devField) Labels() map[string]string {
	m := make(map[string]string, len(f.Opts))
	for _, o := range f.Opts {
		m[o.Value] = o.Label
	}
	return m
}

// devOption is one choice of an enum.
type devOption struct {
	Value string
	Label string
}

// Numeric reports whether the field's history can be charted.
func (f devField) Numeric() bool {
	switch f.Type {
	case thingmodel.TypeBool, thingmodel.TypeInt, thingmodel.TypeFloat, thingmodel.TypeEnum:
		return true
	}
	return false
}

// Checked reports whether a bool field is on.
func (f devField) Checked() bool { return f.Value == "1" || f.Value == "true" }

// Selected reports whether opt is the field's current choice.
func (f devField) Selected(opt string) bool {
	if f.Type == thingmodel.TypeStringEnum {
		return f.Text == opt && f.Value != ""
	}
	return f.Value == opt
}

// RangeValue is the initial position of a range input.
func (f devField) RangeValue() string {
	if f.Value != "" {
		return f.Value
	}
	if f.Min != "" {
		return f.Min
	}
	return "0"
}

// newDevField builds the input of a define.
func newDevField(id, name string, d thingmodel.Define) devField {
	f := devField{ID: id, Name: name, Type: d.Type, Unit: devLimit(thingmodel.Limit(d.Unit))}
	if f.Name == "" {
		f.Name = id
	}
	switch d.Type {
	case thingmodel.TypeBool:
		f.Kind = "checkbox"
		f.Opts = devMappingOptions(d.Mapping)
	case thingmodel.TypeInt, thingmodel.TypeFloat:
		f.Kind = "range"
		f.Min, f.Max, f.Step = devLimit(d.Min), devLimit(d.Max), devLimit(d.Step)
		if f.Step == "" {
			f.Step = "1"
			if d.Type == thingmodel.TypeFloat {
				f.Step = "any"
			}
		}
		if f.Min == "" || f.Max == "" {
			f.Kind = "number"
		}
	case thingmodel.TypeEnum, thingmodel.TypeStringEnum:
		f.Kind = "select"
		f.Opts = devMappingOptions(d.Mapping)
	case thingmodel.TypeString:
		f.Kind = "text"
		f.Max = devLimit(d.Max)
	case thingmodel.TypeTimestamp:
		f.Kind = "number"
		f.Min, f.Step = "0", "1"
	default:
		f.Kind = "json"
	}
	return f
}

// devLimit drops the "not set" spellings of a limit.
func devLimit(l thingmodel.Limit) string {
	s := strings.TrimSpace(string(l))
	if s == "undefined" {
		return ""
	}
	return s
}

// devMappingOptions sorts a mapping by key (numerically when possible).
func devMappingOptions(m map[string]string) []devOption {
	out := make([]devOption, 0, len(m))
	for k, v := range m {
		out = append(out, devOption{Value: k, Label: v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, errA := strconv.ParseFloat(out[i].Value, 64)
		b, errB := strconv.ParseFloat(out[j].Value, 64)
		if errA == nil && errB == nil {
			return a < b
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// setValue records the current value raw (JSON) on the field.
func (f *devField) setValue(raw json.RawMessage, updated int64) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	f.Value, f.Text, f.Updated = string(raw), devValueText(raw), updated
	key := f.Text
	if f.Type == thingmodel.TypeBool {
		switch f.Text {
		case "true":
			key = "1"
		case "false":
			key = "0"
		}
	}
	for _, o := range f.Opts {
		if o.Value == key {
			f.Label = o.Label
		}
	}
}

// devValueText shows a JSON value: strings without quotes, the rest as JSON.
func devValueText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err == nil {
		return buf.String()
	}
	return string(raw)
}

// devActionView is an action of the model with its input fields.
type devActionView struct {
	ID     string
	Name   string
	Desc   string
	Inputs []devField
	Output []devField
}

// devModelView is what the device page shows of a thing model.
type devModelView struct {
	Properties []devField
	Actions    []devActionView
	Events     map[string]string // event id to name
}

// buildDevModelView turns a parsed model into page fields; data is the
// DescribeDeviceData map (may be nil).
func buildDevModelView(m *thingmodel.Model, data map[string]devDataValue) devModelView {
	v := devModelView{Events: map[string]string{}}
	if m == nil {
		return v
	}
	for _, p := range m.Properties {
		f := newDevField(p.ID, p.Name, p.Define)
		f.Write = p.Mode != thingmodel.ModeRead
		if d, ok := data[p.ID]; ok {
			f.setValue(d.Value, d.LastUpdate)
		}
		v.Properties = append(v.Properties, f)
	}
	for _, a := range m.Actions {
		av := devActionView{ID: a.ID, Name: a.Name, Desc: a.Desc}
		if av.Name == "" {
			av.Name = a.ID
		}
		for _, p := range a.Input {
			in := newDevField(p.ID, p.Name, p.Define)
			in.InputID = "action-" + a.ID + "-" + p.ID
			av.Inputs = append(av.Inputs, in)
		}
		for _, p := range a.Output {
			av.Output = append(av.Output, newDevField(p.ID, p.Name, p.Define))
		}
		v.Actions = append(v.Actions, av)
	}
	for _, e := range m.Events {
		v.Events[e.ID] = e.Name
	}
	return v
}

// devDataValue is one entry of DescribeDeviceData's Data.
type devDataValue struct {
	Value      json.RawMessage
	LastUpdate int64
}

// parseDevData decodes DescribeDeviceData's Data string.
func parseDevData(s string) (map[string]devDataValue, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]devDataValue{}, nil
	}
	var m map[string]devDataValue
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("device data: %w", err)
	}
	return m, nil
}

// devCoerceValue converts a value sent by the page (or typed by hand) to the
// JSON type the define wants: numbers may come as strings, bools as
// true/false or "on". Range and type checks are left to the model's
// validators; devCoerceValue only fails on text that cannot be the type.
func devCoerceValue(d thingmodel.Define, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("%w: no value", errDevBadValue)
	}
	var s string
	isString := json.Unmarshal(raw, &s) == nil
	switch d.Type {
	case thingmodel.TypeBool:
		switch {
		case string(raw) == "true" || isString && (s == "true" || s == "on" || s == "1"):
			return json.RawMessage("1"), nil
		case string(raw) == "false" || isString && (s == "false" || s == "off" || s == "0" || s == ""):
			return json.RawMessage("0"), nil
		}
	case thingmodel.TypeInt, thingmodel.TypeFloat, thingmodel.TypeEnum, thingmodel.TypeTimestamp:
		if isString {
			s = strings.TrimSpace(s)
			if _, err := strconv.ParseFloat(s, 64); err != nil || s == "" {
				return nil, fmt.Errorf("%w: %q is not a number", errDevBadValue, s)
			}
			return json.RawMessage(s), nil
		}
	case thingmodel.TypeStruct, thingmodel.TypeArray:
		if isString { // typed by hand as JSON text
			if !json.Valid([]byte(s)) {
				return nil, fmt.Errorf("%w: not valid JSON", errDevBadValue)
			}
			return json.RawMessage(s), nil
		}
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: not valid JSON", errDevBadValue)
	}
	return raw, nil
}

// devControlData checks a control of property id against the model and
// returns the ControlDeviceData Data object.
func devControlData(m *thingmodel.Model, id string, value json.RawMessage) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("%w %q: the product has no thing model", errDevUnknownProperty, id)
	}
	p, ok := m.Property(id)
	if !ok {
		return nil, fmt.Errorf("%w %q", errDevUnknownProperty, id)
	}
	if p.Mode == thingmodel.ModeRead {
		return nil, fmt.Errorf("%q: %w", id, errDevReadOnly)
	}
	v, err := devCoerceValue(p.Define, value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	data, err := json.Marshal(map[string]json.RawMessage{id: v})
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", id, errDevBadValue, err)
	}
	if err := m.ValidateControl(data); err != nil {
		return nil, fmt.Errorf("%w: %v", errDevBadValue, err)
	}
	return data, nil
}

// devActionInput checks an action call's params against the model and returns
// the InputParams object.
func devActionInput(m *thingmodel.Model, id string, params map[string]json.RawMessage) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("%w %q: the product has no thing model", errDevUnknownAction, id)
	}
	a, ok := m.Action(id)
	if !ok {
		return nil, fmt.Errorf("%w %q", errDevUnknownAction, id)
	}
	in := make(map[string]json.RawMessage, len(a.Input))
	for _, p := range a.Input {
		raw, ok := params[p.ID]
		if !ok {
			if p.Define.Type != thingmodel.TypeBool { // an unchecked box is not sent
				return nil, fmt.Errorf("%s: %w: missing", p.ID, errDevBadValue)
			}
			raw = json.RawMessage("0")
		}
		v, err := devCoerceValue(p.Define, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.ID, err)
		}
		in[p.ID] = v
	}
	for k := range params {
		if _, ok := in[k]; !ok {
			return nil, fmt.Errorf("%s: %w: not an input of action %q", k, errDevBadValue, id)
		}
	}
	data, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errDevBadValue, err)
	}
	if err := m.ValidateActionInput(id, data); err != nil {
		return nil, fmt.Errorf("%w: %v", errDevBadValue, err)
	}
	return data, nil
}

// Package thingmodel parses Tencent IoT Explorer thing models (数据模板 / 物模型), checks their
// definitions, and compiles them into validators for property reports, controls, events and action
// input/output (PROTOCOL.md §5 and §6).
//
// The package is pure: no I/O, standard library only. A *Model is immutable after Parse and safe for
// concurrent use; do not modify its exported fields.
package thingmodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Data types of a define.
const (
	TypeBool       = "bool"
	TypeInt        = "int"
	TypeFloat      = "float"
	TypeEnum       = "enum"
	TypeStringEnum = "stringenum"
	TypeString     = "string"
	TypeTimestamp  = "timestamp"
	TypeStruct     = "struct"
	TypeArray      = "array"
)

// Property modes and event types.
const (
	ModeReadWrite = "rw"
	ModeRead      = "r"

	EventInfo  = "info"
	EventAlert = "alert"
	EventFault = "fault"
)

// Model is a parsed and compiled thing model.
type Model struct {
	Version    string     `json:"version"`
	Profile    Profile    `json:"profile"`
	Properties []Property `json:"properties"`
	Events     []Event    `json:"events"`
	Actions    []Action   `json:"actions"`

	raw     []byte
	props   map[string]*propSpec
	events  map[string]*eventSpec
	actions map[string]*actionSpec
}

// Profile identifies the product. Parse accepts "ProductId" and "productID" and a string or numeric
// "CategoryId".
type Profile struct {
	ProductID  string `json:"ProductId"`
	CategoryID string `json:"CategoryId"`
}

// Property is a property definition.
type Property struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Desc     string `json:"desc"`
	Required bool   `json:"required"`
	Mode     string `json:"mode"`
	Define   Define `json:"define"`
}

// Event is an event definition.
type Event struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Desc     string  `json:"desc"`
	Type     string  `json:"type"`
	Required bool    `json:"required"`
	Params   []Param `json:"params"`
}

// Action is an action (RPC) definition.
type Action struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Desc     string  `json:"desc"`
	Required bool    `json:"required"`
	Input    []Param `json:"input"`
	Output   []Param `json:"output"`
}

// Param is an event parameter or action input/output; it uses the property define grammar.
type Param struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Desc   string `json:"desc,omitempty"`
	Define Define `json:"define"`
}

// Member is a struct member; Tencent calls its define "dataType".
type Member struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Desc     string `json:"desc,omitempty"`
	DataType Define `json:"dataType"`
}

// Define is a data type definition. Which fields apply depends on Type (see PROTOCOL.md §6).
type Define struct {
	Type      string            `json:"type"`
	Mapping   map[string]string `json:"mapping,omitempty"`
	Min       Limit             `json:"min,omitempty"`
	Max       Limit             `json:"max,omitempty"`
	Start     Limit             `json:"start,omitempty"`
	Step      Limit             `json:"step,omitempty"`
	Unit      string            `json:"unit,omitempty"`
	Specs     []Member          `json:"specs,omitempty"`
	ArrayInfo *Define           `json:"arrayInfo,omitempty"`
}

// Limit is a numeric limit (min, max, start, step). Tencent writes limits as JSON strings ("0",
// "-180", "24.0"); Parse also accepts JSON numbers, and JSON() always writes strings. The empty
// string and "undefined" (seen in real console exports) mean "not set".
type Limit string

// UnmarshalJSON accepts a JSON string, number or null.
func (l *Limit) UnmarshalJSON(b []byte) error {
	s, err := flexString(b)
	if err != nil {
		return fmt.Errorf("limit: %w", err)
	}
	*l = Limit(s)
	return nil
}

// UnmarshalJSON accepts "ProductId"/"productID" (matching is case-insensitive) and string or numeric ids.
func (p *Profile) UnmarshalJSON(b []byte) error {
	var raw struct {
		ProductID  json.RawMessage `json:"ProductId"`
		CategoryID json.RawMessage `json:"CategoryId"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	var err error
	if p.ProductID, err = flexString(raw.ProductID); err != nil {
		return fmt.Errorf("profile ProductId: %w", err)
	}
	if p.CategoryID, err = flexString(raw.CategoryID); err != nil {
		return fmt.Errorf("profile CategoryId: %w", err)
	}
	return nil
}

// flexString decodes a JSON string, number or null (or nothing) into a string.
func flexString(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return "", nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", errors.New("want a string or a number")
	}
	return n.String(), nil
}

// Parse parses and checks a thing model in Tencent's JSON format and compiles its validators.
// Errors are *DefineError values; use Code to get the API error code.
func Parse(data []byte) (*Model, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, defErr(CodeModelDefineNil, "", "thing model is empty")
	}
	if trimmed[0] != '{' {
		return nil, defErr(CodeModelDefineInvalid, "", "thing model must be a JSON object")
	}
	m := &Model{}
	if err := json.Unmarshal(trimmed, m); err != nil {
		return nil, defErr(CodeModelDefineInvalid, "", "bad JSON: %v", err)
	}
	if err := m.compile(); err != nil {
		return nil, err
	}
	m.raw = bytes.Clone(data)
	return m, nil
}

// Property returns the property with the given id.
func (m *Model) Property(id string) (Property, bool) {
	if p, ok := m.props[id]; ok {
		return m.Properties[p.index], true
	}
	return Property{}, false
}

// Event returns the event with the given id.
func (m *Model) Event(id string) (Event, bool) {
	if e, ok := m.events[id]; ok {
		return m.Events[e.index], true
	}
	return Event{}, false
}

// Action returns the action with the given id.
func (m *Model) Action(id string) (Action, bool) {
	if a, ok := m.actions[id]; ok {
		return m.Actions[a.index], true
	}
	return Action{}, false
}

// Raw returns the JSON the model was parsed from, byte for byte.
func (m *Model) Raw() []byte { return bytes.Clone(m.raw) }

// JSON returns the model in canonical form: Tencent's field names, fixed field order, sorted
// mapping keys, limits as strings, empty sections as [] and no insignificant whitespace.
// Parse(m.JSON()) yields an equivalent model. Unknown fields of the original are not kept (see Raw).
func (m *Model) JSON() []byte {
	type canon struct {
		Version    string     `json:"version"`
		Profile    Profile    `json:"profile"`
		Properties []Property `json:"properties"`
		Events     []Event    `json:"events"`
		Actions    []Action   `json:"actions"`
	}
	c := canon{
		Version:    m.Version,
		Profile:    m.Profile,
		Properties: nonNil(m.Properties),
		Events:     make([]Event, len(m.Events)),
		Actions:    make([]Action, len(m.Actions)),
	}
	for i, e := range m.Events {
		e.Params = nonNil(e.Params)
		c.Events[i] = e
	}
	for i, a := range m.Actions {
		a.Input, a.Output = nonNil(a.Input), nonNil(a.Output)
		c.Actions[i] = a
	}
	out, err := json.Marshal(c)
	if err != nil {
		// Only strings, bools, maps of strings and slices: marshaling cannot fail.
		panic(fmt.Sprintf("thingmodel: marshal canonical model: %v", err))
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

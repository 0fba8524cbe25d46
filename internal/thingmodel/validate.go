package thingmodel

import (
	"math"
	"slices"
	"strconv"
)

// Value rules (PROTOCOL.md §5, §6):
//   - bool: 0, 1, true or false;
//   - int: an integral JSON number (1 and 1.0 both pass) within [min, max];
//   - float: any JSON number within [min, max];
//   - enum: an integer equal to a mapping key; stringenum: a string equal to a mapping key;
//   - string: valid UTF-8 whose length in BYTES (after unescaping) is within [min, max]. Bytes, not
//     characters, because the C SDK stores strings in buffers of max+1 bytes: "灯" counts 3;
//   - timestamp: an integer >= 0 (seconds or milliseconds; the unit is not checked);
//   - struct: an object whose members are spec ids with valid values (members may be omitted);
//   - array: a JSON array whose elements are valid for arrayInfo.
// null is never a valid value. The first invalid parameter ends validation.

// ValidateReport validates the params object of a property report (method "report"). Every key
// must be a property id of the model. Empty or null params are valid.
func (m *Model) ValidateReport(params []byte) error {
	return m.validateProps(params, false)
}

// ValidateControl validates the params object of a control (cloud → device): like ValidateReport,
// and every property must be writable (mode "rw"), else the error wraps ErrReadOnly.
func (m *Model) ValidateControl(params []byte) error {
	return m.validateProps(params, true)
}

// ValidateEvent validates an event: eventID must be an event of the model, typ its type (info,
// alert or fault), and params its parameters.
func (m *Model) ValidateEvent(eventID, typ string, params []byte) error {
	e, ok := m.events[eventID]
	if !ok {
		return &ValueError{Param: eventID, Err: ErrNotInModel, Reason: "event not defined"}
	}
	if typ != e.typ {
		return &ValueError{Param: eventID, Err: ErrEventType, Reason: "type " + strconv.Quote(typ) + ", model says " + strconv.Quote(e.typ)}
	}
	return validateFields(params, e.params, false)
}

// ValidateActionInput validates the input params of an action call; every declared input must be
// present (the C SDK drops action messages that lack one).
func (m *Model) ValidateActionInput(actionID string, params []byte) error {
	a, ok := m.actions[actionID]
	if !ok {
		return &ValueError{Param: actionID, Err: ErrNotInModel, Reason: "action not defined"}
	}
	return validateFields(params, a.input, true)
}

// ValidateActionOutput validates the response of an action reply against the action's output.
// Outputs may be omitted; unknown outputs are rejected.
func (m *Model) ValidateActionOutput(actionID string, params []byte) error {
	a, ok := m.actions[actionID]
	if !ok {
		return &ValueError{Param: actionID, Err: ErrNotInModel, Reason: "action not defined"}
	}
	return validateFields(params, a.output, false)
}

// emptyParams consumes absent or null params and reports whether they were.
func emptyParams(s *scanner) (bool, error) {
	if s.skipWS(); s.pos >= len(s.data) {
		return true, nil
	}
	switch s.peek() {
	case 'n':
		if err := s.literal("null"); err != nil {
			return true, err
		}
		return true, s.end()
	}
	return false, nil
}

func notInModel(key strInfo) error {
	return &ValueError{Param: unescape(key), Err: ErrNotInModel, Reason: "not defined in the thing model"}
}

func (m *Model) validateProps(params []byte, control bool) error {
	s := scanner{data: params}
	if empty, err := emptyParams(&s); empty {
		return err
	}
	err := s.object(func(key strInfo) error {
		var p *propSpec
		if key.escaped {
			p = m.props[unescape(key)]
		} else {
			p = m.props[string(key.raw)]
		}
		if p == nil {
			return notInModel(key)
		}
		if control && !p.writable {
			return &ValueError{Param: unescape(key), Err: ErrReadOnly, Reason: "mode is \"r\""}
		}
		if err := p.c.check(&s); err != nil {
			return prefix(err, unescape(key))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.end()
}

func fieldIndex(fields []field, key strInfo) int {
	if key.escaped {
		k := unescape(key)
		return slices.IndexFunc(fields, func(f field) bool { return f.id == k })
	}
	for i := range fields {
		if fields[i].id == string(key.raw) {
			return i
		}
	}
	return -1
}

func validateFields(params []byte, fields []field, requireAll bool) error {
	s := scanner{data: params}
	var seen []bool
	if requireAll {
		seen = make([]bool, len(fields))
	}
	empty, err := emptyParams(&s)
	if err != nil {
		return err
	}
	if !empty {
		err := s.object(func(key strInfo) error {
			i := fieldIndex(fields, key)
			if i < 0 {
				return notInModel(key)
			}
			if seen != nil {
				seen[i] = true
			}
			if err := fields[i].c.check(&s); err != nil {
				return prefix(err, fields[i].id)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.end(); err != nil {
			return err
		}
	}
	for i, ok := range seen {
		if !ok {
			return &ValueError{Param: fields[i].id, Err: ErrMissingParam, Reason: "required input is missing"}
		}
	}
	return nil
}

// check reads one value from s and validates it.
func (c *checker) check(s *scanner) error {
	switch c.kind {
	case kindBool:
		switch s.peek() {
		case 't':
			return s.literal("true")
		case 'f':
			return s.literal("false")
		}
		v, err := s.intValue("bool")
		if err != nil {
			return err
		}
		if v != 0 && v != 1 {
			return valErr(ErrInvalidValue, "bool must be 0, 1, true or false, got %d", v)
		}
	case kindInt:
		v, err := s.intValue("int")
		if err != nil {
			return err
		}
		if v < c.imin || v > c.imax {
			return valErr(ErrInvalidValue, "%d out of range [%d, %d]", v, c.imin, c.imax)
		}
	case kindFloat:
		f, err := s.floatValue()
		if err != nil {
			return err
		}
		if f < c.fmin || f > c.fmax {
			return valErr(ErrInvalidValue, "%v out of range [%v, %v]", f, c.fmin, c.fmax)
		}
	case kindEnum:
		v, err := s.intValue("enum")
		if err != nil {
			return err
		}
		if _, ok := slices.BinarySearch(c.enumKeys, v); !ok {
			return valErr(ErrInvalidValue, "%d is not an enum value", v)
		}
	case kindTimestamp:
		v, err := s.intValue("timestamp")
		if err != nil {
			return err
		}
		if v < 0 {
			return valErr(ErrInvalidValue, "negative timestamp %d", v)
		}
	case kindString, kindStringEnum:
		return c.checkString(s)
	case kindStruct:
		return c.checkStruct(s)
	case kindArray:
		return c.checkArray(s)
	}
	return nil
}

func (c *checker) checkString(s *scanner) error {
	if err := s.wantKind('"', "string"); err != nil {
		return err
	}
	si, err := s.str()
	if err != nil {
		return err
	}
	if si.badUTF8 {
		return valErr(ErrInvalidValue, "string is not valid UTF-8")
	}
	if c.kind == kindString {
		if si.n < c.smin || si.n > c.smax {
			return valErr(ErrInvalidValue, "length %d bytes out of range [%d, %d]", si.n, c.smin, c.smax)
		}
		return nil
	}
	if si.escaped {
		if _, ok := slices.BinarySearch(c.strKeys, unescape(si)); ok {
			return nil
		}
	} else {
		for _, k := range c.strKeys {
			if k == string(si.raw) {
				return nil
			}
		}
	}
	return valErr(ErrInvalidValue, "%q is not a stringenum value", unescape(si))
}

func (c *checker) checkStruct(s *scanner) error {
	return s.object(func(key strInfo) error {
		i := fieldIndex(c.members, key)
		if i < 0 {
			return &ValueError{Param: unescape(key), Err: ErrInvalidValue, Reason: "not a member of the struct"}
		}
		if err := c.members[i].c.check(s); err != nil {
			return prefix(err, c.members[i].id)
		}
		return nil
	})
}

func (c *checker) checkArray(s *scanner) error {
	if err := s.wantKind('[', "array"); err != nil {
		return err
	}
	s.pos++
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := c.elem.check(s); err != nil {
			return prefix(err, "["+strconv.Itoa(i)+"]")
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return malformed("want ',' or ']' at offset %d", s.pos)
		}
	}
}

// wantKind checks that the next value starts with c (a quote, bracket or brace): another valid
// value start is a 406 type error, anything else malformed JSON.
func (s *scanner) wantKind(c byte, want string) error {
	switch got := s.peek(); {
	case got == c:
		return nil
	case got == '"' || got == '{' || got == '[' || got == 't' || got == 'f' || got == 'n' || got == '-' || (got >= '0' && got <= '9'):
		return valErr(ErrInvalidValue, "want %s", want)
	default:
		return malformed("want a value at offset %d", s.pos)
	}
}

// numberFor reads a number, or fails with a type error naming want.
func (s *scanner) numberFor(want string) ([]byte, bool, error) {
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		return nil, false, s.wantKind('0', want)
	}
	return s.number()
}

// intValue reads an integral number: 7, -3, 7.0 and 7e2 pass; 7.5 does not.
func (s *scanner) intValue(want string) (int64, error) {
	raw, isInt, err := s.numberFor(want)
	if err != nil {
		return 0, err
	}
	if isInt && len(raw) <= 18 {
		var v int64
		neg := raw[0] == '-'
		digits := raw
		if neg {
			digits = raw[1:]
		}
		for _, d := range digits {
			v = v*10 + int64(d-'0')
		}
		if neg {
			v = -v
		}
		return v, nil
	}
	if isInt {
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return 0, valErr(ErrInvalidValue, "%s out of range", raw)
		}
		return v, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < -(1<<63) || f >= 1<<63 {
		return 0, valErr(ErrInvalidValue, "%s out of range", raw)
	}
	if f != math.Trunc(f) {
		return 0, valErr(ErrInvalidValue, "want %s, got %s", want, raw)
	}
	return int64(f), nil
}

func (s *scanner) floatValue() (float64, error) {
	raw, _, err := s.numberFor("float")
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, valErr(ErrInvalidValue, "%s out of range", raw)
	}
	return f, nil
}

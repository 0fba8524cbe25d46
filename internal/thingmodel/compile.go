package thingmodel

import (
	"math"
	"slices"
	"strconv"
)

// Definition limits.
const (
	// MaxStringLen is the largest "max" of a string define (bytes).
	MaxStringLen = 2048
	// MaxEventParams is the largest number of parameters of one event.
	MaxEventParams = 20
	// Int defines are 32-bit (the C SDK stores TYPE_TEMPLATE_INT in an int32_t); wider min/max
	// are rejected with CodeModelDefinePropRangeOverflow.
	minInt = math.MinInt32
	maxInt = math.MaxInt32
	// Float defines are single precision on devices (C SDK float).
	maxFloat = math.MaxFloat32
)

type kind uint8

const (
	kindBool kind = iota + 1
	kindInt
	kindFloat
	kindEnum
	kindStringEnum
	kindString
	kindTimestamp
	kindStruct
	kindArray
)

// checker is a compiled define.
type checker struct {
	kind       kind
	imin, imax int64    // int
	fmin, fmax float64  // float
	smin, smax int      // string length in bytes
	enumKeys   []int64  // enum
	strKeys    []string // stringenum
	members    []field  // struct
	elem       *checker // array
}

type field struct {
	id string
	c  *checker
}

type propSpec struct {
	index    int // into Model.Properties
	c        *checker
	writable bool
}

type eventSpec struct {
	index  int // into Model.Events
	typ    string
	params []field
}

type actionSpec struct {
	index  int // into Model.Actions
	input  []field
	output []field
}

// position says where a define appears; it decides which types are allowed.
type position uint8

const (
	posTop       position = iota // property, event param, action input/output: every type
	posMember                    // struct member: scalars only
	posArrayElem                 // array element: int, float, string, struct
)

func (m *Model) compile() error {
	m.props = make(map[string]*propSpec, len(m.Properties))
	m.events = make(map[string]*eventSpec, len(m.Events))
	m.actions = make(map[string]*actionSpec, len(m.Actions))
	seen := make(map[string]bool, len(m.Properties)+len(m.Events)+len(m.Actions))
	checkID := func(id string) error {
		if id == "" {
			return defErr(CodeModelDefineInvalid, "", "missing id")
		}
		if seen[id] {
			return defErr(CodeModelDefineDupID, id, "duplicate id")
		}
		seen[id] = true
		return nil
	}
	for i := range m.Properties {
		p := &m.Properties[i]
		if err := checkID(p.ID); err != nil {
			return err
		}
		if p.Mode != ModeReadWrite && p.Mode != ModeRead {
			return defErr(CodeModelDefineInvalid, p.ID, "mode %q: want \"rw\" or \"r\"", p.Mode)
		}
		c, err := compileDefine(p.ID, &p.Define, posTop)
		if err != nil {
			return err
		}
		m.props[p.ID] = &propSpec{index: i, c: c, writable: p.Mode == ModeReadWrite}
	}
	for i := range m.Events {
		e := &m.Events[i]
		if err := checkID(e.ID); err != nil {
			return err
		}
		switch e.Type {
		case EventInfo, EventAlert, EventFault:
		case "":
			return defErr(CodeModelDefineEventTypeMissing, e.ID, "missing event type")
		default:
			return defErr(CodeModelDefineEventTypeError, e.ID, "event type %q: want info, alert or fault", e.Type)
		}
		if len(e.Params) > MaxEventParams {
			return defErr(CodeModelDefineEventParamsExceedLimit, e.ID, "%d params, at most %d", len(e.Params), MaxEventParams)
		}
		params, err := compileParams(e.ID, e.Params, CodeModelDefineEventParamsDupID)
		if err != nil {
			return err
		}
		m.events[e.ID] = &eventSpec{index: i, typ: e.Type, params: params}
	}
	for i := range m.Actions {
		a := &m.Actions[i]
		if err := checkID(a.ID); err != nil {
			return err
		}
		in, err := compileParams(a.ID, a.Input, CodeModelDefineDupID)
		if err != nil {
			return err
		}
		out, err := compileParams(a.ID, a.Output, CodeModelDefineDupID)
		if err != nil {
			return err
		}
		m.actions[a.ID] = &actionSpec{index: i, input: in, output: out}
	}
	return nil
}

func compileParams(parent string, params []Param, dupCode string) ([]field, error) {
	fields := make([]field, 0, len(params))
	for _, p := range params {
		path := parent + "." + p.ID
		if p.ID == "" {
			return nil, defErr(CodeModelDefineInvalid, parent, "parameter without id")
		}
		if findField(fields, p.ID) != nil {
			return nil, defErr(dupCode, path, "duplicate parameter id")
		}
		c, err := compileDefine(path, &p.Define, posTop)
		if err != nil {
			return nil, err
		}
		fields = append(fields, field{id: p.ID, c: c})
	}
	return fields, nil
}

func findField(fields []field, id string) *checker {
	for i := range fields {
		if fields[i].id == id {
			return fields[i].c
		}
	}
	return nil
}

func compileDefine(id string, d *Define, pos position) (*checker, error) {
	switch d.Type {
	case TypeBool:
		if len(d.Mapping) > 0 && (len(d.Mapping) != 2 || !hasKey(d.Mapping, "0") || !hasKey(d.Mapping, "1")) {
			return nil, defErr(CodeModelDefinePropBoolMappingError, id, "bool mapping must have exactly the keys \"0\" and \"1\"")
		}
		return &checker{kind: kindBool}, nil
	case TypeInt:
		return compileInt(id, d)
	case TypeFloat:
		return compileFloat(id, d)
	case TypeEnum:
		return compileEnum(id, d)
	case TypeStringEnum:
		if len(d.Mapping) == 0 {
			return nil, defErr(CodeModelDefinePropEnumMappingError, id, "stringenum without mapping")
		}
		keys := make([]string, 0, len(d.Mapping))
		for k := range d.Mapping {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return &checker{kind: kindStringEnum, strKeys: keys}, nil
	case TypeString:
		return compileString(id, d)
	case TypeTimestamp:
		return &checker{kind: kindTimestamp}, nil
	case TypeStruct:
		if pos == posMember {
			return nil, defErr(CodeModelDefineErrorType, id, "struct members cannot be structs")
		}
		return compileStruct(id, d)
	case TypeArray:
		if pos != posTop {
			return nil, defErr(CodeModelDefineErrorType, id, "arrays cannot be nested")
		}
		if d.ArrayInfo == nil {
			return nil, defErr(CodeModelDefineInvalid, id, "array without arrayInfo")
		}
		switch d.ArrayInfo.Type {
		case TypeInt, TypeFloat, TypeString, TypeStruct:
		default:
			return nil, defErr(CodeModelDefineErrorType, id, "array element type %q: want int, float, string or struct", d.ArrayInfo.Type)
		}
		elem, err := compileDefine(id, d.ArrayInfo, posArrayElem)
		if err != nil {
			return nil, err
		}
		return &checker{kind: kindArray, elem: elem}, nil
	case "":
		return nil, defErr(CodeModelDefineErrorType, id, "missing define type")
	default:
		return nil, defErr(CodeModelDefineErrorType, id, "unknown type %q", d.Type)
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func compileStruct(id string, d *Define) (*checker, error) {
	if len(d.Specs) == 0 {
		return nil, defErr(CodeModelDefineInvalid, id, "struct without specs")
	}
	members := make([]field, 0, len(d.Specs))
	for i := range d.Specs {
		s := &d.Specs[i]
		if s.ID == "" {
			return nil, defErr(CodeModelDefineInvalid, id, "struct member without id")
		}
		path := id + "." + s.ID
		if findField(members, s.ID) != nil {
			return nil, defErr(CodeModelDefineDupID, path, "duplicate struct member id")
		}
		c, err := compileDefine(path, &s.DataType, posMember)
		if err != nil {
			return nil, err
		}
		members = append(members, field{id: s.ID, c: c})
	}
	return &checker{kind: kindStruct, members: members}, nil
}

func compileEnum(id string, d *Define) (*checker, error) {
	if len(d.Mapping) == 0 {
		return nil, defErr(CodeModelDefinePropEnumMappingError, id, "enum without mapping")
	}
	keys := make([]int64, 0, len(d.Mapping))
	for k := range d.Mapping {
		v, err := strconv.ParseInt(k, 10, 32)
		if err != nil || strconv.FormatInt(v, 10) != k {
			return nil, defErr(CodeModelDefinePropEnumMappingError, id, "enum key %q is not an integer", k)
		}
		keys = append(keys, v)
	}
	slices.Sort(keys)
	return &checker{kind: kindEnum, enumKeys: keys}, nil
}

// limitSet reports whether a limit is given.
func limitSet(l Limit) bool { return l != "" && l != "undefined" }

// parseLimit parses a limit as a finite float64; the bool reports whether it was set.
func parseLimit(id, name string, l Limit) (float64, bool, error) {
	if !limitSet(l) {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(string(l), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, defErr(CodeModelDefinePropRangeError, id, "%s %q is not a number", name, string(l))
	}
	return f, true, nil
}

// numLimits holds the checked min/max/start/step of an int or float define.
type numLimits struct{ min, max float64 }

func compileNumeric(id string, d *Define, lo, hi float64, integral bool) (numLimits, error) {
	var lim numLimits
	vals := [4]float64{}
	set := [4]bool{}
	for i, l := range [4]struct {
		name string
		v    Limit
	}{{"min", d.Min}, {"max", d.Max}, {"start", d.Start}, {"step", d.Step}} {
		f, ok, err := parseLimit(id, l.name, l.v)
		if err != nil {
			return lim, err
		}
		if ok && integral && i < 3 && f != math.Trunc(f) {
			return lim, defErr(CodeModelDefinePropRangeError, id, "%s %q is not an integer", l.name, string(l.v))
		}
		vals[i], set[i] = f, ok
	}
	lim.min, lim.max = lo, hi
	if set[0] {
		lim.min = vals[0]
	}
	if set[1] {
		lim.max = vals[1]
	}
	if lim.min < lo || lim.max > hi || lim.min > hi || lim.max < lo {
		return lim, defErr(CodeModelDefinePropRangeOverflow, id, "range [%v, %v] exceeds [%v, %v]", lim.min, lim.max, lo, hi)
	}
	if lim.min > lim.max {
		return lim, defErr(CodeModelDefinePropRangeError, id, "min %v > max %v", lim.min, lim.max)
	}
	if set[2] && (vals[2] < lim.min || vals[2] > lim.max) {
		return lim, defErr(CodeModelDefinePropRangeError, id, "start %v outside [%v, %v]", vals[2], lim.min, lim.max)
	}
	if set[3] {
		if vals[3] <= 0 {
			return lim, defErr(CodeModelDefinePropRangeError, id, "step %v must be > 0", vals[3])
		}
		if lim.max > lim.min && vals[3] > lim.max-lim.min {
			return lim, defErr(CodeModelDefinePropRangeError, id, "step %v larger than the range %v", vals[3], lim.max-lim.min)
		}
	}
	return lim, nil
}

func compileInt(id string, d *Define) (*checker, error) {
	lim, err := compileNumeric(id, d, minInt, maxInt, true)
	if err != nil {
		return nil, err
	}
	return &checker{kind: kindInt, imin: int64(lim.min), imax: int64(lim.max)}, nil
}

func compileFloat(id string, d *Define) (*checker, error) {
	lim, err := compileNumeric(id, d, -maxFloat, maxFloat, false)
	if err != nil {
		return nil, err
	}
	return &checker{kind: kindFloat, fmin: lim.min, fmax: lim.max}, nil
}

func compileString(id string, d *Define) (*checker, error) {
	c := &checker{kind: kindString, smin: 0, smax: MaxStringLen}
	lo, loSet, err := parseLimit(id, "min", d.Min)
	if err != nil {
		return nil, err
	}
	hi, hiSet, err := parseLimit(id, "max", d.Max)
	if err != nil {
		return nil, err
	}
	if (loSet && lo != math.Trunc(lo)) || (hiSet && hi != math.Trunc(hi)) {
		return nil, defErr(CodeModelDefinePropRangeError, id, "string length limits must be integers")
	}
	if loSet {
		if lo < 0 {
			return nil, defErr(CodeModelDefinePropRangeError, id, "min length %v < 0", lo)
		}
		if lo > MaxStringLen {
			return nil, defErr(CodeModelDefinePropRangeOverflow, id, "min length %v > %d", lo, MaxStringLen)
		}
		c.smin = int(lo)
	}
	if hiSet {
		if hi > MaxStringLen {
			return nil, defErr(CodeModelDefinePropRangeOverflow, id, "max length %v > %d", hi, MaxStringLen)
		}
		if hi < 0 {
			return nil, defErr(CodeModelDefinePropRangeError, id, "max length %v < 0", hi)
		}
		c.smax = int(hi)
	}
	if c.smin > c.smax {
		return nil, defErr(CodeModelDefinePropRangeError, id, "min length %d > max length %d", c.smin, c.smax)
	}
	return c, nil
}

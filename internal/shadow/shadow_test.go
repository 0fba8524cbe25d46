package shadow

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/thingmodel"
	"github.com/thingo-iot/thingo/protocol"
)

// memData keeps one device's values and pending control like devicedata.
type memData struct {
	mu      sync.Mutex
	model   *thingmodel.Model
	values  map[string]devicedata.PropertyValue
	control *devicedata.Control
}

func (d *memData) Model(context.Context, string) (*thingmodel.Model, error) {
	if d.model == nil {
		return nil, devicedata.ErrNoModel
	}
	return d.model, nil
}

func (d *memData) Status(context.Context, string, string) (devicedata.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var st devicedata.Status
	for _, v := range d.values {
		st.Reported = append(st.Reported, v)
	}
	if d.control != nil {
		c := *d.control
		st.Control = &c
	}
	return st, nil
}

func (d *memData) Write(_ context.Context, b devicedata.Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range b.Reports {
		for _, v := range r.Values {
			v.UpdatedAt = r.At
			d.values[v.ID] = v
		}
	}
	for _, c := range b.Controls {
		if c.Params == nil {
			d.control = nil
			continue
		}
		m := map[string]json.RawMessage{}
		if d.control != nil {
			_ = json.Unmarshal(d.control.Params, &m)
		}
		for k, v := range c.Params {
			m[k] = v
		}
		p, _ := json.Marshal(m)
		d.control = &devicedata.Control{Params: p, ClientToken: c.ClientToken, UpdatedAt: c.At}
	}
	return nil
}

type capture struct {
	mu  sync.Mutex
	out []string
}

func (c *capture) Publish(_ context.Context, _, _, topic string, payload []byte, _ byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if topic != "$shadow/operation/result/PID0000001/dev" {
		panic("wrong topic " + topic)
	}
	c.out = append(c.out, string(payload))
	return nil
}

const lightModel = `{"version":"1.0","properties":[
 {"id":"power","name":"p","mode":"rw","define":{"type":"bool","mapping":{"0":"off","1":"on"}}},
 {"id":"level","name":"l","mode":"rw","define":{"type":"int","min":"0","max":"100","start":"0","step":"1","unit":""}}]}`

func TestHandleUplink(t *testing.T) {
	model, err := thingmodel.Parse([]byte(lightModel))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		model    *thingmodel.Model
		requests []string
		want     []string // substrings of the messages sent, in order
	}{
		{"get empty", nil, []string{`{"type":"get","clientToken":"t1"}`},
			[]string{`{"type":"get","clientToken":"t1","result":0,"timestamp":1000,"payload":{"state":{"reported":{}},"version":0}}`}},
		{"update reported", nil, []string{`{"type":"update","state":{"reported":{"x":1}},"clientToken":"t2"}`},
			[]string{`"type":"update","clientToken":"t2","result":0`, `"reported":{"x":1}},"version":1000000}`}},
		{"desired makes delta", nil, []string{`{"type":"update","state":{"reported":{"x":1,"y":2},"desired":{"x":5,"y":2}}}`},
			[]string{`"desired":{"x":5,"y":2}`, `{"type":"delta","timestamp":1000,"payload":{"state":{"x":5},"version":1000000}}`}},
		{"desired null clears", nil, []string{
			`{"type":"update","state":{"desired":{"x":5}}}`, `{"type":"update","state":{"reported":{"x":5},"desired":null}}`},
			[]string{`"desired":{"x":5}`, `"type":"delta"`, `{"type":"update","result":0,"timestamp":1000,"payload":{"state":{"reported":{"x":5}},"version":1000000}}`}},
		{"model validates reported", model, []string{`{"type":"update","state":{"reported":{"level":500}}}`},
			[]string{`{"type":"update","result":406,"timestamp":1000}`}},
		{"model accepts", model, []string{`{"type":"update","state":{"reported":{"level":50,"power":1}}}`},
			[]string{`"reported":{"level":50,"power":1}`}},
		{"bad json", nil, []string{`{`}, []string{`{"type":"error","result":400,"timestamp":1000}`}},
		{"unknown type", nil, []string{`{"type":"delete","clientToken":"z"}`}, []string{`{"type":"delete","clientToken":"z","result":400`}},
		{"update without state", nil, []string{`{"type":"update"}`}, []string{`{"type":"update","result":400`}},
		{"desired not object", nil, []string{`{"type":"update","state":{"desired":[1]}}`}, []string{`"result":400`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := &memData{model: tc.model, values: map[string]devicedata.PropertyValue{}}
			pub := &capture{}
			s := New(data, pub, nil, func() time.Time { return time.Unix(1000, 0) })
			for _, r := range tc.requests {
				s.HandleUplink(context.Background(), protocol.Topic{Family: protocol.FamilyShadow, Direction: protocol.Up,
					ProductID: "PID0000001", DeviceName: "dev"}, []byte(r))
			}
			all := strings.Join(pub.out, "\n")
			pos := 0
			for _, w := range tc.want {
				i := strings.Index(all[pos:], w)
				if i < 0 {
					t.Fatalf("sent:\n%s\nmissing (in order): %s", all, w)
				}
				pos += i + len(w)
			}
		})
	}
}

func TestDelta(t *testing.T) {
	tests := []struct {
		reported, desired, want string
	}{
		{`{}`, `{}`, `{}`},
		{`{"a":1}`, `{"a":1.0}`, `{}`},
		{`{"a":{"x":1,"y":2}}`, `{"a":{"y":2,"x":1}}`, `{}`},
		{`{"a":1}`, `{"a":2,"b":3}`, `{"a":2,"b":3}`},
	}
	for _, tc := range tests {
		var st State
		_ = json.Unmarshal([]byte(tc.reported), &st.Reported)
		_ = json.Unmarshal([]byte(tc.desired), &st.Desired)
		got, _ := json.Marshal(st.Delta())
		if string(got) != tc.want {
			t.Errorf("Delta(%s, %s) = %s, want %s", tc.reported, tc.desired, got, tc.want)
		}
	}
}

package sdk

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		min, max time.Duration
	}{
		{time.Second, 60 * time.Second},
		{10 * time.Millisecond, 10 * time.Millisecond},
		{time.Second, 3 * time.Second},
	}
	for _, tt := range tests {
		b := backoff{min: tt.min, max: tt.max}
		var last time.Duration
		for i := range 20 {
			d := b.next()
			if d < tt.min || d > tt.max {
				t.Fatalf("%v..%v attempt %d: %v out of range", tt.min, tt.max, i, d)
			}
			last = d
		}
		if last < tt.max/2 {
			t.Errorf("%v..%v: after 20 attempts still %v, want at least max/2", tt.min, tt.max, last)
		}
	}
}

func TestWaiters(t *testing.T) {
	w := newWaiters()
	ch, done := w.add("a")
	if w.deliver("b", []byte("x")) {
		t.Fatal("delivered to an unknown key")
	}
	if !w.deliver("a", []byte("reply")) {
		t.Fatal("not delivered")
	}
	if w.deliver("a", []byte("again")) {
		t.Fatal("delivered twice")
	}
	p, err := wait(context.Background(), ch)
	if err != nil || string(p) != "reply" {
		t.Fatalf("wait = %q, %v", p, err)
	}
	done()

	ch, done = w.add("c")
	done()
	if w.deliver("c", nil) {
		t.Fatal("delivered after done")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := wait(ctx, ch); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait = %v", err)
	}
}

func TestServerNow(t *testing.T) {
	sent := time.UnixMilli(1_603_334_906_000)
	tests := []struct {
		name     string
		received time.Time
		reply    timeReply
		want     time.Time
	}{
		{
			name: "server 10 s ahead, 100 ms each way", received: sent.Add(200 * time.Millisecond),
			reply: timeReply{Time: 1_603_334_916, NTPTime1: 1_603_334_916_100, NTPTime2: 1_603_334_916_100},
			want:  sent.Add(10*time.Second + 200*time.Millisecond),
		},
		{
			name: "server 5 s behind, 20 ms processing", received: sent.Add(100 * time.Millisecond),
			reply: timeReply{Time: 1_603_334_901, NTPTime1: 1_603_334_901_040, NTPTime2: 1_603_334_901_060},
			want:  sent.Add(-5*time.Second + 100*time.Millisecond),
		},
		{
			name: "no ntptime: time plus half the round trip", received: sent.Add(2 * time.Second),
			reply: timeReply{Time: 1_700_000_000},
			want:  time.Unix(1_700_000_001, 0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serverNow(sent, tt.received, tt.reply); !got.Equal(tt.want) {
				t.Errorf("serverNow = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseTimeReply(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"type":"get","time":1603334906,"ntptime1":1603334906594,"ntptime2":1603334906594}`, true},
		{`{"type":"get","time":1603334906}`, true},
		{`{"type":"get","ntptime1":1603334906594,"ntptime2":1603334906594}`, true},
		{`{"type":"get"}`, false},
		{`{"type":"get","time":"soon"}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		_, err := parseTimeReply([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("parseTimeReply(%s) = %v", tt.in, err)
		}
		if err != nil && !errors.Is(err, ErrBadTimeReply) {
			t.Errorf("err = %v, want ErrBadTimeReply", err)
		}
	}
}

func TestParseDown(t *testing.T) {
	tests := []struct {
		in    string
		token string
		ok    bool
	}{
		{`{"method":"control","clientToken":"123","params":{"power_switch":1}}`, "123", true},
		{`{"method":"control","clientToken":123,"params":{}}`, "123", true},
		{`{"method" : "report_reply", "clientToken" : "a-1", "code" : 0, "status" : "ok"}`, "a-1", true},
		{`{"code":0,"clientToken":"x","status":"ok"}`, "x", true},
		{`{"method":"control","clientToken":true}`, "", false},
		{`{"method":"control","params":[1]}`, "", true}, // params are decoded when handled, see below
		{`[]`, "", false},
		{``, "", false},
	}
	for _, tt := range tests {
		m, err := parseDown([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("parseDown(%s) = %v", tt.in, err)
			continue
		}
		if string(m.ClientToken) != tt.token {
			t.Errorf("parseDown(%s).ClientToken = %q, want %q", tt.in, m.ClientToken, tt.token)
		}
	}
	for in, ok := range map[string]bool{
		`{"params":{"a":1}}`: true, `{"params":null}`: true, `{}`: true, `{"params":[1]}`: false, `{"params":"x"}`: false,
	} {
		m, err := parseDown([]byte(in))
		if err != nil {
			t.Fatalf("parseDown(%s): %v", in, err)
		}
		if _, err := m.params(); (err == nil) != ok {
			t.Errorf("parseDown(%s).params() error = %v, want ok %v", in, err, ok)
		}
	}
}

func FuzzParseDown(f *testing.F) {
	f.Add([]byte(`{"method":"control","clientToken":"123","params":{"power_switch":1}}`))
	f.Add([]byte(`{"method":"action","clientToken":1,"actionId":"openDoor","timestamp":1,"params":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"method":"get_status_reply","clientToken":"x","code":0,"data":{"reported":{},"control":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseDown(b)
	})
}

func FuzzParseTimeReply(f *testing.F) {
	f.Add([]byte(`{"type":"get","time":1603334906,"ntptime1":1603334906594,"ntptime2":1603334906594}`))
	f.Add([]byte(`{"type":"get","time":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseTimeReply(b)
		if err != nil {
			return
		}
		now := time.Now()
		_ = serverNow(now, now.Add(time.Millisecond), r)
	})
}

package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTopic(t *testing.T) {
	const pid, dn = "AB12CD34EF", "dev001"
	tests := []struct {
		topic string
		want  Topic
	}{
		{"$thing/up/property/AB12CD34EF/dev001", Topic{Family: FamilyThing, Direction: Up, Kind: KindProperty, ProductID: pid, DeviceName: dn}},
		{"$thing/down/raw/AB12CD34EF/dev001", Topic{Family: FamilyThing, Direction: Down, Kind: KindRaw, ProductID: pid, DeviceName: dn}},
		{"$thing/down/action/AB12CD34EF/dev001", Topic{Family: FamilyThing, Direction: Down, Kind: KindAction, ProductID: pid, DeviceName: dn}},
		{"$ota/report/AB12CD34EF/dev001", Topic{Family: FamilyOTA, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$ota/update/AB12CD34EF/dev001", Topic{Family: FamilyOTA, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$shadow/operation/AB12CD34EF/dev001", Topic{Family: FamilyShadow, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$shadow/operation/result/AB12CD34EF/dev001", Topic{Family: FamilyShadow, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$gateway/operation/AB12CD34EF/dev001", Topic{Family: FamilyGateway, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$gateway/operation/result/AB12CD34EF/dev001", Topic{Family: FamilyGateway, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$resource/up/service/AB12CD34EF/dev001", Topic{Family: FamilyResource, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$resource/down/service/AB12CD34EF/dev001", Topic{Family: FamilyResource, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$twecall/up/service/AB12CD34EF/dev001", Topic{Family: FamilyTWecall, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$twecall/down/service/AB12CD34EF/dev001", Topic{Family: FamilyTWecall, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$sys/operation/AB12CD34EF/dev001", Topic{Family: FamilySys, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$sys/operation/result/AB12CD34EF/dev001", Topic{Family: FamilySys, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$config/operation/AB12CD34EF/dev001", Topic{Family: FamilyConfig, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$config/operation/result/AB12CD34EF/dev001", Topic{Family: FamilyConfig, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$log/operation/AB12CD34EF/dev001", Topic{Family: FamilyLog, Direction: Up, ProductID: pid, DeviceName: dn}},
		{"$log/operation/result/AB12CD34EF/dev001", Topic{Family: FamilyLog, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$broadcast/rxd/AB12CD34EF/dev001", Topic{Family: FamilyBroadcast, Direction: Down, ProductID: pid, DeviceName: dn}},
		{"$rrpc/rxd/AB12CD34EF/dev001/42", Topic{Family: FamilyRRPC, Direction: Down, ProductID: pid, DeviceName: dn, Rest: "42"}},
		{"$rrpc/txd/AB12CD34EF/dev001/42", Topic{Family: FamilyRRPC, Direction: Up, ProductID: pid, DeviceName: dn, Rest: "42"}},
		{"AB12CD34EF/dev001/control", Topic{Family: FamilyCustom, ProductID: pid, DeviceName: dn, Rest: "control"}},
		{"AB12CD34EF/dev001/a/b/c", Topic{Family: FamilyCustom, ProductID: pid, DeviceName: dn, Rest: "a/b/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			got, err := ParseTopic(tt.topic)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.topic {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

func TestParseTopicRejects(t *testing.T) {
	for _, topic := range []string{
		"",
		"$thing/up/property/AB12CD34EF",
		"$thing/up/unknown/AB12CD34EF/dev001",
		"$thing/sideways/property/AB12CD34EF/dev001",
		"$thing/up/property/AB12CD34EF/dev001/extra",
		"$thing/up/property/ab12cd34ef/dev001",
		"$thing/up/property/AB12CD34EF/+",
		"$thing/up/property/AB12CD34EF/#",
		"$ota/report/AB12CD34EF",
		"$ota/nope/AB12CD34EF/dev001",
		"$rrpc/rxd/AB12CD34EF/dev001",
		"$rrpc/xxd/AB12CD34EF/dev001/1",
		"$rrpc/rxd/AB12CD34EF/dev001/1/2",
		"$unknown/AB12CD34EF/dev001",
		"AB12CD34EF/dev001",
		"AB12CD34EF/dev001/",
		"AB12CD34EF//x",
		"AB12CD34EF/dev001//x",
		"AB12CD34EF/dev 1/x",
		"/AB12CD34EF/dev001/x",
		"AB12CD34EF/" + strings.Repeat("d", 49) + "/x",
	} {
		if got, err := ParseTopic(topic); !errors.Is(err, ErrNotPlatformTopic) {
			t.Errorf("ParseTopic(%q) = %+v, %v", topic, got, err)
		}
	}
}

func TestBuilders(t *testing.T) {
	const pid, dn = "AB12CD34EF", "dev001"
	tests := []struct{ got, want string }{
		{ThingUp(KindEvent, pid, dn), "$thing/up/event/AB12CD34EF/dev001"},
		{ThingDown(KindService, pid, dn), "$thing/down/service/AB12CD34EF/dev001"},
		{FamilyTopic(FamilyOTA, Down, pid, dn), "$ota/update/AB12CD34EF/dev001"},
		{FamilyTopic(FamilyShadow, Down, pid, dn), "$shadow/operation/result/AB12CD34EF/dev001"},
		{FamilyTopic(FamilyBroadcast, Down, pid, dn), "$broadcast/rxd/AB12CD34EF/dev001"},
		{FamilyTopic(FamilyBroadcast, Up, pid, dn), ""},
		{FamilyTopic(FamilyThing, Up, pid, dn), ""},
		{RRPCRequest(pid, dn, "7"), "$rrpc/rxd/AB12CD34EF/dev001/7"},
		{RRPCReply(pid, dn, "7"), "$rrpc/txd/AB12CD34EF/dev001/7"},
		{CustomTopic(pid, dn, "x/y"), "AB12CD34EF/dev001/x/y"},
		{ClientID(pid, dn), "AB12CD34EFdev001"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestValidNames(t *testing.T) {
	for _, tt := range []struct {
		s       string
		pid, dn bool
	}{
		{"ABCDEF1234", true, true},
		{"abcdef1234", false, true},
		{"ABCDEF123", false, true},
		{"ABCDEF12345", false, true},
		{"a:b_c-D9", false, true},
		{"", false, false},
		{"a/b", false, false},
		{"a+b", false, false},
		{strings.Repeat("x", 48), false, true},
		{strings.Repeat("x", 49), false, false},
		{"ÄBCDEF1234", false, false},
	} {
		if got := ValidProductID(tt.s); got != tt.pid {
			t.Errorf("ValidProductID(%q) = %v", tt.s, got)
		}
		if got := ValidDeviceName(tt.s); got != tt.dn {
			t.Errorf("ValidDeviceName(%q) = %v", tt.s, got)
		}
	}
}

func FuzzParseTopic(f *testing.F) {
	f.Add("$thing/up/property/AB12CD34EF/dev001")
	f.Add("$shadow/operation/result/AB12CD34EF/dev001")
	f.Add("$rrpc/rxd/AB12CD34EF/dev001/42")
	f.Add("AB12CD34EF/dev001/a/b")
	f.Add("$ota//")
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTopic(s)
		if err != nil {
			return
		}
		if !ValidProductID(tp.ProductID) || !ValidDeviceName(tp.DeviceName) {
			t.Fatalf("accepted invalid identity: %+v", tp)
		}
		if tp.String() != s {
			t.Fatalf("String() = %q, want %q", tp.String(), s)
		}
	})
}

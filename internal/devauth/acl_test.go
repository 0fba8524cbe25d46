package devauth

import (
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
)

const (
	pid = "AB12CD34EF"
	dn  = "dev001"
)

func testPolicies() []registry.TopicPolicy {
	return []registry.TopicPolicy{
		{ProductID: pid, Name: "up", Privilege: registry.PrivilegePublish},
		{ProductID: pid, Name: "down", Privilege: registry.PrivilegeSubscribe},
		{ProductID: pid, Name: "both/x", Privilege: registry.PrivilegeBoth},
		{ProductID: "OTHERPID00", Name: "foreign", Privilege: registry.PrivilegeBoth},
		{ProductID: pid, Name: "wild/+", Privilege: registry.PrivilegeBoth},
		{ProductID: pid, Name: "", Privilege: registry.PrivilegeBoth},
		{ProductID: pid, Name: "a//b", Privilege: registry.PrivilegeBoth},
	}
}

func TestACLPublish(t *testing.T) {
	normal := NewACL(pid, dn, false, testPolicies())
	gateway := NewACL(pid, dn, true, nil)
	tests := []struct {
		topic      string
		normal, gw bool
	}{
		{"AB12CD34EF/dev001/event", true, true},
		{"AB12CD34EF/dev001/data", true, true},
		{"AB12CD34EF/dev001/control", false, false},
		{"AB12CD34EF/dev001/up", true, false},
		{"AB12CD34EF/dev001/down", false, false},
		{"AB12CD34EF/dev001/both/x", true, false},
		{"AB12CD34EF/dev001/foreign", false, false},
		{"AB12CD34EF/dev001/wild/+", false, false},
		{"AB12CD34EF/dev001/wild/1", false, false},
		{"$thing/up/property/AB12CD34EF/dev001", true, true},
		{"$thing/up/event/AB12CD34EF/dev001", true, true},
		{"$thing/up/action/AB12CD34EF/dev001", true, true},
		{"$thing/up/service/AB12CD34EF/dev001", true, true},
		{"$thing/up/raw/AB12CD34EF/dev001", true, true},
		{"$thing/down/property/AB12CD34EF/dev001", false, false},
		{"$thing/up/property/AB12CD34EF/dev002", false, false},
		{"$thing/up/property/AB12CD34EE/dev001", false, false},
		{"$ota/report/AB12CD34EF/dev001", true, true},
		{"$ota/update/AB12CD34EF/dev001", false, false},
		{"$shadow/operation/AB12CD34EF/dev001", true, true},
		{"$shadow/operation/result/AB12CD34EF/dev001", false, false},
		{"$gateway/operation/AB12CD34EF/dev001", false, true},
		{"$gateway/operation/result/AB12CD34EF/dev001", false, false},
		{"$resource/up/service/AB12CD34EF/dev001", true, true},
		{"$resource/down/service/AB12CD34EF/dev001", false, false},
		{"$twecall/up/service/AB12CD34EF/dev001", true, true},
		{"$twecall/down/service/AB12CD34EF/dev001", false, false},
		{"$sys/operation/AB12CD34EF/dev001", true, true},
		{"$sys/operation/result/AB12CD34EF/dev001", false, false},
		{"$config/operation/AB12CD34EF/dev001", true, true},
		{"$config/operation/result/AB12CD34EF/dev001", false, false},
		{"$log/operation/AB12CD34EF/dev001", true, true},
		{"$log/operation/result/AB12CD34EF/dev001", false, false},
		{"$broadcast/rxd/AB12CD34EF/dev001", false, false},
		{"$rrpc/txd/AB12CD34EF/dev001/123", true, true},
		{"$rrpc/txd/AB12CD34EF/dev001/", false, false},
		{"$rrpc/txd/AB12CD34EF/dev001", false, false},
		{"$rrpc/txd/AB12CD34EF/dev001/1/2", false, false},
		{"$rrpc/txd/AB12CD34EF/dev001/+", false, false},
		{"$rrpc/txd/AB12CD34EF/dev002/1", false, false},
		{"$rrpc/rxd/AB12CD34EF/dev001/1", false, false},
		{"$thing/up/+/AB12CD34EF/dev001", false, false},
		{"#", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			if got := normal.CanPublish(tt.topic); got != tt.normal {
				t.Errorf("normal: CanPublish = %v, want %v", got, tt.normal)
			}
			if got := gateway.CanPublish(tt.topic); got != tt.gw {
				t.Errorf("gateway: CanPublish = %v, want %v", got, tt.gw)
			}
		})
	}
}

func TestACLSubscribe(t *testing.T) {
	normal := NewACL(pid, dn, false, testPolicies())
	gateway := NewACL(pid, dn, true, nil)
	tests := []struct {
		filter     string
		normal, gw bool
	}{
		// Exact topics.
		{"AB12CD34EF/dev001/control", true, true},
		{"AB12CD34EF/dev001/data", true, true},
		{"AB12CD34EF/dev001/event", false, false},
		{"AB12CD34EF/dev001/down", true, false},
		{"AB12CD34EF/dev001/up", false, false},
		{"AB12CD34EF/dev001/both/x", true, false},
		{"$thing/down/property/AB12CD34EF/dev001", true, true},
		{"$thing/down/event/AB12CD34EF/dev001", true, true},
		{"$thing/down/action/AB12CD34EF/dev001", true, true},
		{"$thing/down/service/AB12CD34EF/dev001", true, true},
		{"$thing/down/raw/AB12CD34EF/dev001", true, true},
		{"$thing/up/property/AB12CD34EF/dev001", false, false},
		{"$thing/down/property/AB12CD34EF/dev002", false, false},
		{"$ota/update/AB12CD34EF/dev001", true, true},
		{"$ota/report/AB12CD34EF/dev001", false, false},
		{"$shadow/operation/result/AB12CD34EF/dev001", true, true},
		{"$gateway/operation/result/AB12CD34EF/dev001", false, true},
		{"$gateway/operation/AB12CD34EF/dev001", false, false},
		{"$resource/down/service/AB12CD34EF/dev001", true, true},
		{"$twecall/down/service/AB12CD34EF/dev001", true, true},
		{"$sys/operation/result/AB12CD34EF/dev001", true, true},
		{"$config/operation/result/AB12CD34EF/dev001", true, true},
		{"$log/operation/result/AB12CD34EF/dev001", true, true},
		{"$broadcast/rxd/AB12CD34EF/dev001", true, true},
		{"$rrpc/rxd/AB12CD34EF/dev001/+", true, true},
		{"$rrpc/rxd/AB12CD34EF/dev001/77", true, true},
		{"$rrpc/rxd/AB12CD34EF/dev001/#", true, true},
		{"$rrpc/txd/AB12CD34EF/dev001/+", false, false},
		{"$rrpc/rxd/AB12CD34EF/dev002/+", false, false},
		// Wildcards inside the device's space.
		{"$thing/down/+/AB12CD34EF/dev001", true, true},
		{"$thing/down/+/AB12CD34EF/dev001/#", true, true},
		{"$thing/down/+/AB12CD34EF/+", false, false},
		{"$thing/+/property/AB12CD34EF/dev001", false, false}, // covers up
		{"$thing/+/+/AB12CD34EF/dev001", false, false},
		{"$thing/down/#", false, false},
		{"$thing/#", false, false},
		{"$shadow/operation/+/AB12CD34EF/dev001", true, true},
		{"$shadow/+/AB12CD34EF/dev001", false, false},           // covers the publish topic
		{"$+/operation/result/AB12CD34EF/dev001", false, false}, // invalid filter
		{"$gateway/operation/+/AB12CD34EF/dev001", false, true},
		{"AB12CD34EF/dev001/#", false, false}, // covers /event
		{"AB12CD34EF/dev001/+", false, false},
		{"AB12CD34EF/dev001/both/+", true, false},
		{"AB12CD34EF/+/control", false, false},
		{"AB12CD34EF/#", false, false},
		{"AB12CD34EF/dev001/nothing/#", false, false}, // matches no topic of the device
		// Shifted identity: would match another device's topics.
		{"$rrpc/+/+/AB12CD34EF/dev001", false, false},
		{"$thing/down/AB12CD34EF/dev001/#", false, false},
		// Invalid or global filters.
		{"#", false, false},
		{"+/+/+/+/+", false, false},
		{"+/dev001/control", false, false},
		{"$thing/down/prop+/AB12CD34EF/dev001", false, false},
		{"$thing/down/#/AB12CD34EF/dev001", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			if got := normal.CanSubscribe(tt.filter); got != tt.normal {
				t.Errorf("normal: CanSubscribe = %v, want %v", got, tt.normal)
			}
			if got := gateway.CanSubscribe(tt.filter); got != tt.gw {
				t.Errorf("gateway: CanSubscribe = %v, want %v", got, tt.gw)
			}
		})
	}
}

func TestACLExtra(t *testing.T) {
	const sub = "$thing/up/property/SUBPROD001/sub1"
	a := NewACL(pid, dn, true, nil)
	var asked []string
	a.Extra = func(topic string, publish bool) bool {
		asked = append(asked, topic)
		return topic == sub && publish
	}
	if !a.CanPublish(sub) {
		t.Error("Extra grant ignored")
	}
	if a.CanSubscribe(sub) {
		t.Error("Extra refusal ignored")
	}
	if !a.CanPublish("$thing/up/property/AB12CD34EF/dev001") {
		t.Error("own topic refused")
	}
	if len(asked) != 2 {
		t.Errorf("Extra asked %v; want only for topics the device's own rules refuse", asked)
	}
	if got := a.ProductID() + "/" + a.DeviceName(); got != pid+"/"+dn {
		t.Errorf("identity %q", got)
	}
}

func BenchmarkCanPublish(b *testing.B) {
	a := NewACL(pid, dn, false, testPolicies())
	topics := []string{
		"$thing/up/property/AB12CD34EF/dev001",
		"$rrpc/txd/AB12CD34EF/dev001/123",
		"$thing/up/property/AB12CD34EF/dev002",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.CanPublish(topics[i%len(topics)])
		i++
	}
}

func BenchmarkCanSubscribeWildcard(b *testing.B) {
	a := NewACL(pid, dn, false, testPolicies())
	b.ReportAllocs()
	for b.Loop() {
		if !a.CanSubscribe("$thing/down/+/AB12CD34EF/dev001") {
			b.Fatal("refused")
		}
	}
}

// FuzzCanSubscribe checks that no granted filter reaches a topic of another
// device, or a publish-only topic of the device itself.
func FuzzCanSubscribe(f *testing.F) {
	for _, s := range []string{
		"$thing/down/+/AB12CD34EF/dev001",
		"$rrpc/rxd/AB12CD34EF/dev001/#",
		"AB12CD34EF/dev001/#",
		"$shadow/operation/+/AB12CD34EF/dev001",
		"$rrpc/+/+/AB12CD34EF/dev001",
		"#",
	} {
		f.Add(s)
	}
	a := NewACL(pid, dn, true, testPolicies())
	others := []*ACL{
		NewACL(pid, "dev002", true, testPolicies()),
		NewACL("OTHERPID00", dn, true, testPolicies()),
		NewACL(pid, pid, true, nil),
		NewACL(pid, dn+"x", true, nil),
	}
	// Templates are compiled lazily; the checks below read them directly.
	a.once.Do(a.compileTemplates)
	for _, o := range others {
		o.once.Do(o.compileTemplates)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		if !a.CanSubscribe(filter) {
			return
		}
		levels, ok := splitFilter(filter)
		if !ok {
			t.Fatalf("granted invalid filter %q", filter)
		}
		for _, tm := range a.templates {
			if !tm.sub && overlaps(levels, tm.levels) {
				t.Fatalf("%q reaches publish-only %v", filter, tm.levels)
			}
		}
		for _, o := range others {
			for _, tm := range o.templates {
				if overlaps(levels, tm.levels) {
					t.Fatalf("%q reaches %v of another device", filter, tm.levels)
				}
			}
		}
	})
}

// setACLTopics is how NewACL listed a device's exact topics before the
// structural check: the reference for exactTopics.
func setACLTopics(pid, dn string, gateway bool, policies []registry.TopicPolicy) map[string]right {
	out := map[string]right{}
	id := pid + "/" + dn
	add := func(topic string, r right) { out[topic] |= r }
	add(id+"/control", canSub)
	add(id+"/event", canPub)
	add(id+"/data", canPub|canSub)
	for _, p := range policies {
		if p.ProductID != "" && p.ProductID != pid || !validPolicyName(p.Name) {
			continue
		}
		add(id+"/"+p.Name, policyRight(p))
	}
	for _, k := range []string{"property", "event", "action", "service", "raw"} {
		add("$thing/up/"+k+"/"+id, canPub)
		add("$thing/down/"+k+"/"+id, canSub)
	}
	pairs := [][2]string{
		{"$ota/report", "$ota/update"},
		{"$shadow/operation", "$shadow/operation/result"},
		{"$resource/up/service", "$resource/down/service"},
		{"$twecall/up/service", "$twecall/down/service"},
		{"$sys/operation", "$sys/operation/result"},
		{"$config/operation", "$config/operation/result"},
		{"$log/operation", "$log/operation/result"},
	}
	if gateway {
		pairs = append(pairs, [2]string{"$gateway/operation", "$gateway/operation/result"})
	}
	for _, p := range pairs {
		add(p[0]+"/"+id, canPub)
		add(p[1]+"/"+id, canSub)
	}
	add("$broadcast/rxd/"+id, canSub)
	return out
}

// aclCases are ACLs whose exact topics the tests below enumerate, including
// custom topics that repeat a built-in name with other rights, a policy of
// no product, and a device named like a topic level.
func aclCases() []*ACL {
	ps := aclCasePolicies()
	return []*ACL{
		NewACL(pid, dn, false, ps[0]),
		NewACL(pid, dn, true, ps[1]),
		NewACL(pid, "operation", true, ps[2]),
		NewACL("$thing", "up", false, ps[3]),
	}
}

// aclCasePolicies are the policies of aclCases, in order.
func aclCasePolicies() [][]registry.TopicPolicy {
	overlapping := append(testPolicies(),
		registry.TopicPolicy{ProductID: pid, Name: "control", Privilege: registry.PrivilegePublish},
		registry.TopicPolicy{ProductID: "", Name: "event", Privilege: registry.PrivilegeSubscribe},
		registry.TopicPolicy{ProductID: pid, Name: "up", Privilege: registry.PrivilegeSubscribe},
	)
	return [][]registry.TopicPolicy{testPolicies(), overlapping, nil, overlapping}
}

func TestACLExactTopics(t *testing.T) {
	for i, a := range aclCases() {
		want := setACLTopics(a.productID, a.deviceName, a.gateway, aclCasePolicies()[i])
		got := a.exactTopics()
		if len(got) != len(want) {
			t.Errorf("%s/%s: %d exact topics, want %d", a.productID, a.deviceName, len(got), len(want))
		}
		for topic, r := range want {
			if got[topic] != r {
				t.Errorf("%s/%s: exactTopics[%q] = %b, want %b", a.productID, a.deviceName, topic, got[topic], r)
			}
			if a.rights(topic) != r {
				t.Errorf("%s/%s: rights(%q) = %b, want %b", a.productID, a.deviceName, topic, a.rights(topic), r)
			}
			for _, near := range []string{topic + "/x", "x/" + topic, topic[1:], topic[:len(topic)-1], topic + "/"} {
				if _, listed := want[near]; !listed && a.rights(near) != 0 {
					t.Errorf("%s/%s: rights(%q) = %b, want none", a.productID, a.deviceName, near, a.rights(near))
				}
			}
		}
	}
}

// FuzzACLRights checks the structural check against the enumeration of the
// device's exact topics: any string is a topic of the device with the same
// rights in both, or in neither.
func FuzzACLRights(f *testing.F) {
	for _, s := range []string{"$thing/up/property/AB12CD34EF/dev001", "AB12CD34EF/dev001/both/x",
		"AB12CD34EF/dev001/", "/AB12CD34EF/dev001", "$gateway/operation/AB12CD34EF/dev001"} {
		f.Add(s)
	}
	cases := aclCases()
	exact := make([]map[string]right, len(cases))
	for i, a := range cases {
		exact[i] = a.exactTopics()
	}
	f.Fuzz(func(t *testing.T, topic string) {
		for i, a := range cases {
			if got, want := a.rights(topic), exact[i][topic]; got != want {
				t.Fatalf("%s/%s: rights(%q) = %b, enumeration says %b", a.productID, a.deviceName, topic, got, want)
			}
		}
	})
}

func BenchmarkNewACL(b *testing.B) {
	policies := testPolicies()
	b.ReportAllocs()
	for b.Loop() {
		NewACL(pid, dn, false, policies)
	}
}

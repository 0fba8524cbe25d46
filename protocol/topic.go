package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Family is a group of platform topics (PROTOCOL.md §2, §13.9, §13.10).
type Family string

// Topic families.
const (
	FamilyThing     Family = "thing"     // $thing/{up,down}/{kind}/{pid}/{dn}
	FamilyOTA       Family = "ota"       // $ota/report, $ota/update
	FamilyShadow    Family = "shadow"    // $shadow/operation[/result]
	FamilyGateway   Family = "gateway"   // $gateway/operation[/result]
	FamilyResource  Family = "resource"  // $resource/{up,down}/service
	FamilyTWecall   Family = "twecall"   // $twecall/{up,down}/service
	FamilySys       Family = "sys"       // $sys/operation[/result]
	FamilyConfig    Family = "config"    // $config/operation[/result]
	FamilyLog       Family = "log"       // $log/operation[/result]
	FamilyBroadcast Family = "broadcast" // $broadcast/rxd (down only)
	FamilyRRPC      Family = "rrpc"      // $rrpc/txd|rxd/{pid}/{dn}/{id}
	FamilyCustom    Family = "custom"    // {pid}/{dn}/<name>
)

// Direction says who publishes on a topic.
type Direction int

// Directions.
const (
	Up   Direction = iota + 1 // device → platform
	Down                      // platform → device
)

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	default:
		return "unknown"
	}
}

// Kinds of $thing topics (the thing model protocol, PROTOCOL.md §5).
const (
	KindProperty = "property"
	KindEvent    = "event"
	KindAction   = "action"
	KindService  = "service"
	KindRaw      = "raw"
)

// ErrNotPlatformTopic is returned by ParseTopic for a topic that is not one
// of the platform's device topics.
var ErrNotPlatformTopic = errors.New("not a platform device topic")

// Topic is a parsed platform topic.
type Topic struct {
	Family     Family
	Direction  Direction
	Kind       string // $thing kind; empty for other families
	ProductID  string
	DeviceName string
	// Rest is the RRPC process id, or the custom topic's name (the part
	// after `{pid}/{dn}/`, which may contain '/'). Custom topics have no
	// inherent direction: Direction is 0 for them.
	Rest string
}

// prefixes maps the fixed families' topic prefixes (before `/{pid}/{dn}`).
var prefixes = []struct {
	prefix string
	family Family
	dir    Direction
}{
	{"$ota/report", FamilyOTA, Up},
	{"$ota/update", FamilyOTA, Down},
	{"$shadow/operation", FamilyShadow, Up},
	{"$shadow/operation/result", FamilyShadow, Down},
	{"$gateway/operation", FamilyGateway, Up},
	{"$gateway/operation/result", FamilyGateway, Down},
	{"$resource/up/service", FamilyResource, Up},
	{"$resource/down/service", FamilyResource, Down},
	{"$twecall/up/service", FamilyTWecall, Up},
	{"$twecall/down/service", FamilyTWecall, Down},
	{"$sys/operation", FamilySys, Up},
	{"$sys/operation/result", FamilySys, Down},
	{"$config/operation", FamilyConfig, Up},
	{"$config/operation/result", FamilyConfig, Down},
	{"$log/operation", FamilyLog, Up},
	{"$log/operation/result", FamilyLog, Down},
	{"$broadcast/rxd", FamilyBroadcast, Down},
}

// ParseTopic parses a platform device topic. It validates the product id
// and device name, and refuses wildcards and empty levels.
func ParseTopic(topic string) (Topic, error) {
	if topic == "" || strings.ContainsAny(topic, "+#\x00") {
		return Topic{}, fmt.Errorf("%w: %q", ErrNotPlatformTopic, topic)
	}
	levels := strings.Split(topic, "/")
	for _, l := range levels {
		if l == "" {
			return Topic{}, fmt.Errorf("%w: empty level in %q", ErrNotPlatformTopic, topic)
		}
	}
	var t Topic
	var ok bool
	switch {
	case levels[0] == "$thing":
		t, ok = parseThing(levels)
	case levels[0] == "$rrpc":
		t, ok = parseRRPC(levels)
	case strings.HasPrefix(levels[0], "$"):
		t, ok = parseFixed(levels)
	default:
		t, ok = parseCustom(levels)
	}
	if !ok {
		return Topic{}, fmt.Errorf("%w: %q", ErrNotPlatformTopic, topic)
	}
	return t, nil
}

func parseThing(l []string) (Topic, bool) {
	if len(l) != 5 || !validKind(l[2]) || !validIdentity(l[3], l[4]) {
		return Topic{}, false
	}
	t := Topic{Family: FamilyThing, Kind: l[2], ProductID: l[3], DeviceName: l[4]}
	switch l[1] {
	case "up":
		t.Direction = Up
	case "down":
		t.Direction = Down
	default:
		return Topic{}, false
	}
	return t, true
}

func parseRRPC(l []string) (Topic, bool) {
	if len(l) != 5 || !validIdentity(l[2], l[3]) {
		return Topic{}, false
	}
	t := Topic{Family: FamilyRRPC, ProductID: l[2], DeviceName: l[3], Rest: l[4]}
	switch l[1] {
	case "txd":
		t.Direction = Up
	case "rxd":
		t.Direction = Down
	default:
		return Topic{}, false
	}
	return t, true
}

func parseFixed(l []string) (Topic, bool) {
	if len(l) < 4 {
		return Topic{}, false
	}
	prefix := strings.Join(l[:len(l)-2], "/")
	for _, p := range prefixes {
		if p.prefix == prefix {
			pid, dn := l[len(l)-2], l[len(l)-1]
			if !validIdentity(pid, dn) {
				return Topic{}, false
			}
			return Topic{Family: p.family, Direction: p.dir, ProductID: pid, DeviceName: dn}, true
		}
	}
	return Topic{}, false
}

func parseCustom(l []string) (Topic, bool) {
	if len(l) < 3 || !validIdentity(l[0], l[1]) {
		return Topic{}, false
	}
	return Topic{Family: FamilyCustom, ProductID: l[0], DeviceName: l[1], Rest: strings.Join(l[2:], "/")}, true
}

func validIdentity(pid, dn string) bool { return ValidProductID(pid) && ValidDeviceName(dn) }

func validKind(k string) bool {
	switch k {
	case KindProperty, KindEvent, KindAction, KindService, KindRaw:
		return true
	}
	return false
}

// String builds the topic; it is the inverse of ParseTopic for the topics
// ParseTopic accepts, and returns "" for a Topic that names no topic.
func (t Topic) String() string {
	id := t.ProductID + "/" + t.DeviceName
	switch t.Family {
	case FamilyThing:
		switch t.Direction {
		case Up:
			return "$thing/up/" + t.Kind + "/" + id
		case Down:
			return "$thing/down/" + t.Kind + "/" + id
		}
	case FamilyRRPC:
		switch t.Direction {
		case Up:
			return "$rrpc/txd/" + id + "/" + t.Rest
		case Down:
			return "$rrpc/rxd/" + id + "/" + t.Rest
		}
	case FamilyCustom:
		return id + "/" + t.Rest
	default:
		for _, p := range prefixes {
			if p.family == t.Family && p.dir == t.Direction {
				return p.prefix + "/" + id
			}
		}
	}
	return ""
}

// ThingUp returns `$thing/up/{kind}/{pid}/{dn}`.
func ThingUp(kind, pid, dn string) string { return "$thing/up/" + kind + "/" + pid + "/" + dn }

// ThingDown returns `$thing/down/{kind}/{pid}/{dn}`.
func ThingDown(kind, pid, dn string) string { return "$thing/down/" + kind + "/" + pid + "/" + dn }

// FamilyTopic returns the topic of a fixed family (not FamilyThing,
// FamilyRRPC or FamilyCustom) in direction d, e.g.
// FamilyTopic(FamilyOTA, Down, pid, dn) = `$ota/update/{pid}/{dn}`. It
// returns "" for a family and direction without a topic.
func FamilyTopic(f Family, d Direction, pid, dn string) string {
	switch f {
	case FamilyThing, FamilyRRPC, FamilyCustom:
		return ""
	}
	return Topic{Family: f, Direction: d, ProductID: pid, DeviceName: dn}.String()
}

// RRPCRequest returns `$rrpc/rxd/{pid}/{dn}/{id}` (platform → device).
func RRPCRequest(pid, dn, id string) string { return "$rrpc/rxd/" + pid + "/" + dn + "/" + id }

// RRPCReply returns `$rrpc/txd/{pid}/{dn}/{id}` (device → platform).
func RRPCReply(pid, dn, id string) string { return "$rrpc/txd/" + pid + "/" + dn + "/" + id }

// CustomTopic returns `{pid}/{dn}/{name}`.
func CustomTopic(pid, dn, name string) string { return pid + "/" + dn + "/" + name }

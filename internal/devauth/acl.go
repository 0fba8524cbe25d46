package devauth

import (
	"slices"
	"strings"
	"sync"

	"github.com/thingo-iot/thingo/internal/registry"
)

// ACL is what one connected device may publish and subscribe to, compiled
// once at CONNECT from PROTOCOL.md §2 (plus §13.10's RRPC, broadcast and
// remote config, and §13.9's log topics) and the product's custom topic
// policies. Checks do no I/O and allocate nothing for exact topics.
//
// Exact topics are checked by their shape: a topic family followed by
// {pid}/{dn}, or {pid}/{dn}/ followed by a name (the suffix topics and the
// custom topics), so that an idle connection's ACL holds a few strings, not
// a set of every topic of the device. A subscription filter that contains
// wildcards ('+', '#') is granted only when all of these hold:
//
//  1. it is a valid MQTT filter and its first level is not a wildcard;
//  2. it is anchored in the device's own topic space: it has the literal
//     levels {pid}/{dn} at the position where some topic family of this
//     device (same first level) carries the device's identity, so every
//     topic it can match names this device, at the identity position;
//  3. it overlaps at least one topic the device may subscribe to;
//  4. it overlaps no topic the device may only publish (no echo of its own
//     uplinks, e.g. {pid}/{dn}/# is refused because it covers
//     {pid}/{dn}/event).
//
// Topics that satisfy 2 but are neither publish nor subscribe topics of the
// device can never carry a message (no device may publish there), so
// covering them is harmless: `$thing/down/+/{pid}/{dn}` is granted,
// `$thing/+/+/{pid}/{dn}` and `$thing/down/#` are refused.
//
// Extra is the extension point for gateways (PROTOCOL.md §8): when set, it
// is asked about topics and filters the device's own rules refuse, e.g. the
// topics of a sub-device bound to and online through this gateway. It must
// be safe for concurrent use and do no I/O. A nil Extra refuses.
type ACL struct {
	productID  string
	deviceName string

	gateway  bool
	custom   []customTopic // the product's valid custom topics
	idPrefix string        // "{pid}/{dn}/": the suffix topics
	idSuffix string        // "/{pid}/{dn}": the prefix topics

	// rrpcTxd and rrpcRxd are "$rrpc/txd/{pid}/{dn}/" and
	// "$rrpc/rxd/{pid}/{dn}/": one more non-empty level follows.
	rrpcTxd string
	rrpcRxd string

	// templates are every topic of the device as levels ("+" stands for
	// the free RRPC id level), for the wildcard rule, and anchors maps a
	// first level to the levels at which its family carries {pid}. Both
	// are compiled from pub and sub at the first wildcard filter: most
	// devices never subscribe with wildcards, and the split levels would
	// be the larger part of an idle connection's ACL.
	once      sync.Once
	templates []template
	anchors   map[string][]int

	// Extra, when set, may grant what the rules above refuse; see ACL.
	Extra func(topic string, publish bool) bool
}

type template struct {
	levels   []string
	pub, sub bool
}

// NewACL compiles the permissions of device pid/dn. gateway grants the
// $gateway topics; policies are the product's custom topics (policies of
// another product, and names that are empty, contain wildcards or empty
// levels, are ignored).
func NewACL(pid, dn string, gateway bool, policies []registry.TopicPolicy) *ACL {
	a := &ACL{
		productID:  pid,
		deviceName: dn,
		gateway:    gateway,
		idPrefix:   pid + "/" + dn + "/",
		idSuffix:   "/" + pid + "/" + dn,
		rrpcTxd:    "$rrpc/txd/" + pid + "/" + dn + "/",
		rrpcRxd:    "$rrpc/rxd/" + pid + "/" + dn + "/",
	}
	for _, p := range policies {
		if p.ProductID != "" && p.ProductID != pid || !validPolicyName(p.Name) {
			continue
		}
		a.custom = append(a.custom, customTopic{name: p.Name, right: policyRight(p)})
	}
	return a
}

// customTopic is a custom topic {pid}/{dn}/<name> of the product.
type customTopic struct {
	name  string
	right right
}

// right is what a device may do on one of its topics.
type right uint8

const (
	canPub right = 1 << iota
	canSub
)

// prefixTopics are the topic families that end with /{pid}/{dn} (PROTOCOL.md
// §2, §13.10), and gatewayTopics those of gateways only.
var (
	prefixTopics = map[string]right{
		"$thing/up/property": canPub, "$thing/down/property": canSub,
		"$thing/up/event": canPub, "$thing/down/event": canSub,
		"$thing/up/action": canPub, "$thing/down/action": canSub,
		"$thing/up/service": canPub, "$thing/down/service": canSub,
		"$thing/up/raw": canPub, "$thing/down/raw": canSub,
		"$ota/report": canPub, "$ota/update": canSub,
		"$shadow/operation": canPub, "$shadow/operation/result": canSub,
		"$resource/up/service": canPub, "$resource/down/service": canSub,
		"$twecall/up/service": canPub, "$twecall/down/service": canSub,
		"$sys/operation": canPub, "$sys/operation/result": canSub,
		"$config/operation": canPub, "$config/operation/result": canSub,
		"$log/operation": canPub, "$log/operation/result": canSub,
		"$broadcast/rxd": canSub,
	}
	gatewayTopics = map[string]right{
		"$gateway/operation": canPub, "$gateway/operation/result": canSub,
	}
)

// suffixTopics are the names of the {pid}/{dn}/<name> topics every device
// has; the product's custom topics add theirs.
var suffixTopics = map[string]right{"control": canSub, "event": canPub, "data": canPub | canSub}

// rights returns what the device may do on the exact topic: the union of
// every rule that names it.
func (a *ACL) rights(topic string) right {
	var r right
	if family, ok := strings.CutSuffix(topic, a.idSuffix); ok {
		r |= prefixTopics[family]
		if a.gateway {
			r |= gatewayTopics[family]
		}
	}
	if name, ok := strings.CutPrefix(topic, a.idPrefix); ok {
		r |= suffixTopics[name]
		for _, c := range a.custom {
			if c.name == name {
				r |= c.right
			}
		}
	}
	return r
}

func policyRight(p registry.TopicPolicy) right {
	var r right
	if p.Privilege&registry.PrivilegePublish != 0 {
		r |= canPub
	}
	if p.Privilege&registry.PrivilegeSubscribe != 0 {
		r |= canSub
	}
	return r
}

// exactTopics returns every exact topic of the device with its rights.
func (a *ACL) exactTopics() map[string]right {
	out := make(map[string]right)
	add := func(families map[string]right) {
		for f, r := range families {
			out[f+a.idSuffix] |= r
		}
	}
	add(prefixTopics)
	if a.gateway {
		add(gatewayTopics)
	}
	for name, r := range suffixTopics {
		out[a.idPrefix+name] |= r
	}
	for _, c := range a.custom {
		out[a.idPrefix+c.name] |= c.right
	}
	return out
}

// compileTemplates fills templates and anchors from the exact topics and
// the RRPC patterns (the free id level is a pattern, not an exact topic).
func (a *ACL) compileTemplates() {
	a.anchors = make(map[string][]int)
	exact := a.exactTopics()
	topics := make([]string, 0, len(exact))
	for t := range exact {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		a.addTemplate(t, exact[t]&canPub != 0, exact[t]&canSub != 0)
	}
	a.addTemplate(a.rrpcTxd+"+", true, false)
	a.addTemplate(a.rrpcRxd+"+", false, true)
}

// ProductID is the product of the device the ACL belongs to.
func (a *ACL) ProductID() string { return a.productID }

// DeviceName is the name of the device the ACL belongs to.
func (a *ACL) DeviceName() string { return a.deviceName }

func (a *ACL) addTemplate(topic string, pub, sub bool) {
	levels := strings.Split(topic, "/")
	for i := range a.templates {
		if slices.Equal(a.templates[i].levels, levels) {
			a.templates[i].pub = a.templates[i].pub || pub
			a.templates[i].sub = a.templates[i].sub || sub
			return
		}
	}
	a.templates = append(a.templates, template{levels: levels, pub: pub, sub: sub})
	for i := 0; i+1 < len(levels); i++ {
		if levels[i] == a.productID && levels[i+1] == a.deviceName {
			if !slices.Contains(a.anchors[levels[0]], i) {
				a.anchors[levels[0]] = append(a.anchors[levels[0]], i)
			}
			break
		}
	}
}

// CanPublish reports whether the device may publish on topic.
func (a *ACL) CanPublish(topic string) bool {
	if a.rights(topic)&canPub != 0 {
		return true
	}
	if isRRPCTopic(topic, a.rrpcTxd) {
		return true
	}
	return a.Extra != nil && a.Extra(topic, true)
}

// CanSubscribe reports whether the device may subscribe to filter, which may
// contain wildcards (see ACL for the rule).
func (a *ACL) CanSubscribe(filter string) bool {
	if a.canSubscribe(filter) {
		return true
	}
	return a.Extra != nil && a.Extra(filter, false)
}

func (a *ACL) canSubscribe(filter string) bool {
	if a.rights(filter)&canSub != 0 {
		return true
	}
	if !strings.ContainsAny(filter, "+#") {
		return isRRPCTopic(filter, a.rrpcRxd)
	}
	levels, ok := splitFilter(filter)
	if !ok || isWildcard(levels[0]) {
		return false
	}
	a.once.Do(a.compileTemplates)
	if !a.anchored(levels) {
		return false
	}
	subscribable := false
	for _, t := range a.templates {
		if !overlaps(levels, t.levels) {
			continue
		}
		if !t.sub {
			return false // would receive a publish-only topic
		}
		subscribable = true
	}
	return subscribable
}

// anchored reports whether the filter carries the literal {pid}/{dn} at an
// identity position of its family.
func (a *ACL) anchored(levels []string) bool {
	for _, i := range a.anchors[levels[0]] {
		if i+1 < len(levels) && levels[i] == a.productID && levels[i+1] == a.deviceName {
			return true
		}
	}
	return false
}

// isRRPCTopic reports whether topic is prefix followed by exactly one
// non-empty level without wildcards.
func isRRPCTopic(topic, prefix string) bool {
	rest, ok := strings.CutPrefix(topic, prefix)
	return ok && rest != "" && !strings.ContainsAny(rest, "/+#")
}

// splitFilter splits an MQTT filter into levels and validates the
// wildcards: '+' and '#' must fill a whole level, '#' only the last one.
func splitFilter(filter string) ([]string, bool) {
	if filter == "" {
		return nil, false
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return nil, false
		case l != "+" && l != "#" && strings.ContainsAny(l, "+#"):
			return nil, false
		}
	}
	return levels, true
}

func isWildcard(level string) bool { return level == "+" || level == "#" }

// overlaps reports whether filter matches at least one topic of the
// template, whose "+" levels stand for any single non-empty level.
func overlaps(filter, tmpl []string) bool {
	for i, f := range filter {
		if f == "#" {
			return true // '#' also matches the parent level
		}
		if i >= len(tmpl) {
			return false
		}
		if f != "+" && tmpl[i] != "+" && f != tmpl[i] {
			return false
		}
	}
	return len(filter) == len(tmpl)
}

// validPolicyName accepts custom topic names of non-empty levels without
// wildcards.
func validPolicyName(name string) bool {
	if name == "" || strings.ContainsAny(name, "+#\x00") {
		return false
	}
	for l := range strings.SplitSeq(name, "/") {
		if l == "" {
			return false
		}
	}
	return true
}

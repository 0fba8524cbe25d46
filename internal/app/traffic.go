package app

import (
	"net"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/commlog"
	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/protocol"
)

// traffic records the conversation of devices in the console's live log:
// it is the broker's Tap, and wraps its Observer to add connection events.
type traffic struct {
	log *commlog.Log
}

var _ broker.Tap = traffic{}

func newTraffic(l *commlog.Log) traffic { return traffic{log: l} }

// Uplink implements broker.Tap. The entry belongs to the connection's
// device, except that a gateway's message on a topic naming one of its
// sub-devices (the broker's ACL allowed it) belongs to the sub-device.
func (t traffic) Uplink(id devauth.Identity, topic string, payload []byte) {
	pid, dn := id.ProductID, id.DeviceName
	if id.Gateway {
		if tp, err := protocol.ParseTopic(topic); err == nil {
			pid, dn = tp.ProductID, tp.DeviceName
		}
	}
	t.log.RecordBytes(commlog.Entry{
		ProductID: pid, DeviceName: dn, Direction: commlog.Up, Topic: topic,
	}, payload)
}

// Downlink implements broker.Tap: the result is how the message was
// delivered ("delivered", "queued") or why it was not.
func (t traffic) Downlink(productID, deviceName, topic string, payload []byte, d broker.Delivery, err error) {
	e := commlog.Entry{
		ProductID: productID, DeviceName: deviceName, Direction: commlog.Down, Topic: topic,
		OK: err == nil,
	}
	if err != nil {
		e.Result = err.Error()
	} else {
		e.Result = d.String()
	}
	t.log.RecordBytes(e, payload)
}

// observer wraps the broker's Observer: connections, disconnections and
// dropped messages also become Event entries of the device's log.
func (t traffic) observer(next broker.Observer) broker.Observer {
	return trafficObserver{next: next, log: t.log}
}

type trafficObserver struct {
	next broker.Observer
	log  *commlog.Log
}

func (o trafficObserver) Connected(id devauth.Identity, c broker.Connection) {
	ip := c.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	result := "connected from " + ip + ", keepalive " + strconv.Itoa(int(c.KeepAlive/time.Second)) + "s"
	if c.Listener != "" {
		result += ", over " + c.Listener
	}
	if c.SessionPresent {
		result += ", session resumed"
	}
	o.log.Record(commlog.Entry{
		ProductID: id.ProductID, DeviceName: id.DeviceName, Direction: commlog.Event, OK: true, Result: result,
		Kind: commlog.EventConnected, ClientIP: ip,
	})
	o.next.Connected(id, c)
}

func (o trafficObserver) Disconnected(id devauth.Identity, at time.Time, reason string) {
	result := "disconnected"
	if reason != "" {
		result += ": " + reason
	}
	o.log.Record(commlog.Entry{
		Time: at, ProductID: id.ProductID, DeviceName: id.DeviceName, Direction: commlog.Event, OK: true, Result: result,
		Kind: commlog.EventDisconnected,
	})
	o.next.Disconnected(id, at, reason)
}

// Dropped records a refused message on the connection's device (not on a
// device its topic names: a device must not write into another's log).
func (o trafficObserver) Dropped(id devauth.Identity, topic, reason string) {
	o.log.Record(commlog.Entry{
		ProductID: id.ProductID, DeviceName: id.DeviceName, Direction: commlog.Event, Topic: topic,
		Kind: commlog.EventDropped, Result: "dropped: " + reason + " on topic " + topic,
	})
	o.next.Dropped(id, topic, reason)
}

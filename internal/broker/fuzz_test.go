package broker

import (
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// FuzzConnection feeds arbitrary bytes after a valid CONNECT through the
// broker's hook, checking that no device input can crash it.
func FuzzConnection(f *testing.F) {
	tb := startBroker(f, Options{MaxPayload: 256}, Deps{Queue: &memQueue{}})
	encode := func(pks ...packets.Packet) []byte {
		var buf bytes.Buffer
		for _, pk := range pks {
			pk.ProtocolVersion = 4
			switch pk.FixedHeader.Type {
			case packets.Connect:
				_ = pk.ConnectEncode(&buf)
			case packets.Publish:
				_ = pk.PublishEncode(&buf)
			case packets.Subscribe:
				_ = pk.SubscribeEncode(&buf)
			}
		}
		return buf.Bytes()
	}
	connect := connectPacket("fuzz", 4, false)
	f.Add(encode(connect))
	f.Add(encode(connect,
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
			Filters: packets.Subscriptions{{Filter: downTopic("fuzz"), Qos: 2}, {Filter: "#"}}},
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 2,
			TopicName: "$sys/operation/" + testPID + "/fuzz", Payload: []byte("{}")},
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, PacketID: 3,
			TopicName: testPID + "/fuzz/event"},
	))
	f.Add(encode(connectPacket("fuzz", 3, true)))
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = tb.srv.EstablishConnection(ListenerTCP, server)
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_, _ = client.Write(data)
		_ = client.Close()
		<-done
	})
}

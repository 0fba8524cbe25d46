package commlog

import (
	"context"
	"strconv"
	"testing"
)

// A typical property report (about 120 bytes) and its reply.
var (
	benchReport = []byte(`{"method":"report","clientToken":"mqtt-1234567","timestamp":1628646783,"params":{"power_switch":1,"color":1,"brightness":32}}`)
	benchReply  = []byte(`{"method":"report_reply","clientToken":"mqtt-1234567","code":0,"status":"success"}`)
)

// BenchmarkRecord measures one report and its reply (two entries, with the
// correlation) across 1000 devices in a full ring, without and with a
// watcher on the device.
func BenchmarkRecord(b *testing.B) {
	for _, watched := range []bool{false, true} {
		name := "unwatched"
		if watched {
			name = "watched"
		}
		b.Run(name, func(b *testing.B) {
			l := New(Options{})
			names := make([]string, 1000)
			ups, downs := make([]string, len(names)), make([]string, len(names))
			for i := range names {
				names[i] = "dev" + strconv.Itoa(i)
				ups[i], downs[i] = "$thing/up/property/P1/"+names[i], "$thing/down/property/P1/"+names[i]
			}
			if watched {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				ch := l.Watch(ctx, "P1", names[0])
				go func() {
					for range ch {
					}
				}()
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				d := i % len(names)
				i++
				l.RecordBytes(Entry{ProductID: "P1", DeviceName: names[d], Direction: Up, Topic: ups[d], OK: true}, benchReport)
				l.RecordBytes(Entry{ProductID: "P1", DeviceName: names[d], Direction: Down, Topic: downs[d], OK: true, Result: "delivered"}, benchReply)
			}
		})
	}
}

// BenchmarkRecent measures reading a device's latest 100 entries.
func BenchmarkRecent(b *testing.B) {
	l := New(Options{})
	for i := range DefaultCapacity {
		l.RecordBytes(Entry{ProductID: "P1", DeviceName: "dev" + strconv.Itoa(i%10), Direction: Up}, benchReport)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(l.Recent("P1", "dev3", 100)) != 100 {
			b.Fatal("short")
		}
	}
}

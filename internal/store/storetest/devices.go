package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
	"golang.org/x/sync/errgroup"
)

func testDevices(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	d := device("PRODUCT01", "dev:1_a-b", 0)
	d.Version, d.LogLevel = "1.0.0", 3
	mustNil(t, s.CreateDevice(ctx, d))
	wantErr(t, "create duplicate", s.CreateDevice(ctx, device("PRODUCT01", "dev:1_a-b", 1)), registry.ErrDeviceExists)
	wantErr(t, "create in missing product", s.CreateDevice(ctx, device("NOPRODUCT0", "x", 0)),
		registry.ErrProductNotFound)

	got, err := s.GetDevice(ctx, "PRODUCT01", "dev:1_a-b")
	mustNil(t, err)
	if !reflect.DeepEqual(got, d) {
		t.Errorf("GetDevice = %+v, want %+v", got, d)
	}
	if got.Status() != registry.StatusNeverOnline {
		t.Errorf("Status = %d, want never online", got.Status())
	}
	_, err = s.GetDevice(ctx, "PRODUCT01", "DEV:1_A-B")
	wantErr(t, "get is case-sensitive", err, registry.ErrDeviceNotFound)
	_, err = s.GetDevice(ctx, "NOPRODUCT0", "dev:1_a-b")
	wantErr(t, "get in missing product", err, registry.ErrDeviceNotFound)

	// A certificate device: no PSK, certificate and fingerprint kept, and the
	// same name may exist in another product.
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT02", "P1", 1)))
	cert := registry.Device{
		ProductID: "PRODUCT02", Name: "dev:1_a-b", CertPEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		CertSHA256: "ab12", EnableState: registry.Disabled, CreatedAt: at(2),
		Presence: registry.Presence{Online: true, FirstOnline: at(1), LastLogin: at(2), ClientIP: "10.0.0.1",
			ProtocolLevel: 4, KeepAlive: 60},
	}
	mustNil(t, s.CreateDevice(ctx, cert))
	got, err = s.GetDevice(ctx, "PRODUCT02", "dev:1_a-b")
	mustNil(t, err)
	if !reflect.DeepEqual(got, cert) {
		t.Errorf("GetDevice(cert) = %+v, want %+v", got, cert)
	}

	mustNil(t, s.DeleteDevice(ctx, "PRODUCT01", "dev:1_a-b"))
	_, err = s.GetDevice(ctx, "PRODUCT01", "dev:1_a-b")
	wantErr(t, "get deleted", err, registry.ErrDeviceNotFound)
	wantErr(t, "delete missing", s.DeleteDevice(ctx, "PRODUCT01", "dev:1_a-b"), registry.ErrDeviceNotFound)
	if _, err := s.GetDevice(ctx, "PRODUCT02", "dev:1_a-b"); err != nil {
		t.Errorf("other product's device gone: %v", err)
	}
}

func testDeviceList(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT02", "P1", 1)))
	mustNil(t, s.CreateProject(ctx, project("P2", 1)))
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT03", "P2", 1)))
	for i, spec := range []struct{ product, name, version string }{
		{"PRODUCT01", "lamp1", "1.0"},
		{"PRODUCT01", "lamp2", ""},
		{"PRODUCT01", "Lamp_3", "2.0"},
		{"PRODUCT01", "fan1", "1.0"},
		{"PRODUCT02", "lamp1", ""},
		{"PRODUCT03", "lamp1", "1.0"},
	} {
		d := device(spec.product, spec.name, i)
		d.Version = spec.version
		mustNil(t, s.CreateDevice(ctx, d))
	}
	tests := []struct {
		name  string
		f     registry.DeviceFilter
		want  []string
		total int64
	}{
		{"all oldest first", registry.DeviceFilter{}, []string{"PRODUCT01/lamp1", "PRODUCT01/lamp2",
			"PRODUCT01/Lamp_3", "PRODUCT01/fan1", "PRODUCT02/lamp1", "PRODUCT03/lamp1"}, 6},
		{"product", registry.DeviceFilter{ProductID: "PRODUCT01"}, []string{"PRODUCT01/lamp1",
			"PRODUCT01/lamp2", "PRODUCT01/Lamp_3", "PRODUCT01/fan1"}, 4},
		{"product page", registry.DeviceFilter{ProductID: "PRODUCT01", Offset: 1, Limit: 2},
			[]string{"PRODUCT01/lamp2", "PRODUCT01/Lamp_3"}, 4},
		{"project", registry.DeviceFilter{ProjectID: "P1"}, []string{"PRODUCT01/lamp1", "PRODUCT01/lamp2",
			"PRODUCT01/Lamp_3", "PRODUCT01/fan1", "PRODUCT02/lamp1"}, 5},
		{"project page", registry.DeviceFilter{ProjectID: "P1", Offset: 4, Limit: 10},
			[]string{"PRODUCT02/lamp1"}, 5},
		{"name contains any case", registry.DeviceFilter{ProductID: "PRODUCT01", NameContains: "LAMP"},
			[]string{"PRODUCT01/lamp1", "PRODUCT01/lamp2", "PRODUCT01/Lamp_3"}, 3},
		{"underscore is literal", registry.DeviceFilter{NameContains: "p_"}, []string{"PRODUCT01/Lamp_3"}, 1},
		{"firmware", registry.DeviceFilter{ProjectID: "P1", FirmwareVersion: "1.0"},
			[]string{"PRODUCT01/lamp1", "PRODUCT01/fan1"}, 2},
		{"no firmware", registry.DeviceFilter{FirmwareVersion: "None-FirmwareVersion"},
			[]string{"PRODUCT01/lamp2", "PRODUCT02/lamp1"}, 2},
		{"unknown product", registry.DeviceFilter{ProductID: "NOPRODUCT0"}, nil, 0},
		{"product outside project", registry.DeviceFilter{ProjectID: "P2", ProductID: "PRODUCT01"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListDevices(ctx, tc.f)
			mustNil(t, err)
			var keys []string
			for _, d := range got {
				keys = append(keys, d.ProductID+"/"+d.Name)
				if !bytes.Equal(d.SealedPSK, []byte("sealed:"+d.Name)) {
					t.Errorf("%s/%s: SealedPSK = %q", d.ProductID, d.Name, d.SealedPSK)
				}
			}
			if total != tc.total || !equal(keys, tc.want) {
				t.Errorf("ListDevices(%+v) = %v, %d; want %v, %d", tc.f, keys, total, tc.want, tc.total)
			}
		})
	}
}

func testDeviceEnabled(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d1", 0)))
	for _, state := range []int{registry.Disabled, registry.Enabled, registry.Disabled} {
		mustNil(t, s.SetDeviceEnabled(ctx, "PRODUCT01", "d1", state))
		d, err := s.GetDevice(ctx, "PRODUCT01", "d1")
		mustNil(t, err)
		if d.EnableState != state {
			t.Errorf("EnableState = %d, want %d", d.EnableState, state)
		}
	}
	wantErr(t, "missing device", s.SetDeviceEnabled(ctx, "PRODUCT01", "nope", registry.Enabled),
		registry.ErrDeviceNotFound)
	wantErr(t, "missing product", s.SetDeviceEnabled(ctx, "NOPRODUCT0", "d1", registry.Enabled),
		registry.ErrDeviceNotFound)
}

func testPresence(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d1", 0)))
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d2", 0)))
	get := func(name string) registry.Presence {
		t.Helper()
		d, err := s.GetDevice(ctx, "PRODUCT01", name)
		mustNil(t, err)
		return d.Presence
	}

	first := registry.Presence{LastLogin: at(10), ClientIP: "192.0.2.1", ProtocolLevel: 4, KeepAlive: 240}
	mustNil(t, s.RecordConnect(ctx, "PRODUCT01", "d1", first))
	want := first
	want.Online, want.FirstOnline = true, at(10)
	if got := get("d1"); got != want {
		t.Errorf("after connect = %+v, want %+v", got, want)
	}

	mustNil(t, s.RecordDisconnect(ctx, "PRODUCT01", "d1", at(20)))
	want.Online, want.LastLogout = false, at(20)
	if got := get("d1"); got != want {
		t.Errorf("after disconnect = %+v, want %+v", got, want)
	}

	// A second connection keeps FirstOnline even when the caller sets it.
	again := registry.Presence{FirstOnline: at(30), LastLogin: at(30), ClientIP: "2001:db8::1", ProtocolLevel: 3, KeepAlive: 60}
	mustNil(t, s.RecordConnect(ctx, "PRODUCT01", "d1", again))
	want = registry.Presence{Online: true, FirstOnline: at(10), LastLogin: at(30), LastLogout: at(20),
		ClientIP: "2001:db8::1", ProtocolLevel: 3, KeepAlive: 60}
	if got := get("d1"); got != want {
		t.Errorf("after reconnect = %+v, want %+v", got, want)
	}
	mustNil(t, s.RecordConnect(ctx, "PRODUCT01", "d2", registry.Presence{LastLogin: at(31)}))

	mustNil(t, s.ResetPresence(ctx, at(40)))
	for _, name := range []string{"d1", "d2"} {
		p := get(name)
		if p.Online || !p.LastLogout.Equal(at(40)) {
			t.Errorf("%s after reset = %+v, want offline, logout at %v", name, p, at(40))
		}
	}
	// Devices already offline keep their logout time.
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d3", 0)))
	mustNil(t, s.RecordConnect(ctx, "PRODUCT01", "d3", registry.Presence{LastLogin: at(41)}))
	mustNil(t, s.RecordDisconnect(ctx, "PRODUCT01", "d3", at(42)))
	mustNil(t, s.ResetPresence(ctx, at(50)))
	if p := get("d3"); !p.LastLogout.Equal(at(42)) {
		t.Errorf("offline device's logout changed by reset: %v", p.LastLogout)
	}

	wantErr(t, "connect missing", s.RecordConnect(ctx, "PRODUCT01", "nope", first), registry.ErrDeviceNotFound)
	wantErr(t, "disconnect missing", s.RecordDisconnect(ctx, "PRODUCT01", "nope", at(1)), registry.ErrDeviceNotFound)

	testRecordPresence(t, s)
}

// testRecordPresence checks that a RecordPresence batch ends where the same
// changes made one by one with RecordConnect and RecordDisconnect end, and
// that changes of unknown devices are skipped. It needs seed's PRODUCT01.
func testRecordPresence(t *testing.T, s registry.Store) {
	ctx := context.Background()
	conn := func(name string, minute int, ip string) registry.PresenceChange {
		return registry.PresenceChange{ProductID: "PRODUCT01", Name: name, Online: true,
			Presence: registry.Presence{LastLogin: at(minute), ClientIP: ip, ProtocolLevel: 4, KeepAlive: 60}}
	}
	disc := func(name string, minute int) registry.PresenceChange {
		return registry.PresenceChange{ProductID: "PRODUCT01", Name: name, At: at(minute)}
	}
	online := func(first, login int, ip string) registry.Presence {
		return registry.Presence{Online: true, FirstOnline: at(first), LastLogin: at(login), ClientIP: ip,
			ProtocolLevel: 4, KeepAlive: 60}
	}
	offline := func(first, login, logout int, ip string) registry.Presence {
		p := online(first, login, ip)
		p.Online, p.LastLogout = false, at(logout)
		return p
	}
	var many []registry.PresenceChange
	manyWant := map[string]registry.Presence{}
	for i := range 100 {
		name := fmt.Sprintf("m%03d", i)
		many = append(many, conn(name, i, "192.0.2.7"))
		manyWant[name] = online(i, i, "192.0.2.7")
	}

	tests := []struct {
		name    string
		devices []string                  // created before
		prior   []registry.PresenceChange // applied one by one before
		batch   []registry.PresenceChange
		want    map[string]registry.Presence
	}{
		{"empty", nil, nil, nil, nil},
		{"connect", []string{"a"}, nil, []registry.PresenceChange{conn("a", 10, "192.0.2.1")},
			map[string]registry.Presence{"a": online(10, 10, "192.0.2.1")}},
		{"connect then disconnect ends offline", []string{"a"}, nil,
			[]registry.PresenceChange{conn("a", 10, "192.0.2.1"), disc("a", 11)},
			map[string]registry.Presence{"a": offline(10, 10, 11, "192.0.2.1")}},
		{"disconnect then connect ends online", []string{"a"},
			[]registry.PresenceChange{conn("a", 5, "192.0.2.1")},
			[]registry.PresenceChange{disc("a", 10), conn("a", 11, "192.0.2.2")},
			map[string]registry.Presence{"a": {Online: true, FirstOnline: at(5), LastLogin: at(11),
				LastLogout: at(10), ClientIP: "192.0.2.2", ProtocolLevel: 4, KeepAlive: 60}}},
		{"takeover keeps the last connection", []string{"a"}, nil,
			[]registry.PresenceChange{conn("a", 10, "192.0.2.1"), conn("a", 12, "192.0.2.2")},
			map[string]registry.Presence{"a": online(10, 12, "192.0.2.2")}},
		{"first online is kept", []string{"a"},
			[]registry.PresenceChange{conn("a", 5, "192.0.2.1"), disc("a", 6)},
			[]registry.PresenceChange{{ProductID: "PRODUCT01", Name: "a", Online: true,
				Presence: registry.Presence{FirstOnline: at(30), LastLogin: at(31), ClientIP: "192.0.2.3"}}},
			map[string]registry.Presence{"a": {Online: true, FirstOnline: at(5), LastLogin: at(31),
				LastLogout: at(6), ClientIP: "192.0.2.3"}}},
		{"first online from the caller when unset", []string{"a"}, nil,
			[]registry.PresenceChange{{ProductID: "PRODUCT01", Name: "a", Online: true,
				Presence: registry.Presence{FirstOnline: at(3), LastLogin: at(31)}}},
			map[string]registry.Presence{"a": {Online: true, FirstOnline: at(3), LastLogin: at(31)}}},
		{"unknown devices are skipped", []string{"a", "b"}, nil,
			[]registry.PresenceChange{conn("gone", 9, "192.0.2.9"), conn("a", 10, "192.0.2.1"),
				disc("gone", 11), conn("b", 12, "192.0.2.2"), disc("a", 13),
				{ProductID: "NOPRODUCT0", Name: "a", Online: true, Presence: registry.Presence{LastLogin: at(14)}}},
			map[string]registry.Presence{"a": offline(10, 10, 13, "192.0.2.1"), "b": online(12, 12, "192.0.2.2")}},
		{"many devices", slices.Collect(maps.Keys(manyWant)), nil, many, manyWant},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The batch runs on devices "b<i>-<name>", the same changes one
			// by one on "s<i>-<name>"; both must end as tc.want.
			rename := func(prefix string, cs []registry.PresenceChange) []registry.PresenceChange {
				out := slices.Clone(cs)
				for j := range out {
					if out[j].ProductID == "PRODUCT01" && out[j].Name != "gone" {
						out[j].Name = fmt.Sprintf("%s%d-%s", prefix, i, out[j].Name)
					}
				}
				return out
			}
			oneByOne := func(cs []registry.PresenceChange) {
				t.Helper()
				for _, c := range cs {
					var err error
					if c.Online {
						err = s.RecordConnect(ctx, c.ProductID, c.Name, c.Presence)
					} else {
						err = s.RecordDisconnect(ctx, c.ProductID, c.Name, c.At)
					}
					if err != nil && !errors.Is(err, registry.ErrDeviceNotFound) {
						t.Fatal(err)
					}
				}
			}
			for _, prefix := range []string{"b", "s"} {
				for _, name := range tc.devices {
					mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", fmt.Sprintf("%s%d-%s", prefix, i, name), 0)))
				}
				oneByOne(rename(prefix, tc.prior))
			}
			mustNil(t, s.RecordPresence(ctx, rename("b", tc.batch)))
			oneByOne(rename("s", tc.batch))

			for _, prefix := range []string{"b", "s"} {
				for name, want := range tc.want {
					d, err := s.GetDevice(ctx, "PRODUCT01", fmt.Sprintf("%s%d-%s", prefix, i, name))
					mustNil(t, err)
					if d.Presence != want {
						t.Errorf("%s%d-%s = %+v, want %+v", prefix, i, name, d.Presence, want)
					}
				}
			}
		})
	}
	_, err := s.GetDevice(ctx, "PRODUCT01", "gone")
	wantErr(t, "batch created a device", err, registry.ErrDeviceNotFound)
}

func testDeviceStats(t *testing.T, s registry.Store) {
	ctx := context.Background()
	now := base.Add(30 * 24 * time.Hour)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const day = 24 * time.Hour
	seed(t, s)
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT02", "P1", 1)))
	mustNil(t, s.CreateProject(ctx, project("P2", 1)))
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT03", "P2", 1)))

	// name: product, first online, last login, still online
	devices := []struct {
		product, name string
		first, login  time.Time
		online        bool
	}{
		{"PRODUCT01", "never", time.Time{}, time.Time{}, false},
		{"PRODUCT01", "new-online", ago(time.Hour), ago(time.Hour), true},
		{"PRODUCT01", "week-old", ago(3 * day), ago(2 * day), false},
		{"PRODUCT01", "prev-week", ago(10 * day), ago(12 * time.Hour), true},
		{"PRODUCT02", "old", ago(20 * day), ago(9 * day), false},
		{"PRODUCT02", "fresh", ago(2 * time.Hour), ago(time.Hour), false},
		{"PRODUCT03", "other-project", ago(time.Hour), ago(time.Hour), true},
	}
	for _, d := range devices {
		mustNil(t, s.CreateDevice(ctx, device(d.product, d.name, 0)))
		if d.first.IsZero() {
			continue
		}
		mustNil(t, s.RecordConnect(ctx, d.product, d.name, registry.Presence{FirstOnline: d.first, LastLogin: d.first}))
		mustNil(t, s.RecordConnect(ctx, d.product, d.name, registry.Presence{LastLogin: d.login}))
		if !d.online {
			mustNil(t, s.RecordDisconnect(ctx, d.product, d.name, d.login.Add(time.Minute)))
		}
	}

	tests := []struct {
		name     string
		project  string
		products []string
		want     registry.DeviceStats
	}{
		{"whole project", "P1", nil, registry.DeviceStats{
			Activated: 5, Online: 2,
			ActivatedSince1Day: 2, ActiveSince1Day: 3,
			ActivatedSince7Days: 3, ActiveSince7Days: 4,
			ActivatedPrev7Days: 1, ActivePrev7Days: 1,
		}},
		{"one product", "P1", []string{"PRODUCT02"}, registry.DeviceStats{
			Activated: 2, ActivatedSince1Day: 1, ActiveSince1Day: 1, ActivatedSince7Days: 1, ActiveSince7Days: 1,
			ActivePrev7Days: 1,
		}},
		{"product of another project", "P1", []string{"PRODUCT03"}, registry.DeviceStats{}},
		{"empty project", "P2", []string{"PRODUCT01"}, registry.DeviceStats{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.DeviceStats(ctx, tc.project, tc.products, now)
			mustNil(t, err)
			if got != tc.want {
				t.Errorf("DeviceStats(%s, %v) = %+v, want %+v", tc.project, tc.products, got, tc.want)
			}
		})
	}
	mustNil(t, s.CreateProject(ctx, project("P3", 2)))
	got, err := s.DeviceStats(ctx, "P3", nil, now)
	mustNil(t, err)
	if got != (registry.DeviceStats{}) {
		t.Errorf("DeviceStats of a project without products = %+v, want zero", got)
	}
	_, err = s.DeviceStats(ctx, "nope", nil, now)
	wantErr(t, "stats of missing project", err, registry.ErrProjectNotFound)
}

// testConcurrentWrites runs connects, disconnects, creations and reads from
// many goroutines at once: a store must serialise them without "database is
// locked" errors.
func testConcurrentWrites(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	const workers, rounds = 8, 20
	var g errgroup.Group
	for w := range workers {
		g.Go(func() error {
			name := fmt.Sprintf("dev%d", w)
			if err := s.CreateDevice(ctx, device("PRODUCT01", name, w)); err != nil {
				return err
			}
			for i := range rounds {
				if err := s.RecordConnect(ctx, "PRODUCT01", name, registry.Presence{LastLogin: at(i)}); err != nil {
					return err
				}
				if _, err := s.GetDevice(ctx, "PRODUCT01", name); err != nil {
					return err
				}
				if err := s.RecordDisconnect(ctx, "PRODUCT01", name, at(i)); err != nil {
					return err
				}
				if err := s.RecordPresence(ctx, []registry.PresenceChange{
					{ProductID: "PRODUCT01", Name: name, Online: true, Presence: registry.Presence{LastLogin: at(i)}},
					{ProductID: "PRODUCT01", Name: name, At: at(i)},
				}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	mustNil(t, g.Wait())
	n, err := s.CountDevices(ctx, "PRODUCT01")
	mustNil(t, err)
	if n != workers {
		t.Errorf("CountDevices = %d, want %d", n, workers)
	}
}

// Package storetest is the conformance suite every registry.Store
// implementation must pass. Adapters call Run from their tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) registry.Store { return openTestStore(t) })
//	}
//
// open must return a new, empty store for every call and arrange its cleanup
// with t.Cleanup; Run closes nothing itself. Subtests run in parallel, so
// open must be safe for concurrent use.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
)

// Run exercises every registry.Store method, including its error cases, in
// subtests. Each subtest opens its own store.
func Run(t *testing.T, open func(t *testing.T) registry.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s registry.Store)
	}{
		{"Projects", testProjects},
		{"ProjectList", testProjectList},
		{"ProjectDeleteAndCount", testProjectDeleteAndCount},
		{"Products", testProducts},
		{"ProductList", testProductList},
		{"ProductDelete", testProductDelete},
		{"Devices", testDevices},
		{"DeviceList", testDeviceList},
		{"DeviceEnabled", testDeviceEnabled},
		{"Presence", testPresence},
		{"DeviceStats", testDeviceStats},
		{"TopicPolicies", testTopicPolicies},
		{"TopicPolicyRename", testTopicPolicyRename},
		{"ConcurrentWrites", testConcurrentWrites},
		{"DeviceData", testDeviceData},
		{"ReportStaging", testReportStaging},
		{"Dynreg", testDynreg},
		{"RemoteConfig", testRemoteConfig},
		{"TWecall", testTWecall},
		{"OTA", testOTA},
		{"Resources", testResources},
		{"DeviceRecords", testDeviceRecords},
		{"Gateway", testGateway},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// base is a fixed, millisecond-precise UTC time the fixtures start from.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123_000_000, time.UTC)

func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

func project(id string, minute int) registry.Project {
	return registry.Project{
		ID: id, Name: "name of " + id, Desc: "desc " + id, InstanceID: "iotexplorer-" + id,
		CreatedAt: at(minute), UpdatedAt: at(minute),
	}
}

func product(id, projectID string, minute int) registry.Product {
	return registry.Product{
		ID: id, ProjectID: projectID, Name: "product " + id, CategoryID: 1,
		ProductType: registry.ProductTypeNormal, EncryptionType: registry.EncryptionKey, NetType: "wifi",
		DataProtocol: 1, Desc: "desc", DevStatus: "dev", ModuleID: 7, EnableProductScript: "0",
		BindStrategy: 1, Rate: "9600", Period: "30", CreatedAt: at(minute), UpdatedAt: at(minute),
	}
}

func device(productID, name string, minute int) registry.Device {
	return registry.Device{
		ProductID: productID, Name: name, SealedPSK: []byte("sealed:" + name),
		EnableState: registry.Enabled, LogLevel: 1, CreatedAt: at(minute),
	}
}

// mustNil fails the test now when err is not nil.
func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err matches target with errors.Is.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// seed creates project P1 with product PRODUCT01 (key auth).
func seed(t *testing.T, s registry.Store) {
	t.Helper()
	ctx := context.Background()
	mustNil(t, s.CreateProject(ctx, project("P1", 0)))
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT01", "P1", 0)))
}

func testProjects(t *testing.T, s registry.Store) {
	ctx := context.Background()
	p := project("P1", 0)
	mustNil(t, s.CreateProject(ctx, p))
	wantErr(t, "create duplicate", s.CreateProject(ctx, project("P1", 5)), registry.ErrProjectExists)

	got, err := s.GetProject(ctx, "P1")
	mustNil(t, err)
	if got != p {
		t.Errorf("GetProject = %+v, want %+v", got, p)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
	}
	_, err = s.GetProject(ctx, "nope")
	wantErr(t, "get missing", err, registry.ErrProjectNotFound)

	p.Name, p.Desc, p.InstanceID, p.UpdatedAt = "renamed", "new desc", "iotexplorer-x", at(9)
	mustNil(t, s.UpdateProject(ctx, p))
	got, err = s.GetProject(ctx, "P1")
	mustNil(t, err)
	if got != p {
		t.Errorf("after update GetProject = %+v, want %+v", got, p)
	}
	wantErr(t, "update missing", s.UpdateProject(ctx, project("nope", 0)), registry.ErrProjectNotFound)

	// Times keep millisecond precision, whatever the caller's location.
	local := project("P2", 0)
	local.CreatedAt = time.Date(2026, 3, 1, 20, 0, 0, 456_789_000, time.FixedZone("CST", 8*3600))
	mustNil(t, s.CreateProject(ctx, local))
	got, err = s.GetProject(ctx, "P2")
	mustNil(t, err)
	if want := local.CreatedAt.Truncate(time.Millisecond).UTC(); got.CreatedAt != want {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
	}
}

func testProjectList(t *testing.T, s registry.Store) {
	ctx := context.Background()
	for i, id := range []string{"PA", "PB", "PC", "PD", "PE"} {
		p := project(id, i)
		if id == "PC" {
			p.Name = "Special Home"
		}
		mustNil(t, s.CreateProject(ctx, p))
	}
	ids := func(ps []registry.Project) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	tests := []struct {
		name  string
		f     registry.ProjectFilter
		want  []string
		total int64
	}{
		{"all oldest first", registry.ProjectFilter{}, []string{"PA", "PB", "PC", "PD", "PE"}, 5},
		{"page", registry.ProjectFilter{Offset: 1, Limit: 2}, []string{"PB", "PC"}, 5},
		{"offset only", registry.ProjectFilter{Offset: 3}, []string{"PD", "PE"}, 5},
		{"offset past end", registry.ProjectFilter{Offset: 10, Limit: 2}, nil, 5},
		{"by id", registry.ProjectFilter{ProjectID: "PB"}, []string{"PB"}, 1},
		{"name substring any case", registry.ProjectFilter{Name: "special"}, []string{"PC"}, 1},
		{"name wildcard is literal", registry.ProjectFilter{Name: "%"}, nil, 0},
		{"unknown id", registry.ProjectFilter{ProjectID: "nope"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListProjects(ctx, tc.f)
			mustNil(t, err)
			if total != tc.total || !equal(ids(got), tc.want) {
				t.Errorf("ListProjects(%+v) = %v, %d; want %v, %d", tc.f, ids(got), total, tc.want, tc.total)
			}
		})
	}
}

func testProjectDeleteAndCount(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT02", "P1", 1)))
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d1", 0)))
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d2", 0)))
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT02", "d1", 0)))
	mustNil(t, s.CreateProject(ctx, project("P2", 1)))

	c, err := s.CountProject(ctx, "P1")
	mustNil(t, err)
	if c != (registry.ProjectCounts{Products: 2, Devices: 3}) {
		t.Errorf("CountProject(P1) = %+v, want 2 products, 3 devices", c)
	}
	c, err = s.CountProject(ctx, "P2")
	mustNil(t, err)
	if c != (registry.ProjectCounts{}) {
		t.Errorf("CountProject(P2) = %+v, want zero", c)
	}
	_, err = s.CountProject(ctx, "nope")
	wantErr(t, "count missing", err, registry.ErrProjectNotFound)

	wantErr(t, "delete with products", s.DeleteProject(ctx, "P1"), registry.ErrProjectHasProducts)
	if _, err := s.GetProject(ctx, "P1"); err != nil {
		t.Errorf("project gone after refused delete: %v", err)
	}
	mustNil(t, s.DeleteProject(ctx, "P2"))
	_, err = s.GetProject(ctx, "P2")
	wantErr(t, "get deleted", err, registry.ErrProjectNotFound)
	wantErr(t, "delete missing", s.DeleteProject(ctx, "P2"), registry.ErrProjectNotFound)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package ota_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/blob"
	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

// resFiles is a file store whose missing objects are blob.ErrNotFound.
type resFiles struct {
	mu sync.Mutex
	m  map[string][2]string
}

func (f *resFiles) put(key, size, sum string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[key] = [2]string{size, sum}
}

func (f *resFiles) Rename(context.Context, string, string) error { return nil }
func (f *resFiles) Delete(context.Context, string) error         { return nil }
func (f *resFiles) Sum(_ context.Context, key string) (int64, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[key]
	if !ok {
		return 0, "", fmt.Errorf("%s: %w", key, blob.ErrNotFound)
	}
	var n int64
	fmt.Sscan(v[0], &n)
	return n, v[1], nil
}

type resFixture struct {
	svc   *ota.Service
	files *resFiles
	pub   *pub
}

func newResFixture(t testing.TB) *resFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Unix(1_800_000_000, 0).UTC()
	must(t, st.CreateProject(ctx, registry.Project{ID: "P1", Name: "p", CreatedAt: now, UpdatedAt: now}))
	must(t, st.CreateProduct(ctx, registry.Product{ID: "PROD000001", ProjectID: "P1", Name: "x", CreatedAt: now, UpdatedAt: now}))
	for _, n := range []string{"dev1", "dev2"} {
		must(t, st.CreateDevice(ctx, registry.Device{ProductID: "PROD000001", Name: n, SealedPSK: []byte("x"), EnableState: 1, CreatedAt: now}))
	}
	f := &resFixture{files: &resFiles{m: map[string][2]string{}}, pub: &pub{online: map[string]bool{"dev1": true}}}
	f.svc, err = ota.NewService(ota.Config{Store: st, Resources: st, Registry: reg{st}, Files: f.files, Links: links{}, Publisher: f.pub,
		Now: func() time.Time { return now }})
	must(t, err)
	return f
}

func (f *resFixture) send(dn, s string) {
	f.svc.HandleResource(context.Background(), "PROD000001", dn, []byte(s))
}

func (f *resFixture) entry(t *testing.T, dn, name string) ota.DeviceResource {
	t.Helper()
	list, err := f.svc.DeviceResources(context.Background(), "PROD000001", dn)
	must(t, err)
	for _, r := range list {
		if r.Name == name {
			return r
		}
	}
	return ota.DeviceResource{}
}

func TestResourceLifecycle(t *testing.T) {
	f := newResFixture(t)
	ctx := context.Background()
	in := ota.PushInput{ProductID: "PROD000001", DeviceNames: []string{"dev1", "dev2"}, Name: "b.wav", Type: "AUDIO", Version: "1.0"}
	if _, err := f.svc.PushResource(ctx, in); err == nil {
		t.Fatal("push of a file never uploaded accepted")
	}
	f.files.put(ota.ResourceKey("PROD000001", "b.wav", "1.0"), "31242", md5sum)
	list, err := f.svc.PushResource(ctx, in)
	must(t, err)
	if len(list) != 2 || list[0].State != ota.ResourcePushed || list[1].State != ota.ResourcePending {
		t.Fatalf("pushed = %+v", list)
	}
	m := f.pub.last()
	if m["method"] != "update_resource" || m["url"] != "http://dl/resources/files/PROD000001/b.wav/1.0" || m["md5sum"] != md5sum ||
		m["file_size"] != float64(31242) || m["resource_type"] != "AUDIO" {
		t.Fatalf("update_resource = %v", m)
	}

	steps := []struct {
		name, dn, msg   string
		resource        string
		state           string
		percent, code   int64
		reply           string // method of the last downlink, "" none expected
		replyListLength int
	}{
		{"progress", "dev1", `{"method":"report_progress","report":{"progress":{"resource_name":"b.wav","state":"downloading","percent":"50","result_code":"0","result_msg":""},"version":"1.0"}}`,
			"b.wav", ota.ResourceDownloading, 50, 0, "", 0},
		{"done", "dev1", `{"method":"report_result","report":{"progress":{"resource_name":"b.wav","state":"done","result_code":"0","result_msg":"success"},"version":"1.0"}}`,
			"b.wav", ota.ResourceDone, 100, 0, "", 0},
		{"recovery list", "dev1", `{"method":"report_version","request_id":"1","report":{"resource_list":[]}}`,
			"b.wav", ota.ResourceDone, 100, 0, "report_version_rsp", 1},
		{"device reports its own list", "dev1", `{"method":"report_version","request_id":"2","report":{"resource_list":[{"resource_name":"x.txt","version":"2","resource_type":"FILE"}]}}`,
			"x.txt", ota.ResourceDone, 100, 0, "report_version_rsp", 1},
		{"offline device reports in and gets the push", "dev2", `{"method":"report_version","request_id":"3","report":{"resource_list":[]}}`,
			"b.wav", ota.ResourcePushed, 0, 0, "update_resource", 0},
		{"failure", "dev2", `{"method":"report_result","report":{"progress":{"resource_name":"b.wav","state":"fail","result_code":"-4","result_msg":"time_out"},"version":"1.0"}}`,
			"b.wav", ota.ResourceFailed, 0, -4, "", 0},
	}
	for _, s := range steps {
		f.pub.online[s.dn] = true
		before := len(f.pub.sent)
		f.send(s.dn, s.msg)
		got := f.entry(t, s.dn, s.resource)
		if got.State != s.state || got.Percent != s.percent || got.ResultCode != s.code {
			t.Errorf("%s: entry = %+v", s.name, got)
		}
		if s.reply != "" {
			if len(f.pub.sent) == before {
				t.Fatalf("%s: no reply", s.name)
			}
			m := f.pub.last()
			if m["method"] != s.reply {
				t.Errorf("%s: reply = %v", s.name, m)
			}
			if s.reply == "report_version_rsp" {
				if l, _ := m["resource_list"].([]any); len(l) != s.replyListLength {
					t.Errorf("%s: resource_list = %v", s.name, m["resource_list"])
				}
			}
		}
	}
	if got := f.entry(t, "dev1", "b.wav"); got.Name != "" {
		t.Errorf("b.wav kept after the device's list left it out: %+v", got)
	}
	if got := f.entry(t, "dev2", "b.wav"); got.ResultMsg != "MD5 mismatch" {
		t.Errorf("failure message = %q", got.ResultMsg)
	}

	// Deletion.
	must(t, f.svc.DeleteDeviceResource(ctx, "PROD000001", "dev1", "x.txt"))
	if m := f.pub.last(); m["method"] != "del_resource" || m["resource_name"] != "x.txt" {
		t.Fatalf("del_resource = %v", m)
	}
	if got := f.entry(t, "dev1", "x.txt"); got.State != ota.ResourceDeleting {
		t.Fatalf("after delete: %+v", got)
	}
	f.send("dev1", `{"method":"del_result","report":{"progress":{"resource_name":"x.txt","state":"done","result_code":"0","result_msg":"success"},"version":"2"}}`)
	if got := f.entry(t, "dev1", "x.txt"); got.Name != "" {
		t.Fatalf("deleted entry kept: %+v", got)
	}
	f.pub.online["dev2"] = false
	if err := f.svc.DeleteDeviceResource(ctx, "PROD000001", "dev2", "b.wav"); err == nil {
		t.Error("delete on an offline device succeeded")
	}
}

func TestResourceUpload(t *testing.T) {
	f := newResFixture(t)
	ctx := context.Background()
	f.send("dev1", `{"method":"request_url","request_id":"r1","report":{"resource_name":"123.wav","version":"1.0.0","resource_type":"AUDIO"}}`)
	m := f.pub.last()
	token, _ := m["resource_token"].(string)
	url, _ := m["resource_url"].(string)
	if m["method"] != "request_url_resp" || m["request_id"] != "r1" || m["result_code"] != float64(0) || token == "" || url == "" {
		t.Fatalf("request_url_resp = %v", m)
	}
	f.send("dev1", `{"method":"request_url","request_id":"r2","report":{"resource_name":"../x"}}`)
	if m := f.pub.last(); m["result_code"] == float64(0) {
		t.Errorf("bad name accepted: %v", m)
	}
	key := url[len("http://up/"):]
	done := `{"method":"report_post_result","report":{"progress":{"resource_token":"` + token + `","state":"done","result_code":"0","result_msg":"success"}}}`

	// Another device cannot complete the upload.
	f.send("dev2", done)
	// "done" before the file arrived fails.
	f.send("dev1", done)
	ups, err := f.svc.DeviceUploads(ctx, "PROD000001", "dev1")
	must(t, err)
	if len(ups) != 1 || ups[0].State != ota.UploadFailed || ups[0].DownloadURL != "" {
		t.Fatalf("uploads = %+v", ups)
	}
	f.files.put(key, "10", md5sum)
	f.send("dev1", done)
	ups, err = f.svc.DeviceUploads(ctx, "PROD000001", "dev1")
	must(t, err)
	if len(ups) != 1 || ups[0].State != ota.UploadDone || ups[0].MD5 != md5sum || ups[0].Size != 10 || ups[0].DownloadURL != "http://dl/"+key || ups[0].Type != "AUDIO" {
		t.Fatalf("uploads = %+v", ups)
	}
}

func FuzzHandleResource(f *testing.F) {
	f.Add(`{"method":"report_version","report":{"resource_list":[{"resource_name":"a","version":"1"}]}}`)
	f.Add(`{"method":"report_progress","report":{"progress":{"resource_name":"a","state":"downloading","percent":10}}}`)
	f.Add(`{"method":"request_url","report":{"resource_name":"a"}}`)
	f.Add(`{"method":"report_post_result","report":{"progress":{"resource_token":"x","state":"done"}}}`)
	f.Add(`{"method":"del_result","report":{"progress":{"resource_name":"a","state":"fail"}}}`)
	f.Add(`{"type":"create_upload_task","size":"100","name":"f","md5sum":"7dc4bdab47c718c2331597af750934a1"}`)
	f.Add(`{"type":"report_upload_progress","name":"f","progress":{"state":"done"}}`)
	f.Add(`{"type":"get_download_task"}`)
	f.Add(`nonsense`)
	fx := newResFixture(f)
	f.Fuzz(func(t *testing.T, msg string) {
		fx.send("dev1", msg) // must not panic
	})
}

func TestResourceTasks(t *testing.T) {
	f := newResFixture(t)
	ctx := context.Background()

	// Upload task: the stored file must match the declared size and MD5.
	f.send("dev1", `{"type":"create_upload_task","size":100,"name":"file","md5sum":"`+md5sum+`"}`)
	m := f.pub.last()
	url, _ := m["url"].(string)
	if m["type"] != "create_upload_task_rsp" || m["size"] != float64(100) || m["name"] != "file" || m["md5sum"] != md5sum || url == "" {
		t.Fatalf("create_upload_task_rsp = %v", m)
	}
	key := url[len("http://up/"):]
	steps := []struct {
		name, stored, state string
		code                float64
		upload              string
	}{
		{"progress", "", "uploading", 0, ota.UploadRequested},
		{"wrong size", "99", "done", -1, ota.UploadFailed},
	}
	for _, s := range steps {
		if s.stored != "" {
			f.files.put(key, s.stored, md5sum)
		}
		f.send("dev1", `{"type":"report_upload_progress","name":"file","progress":{"state":"`+s.state+`","percent":89,"result_code":0,"result_msg":""}}`)
		m := f.pub.last()
		if m["type"] != "report_upload_progress_rsp" || m["result_code"] != s.code {
			t.Errorf("%s: rsp = %v", s.name, m)
		}
		ups, err := f.svc.DeviceUploads(ctx, "PROD000001", "dev1")
		must(t, err)
		if len(ups) != 1 || ups[0].State != s.upload {
			t.Errorf("%s: uploads = %+v", s.name, ups)
		}
	}
	f.send("dev1", `{"type":"create_upload_task","size":100,"name":"file","md5sum":"`+md5sum+`"}`)
	key = f.pub.last()["url"].(string)[len("http://up/"):]
	f.files.put(key, "100", md5sum)
	f.send("dev1", `{"type":"report_upload_progress","name":"file","progress":{"state":"done","percent":100,"result_code":0,"result_msg":""}}`)
	if m := f.pub.last(); m["result_code"] != float64(0) {
		t.Errorf("good upload: rsp = %v", m)
	}
	f.send("dev1", `{"type":"create_upload_task","size":-1,"name":"file","md5sum":"x"}`)
	if m := f.pub.last(); m["result_code"] != float64(-1) {
		t.Errorf("bad upload task accepted: %v", m)
	}

	// Download task.
	f.send("dev1", `{"type":"get_download_task"}`)
	if m := f.pub.last(); m["type"] != "get_download_task_rsp" || m["result_code"] != float64(-1) {
		t.Errorf("no task: %v", m)
	}
	f.files.put(ota.ResourceKey("PROD000001", "AAAA", "1"), "372338", md5sum)
	_, err := f.svc.PushResource(ctx, ota.PushInput{ProductID: "PROD000001", DeviceNames: []string{"dev1"}, Name: "AAAA", Version: "1"})
	must(t, err)
	f.send("dev1", `{"type":"get_download_task"}`)
	m = f.pub.last()
	if m["type"] != "get_download_task_rsp" || m["size"] != float64(372338) || m["name"] != "AAAA" || m["url"] != "http://dl/resources/files/PROD000001/AAAA/1" {
		t.Fatalf("get_download_task_rsp = %v", m)
	}
	f.send("dev1", `{"type":"report_download_progress","name":"AAAA","progress":{"state":"done","percent":100,"result_code":0,"result_msg":""}}`)
	if m := f.pub.last(); m["type"] != "report_download_progress_rsp" || m["result_code"] != float64(0) {
		t.Errorf("report_download_progress_rsp = %v", m)
	}
	if got := f.entry(t, "dev1", "AAAA"); got.State != ota.ResourceDone {
		t.Errorf("after download: %+v", got)
	}
}

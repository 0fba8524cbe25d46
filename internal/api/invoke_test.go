package api_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/thingo-iot/thingo/internal/api"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/registry/registrytest"
	"github.com/thingo-iot/thingo/internal/secretbox"
)

func TestInvoke(t *testing.T) {
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewHandler(api.Config{
		Registry: registry.NewService(registrytest.NewStore(), box, nil, nil),
		Keys:     api.StaticKeys{},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := h.Invoke(t.Context(), "CreateProject", []byte(`{"ProjectName":"home","ProjectDesc":"d"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Project api.ProjectEntry }
	if err := json.Unmarshal(raw, &got); err != nil || got.Project.ProjectId == "" {
		t.Fatalf("CreateProject = %s (%v)", raw, err)
	}
	tests := []struct {
		action, params, code string
	}{
		{"NoSuchAction", `{}`, "InvalidAction"},
		{"CreateProject", `{}`, "MissingParameter"},
		{"DescribeProject", `{"ProjectId":"nope"}`, "ResourceNotFound.ProjectNotExist"},
		{"CreateProject", `{"ProjectName":1}`, "InvalidParameter"},
	}
	for _, tt := range tests {
		_, err := h.Invoke(t.Context(), tt.action, []byte(tt.params))
		var e *api.Error
		if !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("%s %s: err = %v, want code %s", tt.action, tt.params, err, tt.code)
		}
	}
}

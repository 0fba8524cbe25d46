package ota_test

import (
	"context"
	"errors"
	"testing"

	"github.com/thingo-iot/thingo/internal/ota"
)

func TestPauseTask(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	task, err := f.svc.CreateTask(ctx, ota.TaskInput{ProductID: "PROD000001", Version: "2.0", OriVersion: "1.0"})
	must(t, err)
	steps := []struct {
		name    string
		do      func() error
		wantErr error
		status  int64
	}{
		{"pause", func() error { return f.svc.PauseTask(ctx, "PROD000001", task.ID) }, nil, ota.TaskPaused},
		{"pause a paused task", func() error { return f.svc.PauseTask(ctx, "PROD000001", task.ID) }, ota.ErrTaskNotRunning, ota.TaskPaused},
		{"another product", func() error { return f.svc.PauseTask(ctx, "PROD000002", task.ID) }, ota.ErrTaskNotFound, ota.TaskPaused},
		{"resume", func() error { return f.svc.ResumeTask(ctx, "PROD000001", task.ID) }, nil, ota.TaskRunning},
		{"cancel", func() error { return f.svc.CancelTask(ctx, "PROD000001", task.ID) }, nil, ota.TaskCanceled},
		{"pause a canceled task", func() error { return f.svc.PauseTask(ctx, "PROD000001", task.ID) }, ota.ErrTaskNotRunning, ota.TaskCanceled},
	}
	for _, s := range steps {
		if err := s.do(); !errors.Is(err, s.wantErr) {
			t.Errorf("%s: err %v, want %v", s.name, err, s.wantErr)
		}
		got, err := f.svc.Task(ctx, task.ID)
		must(t, err)
		if got.Status != s.status {
			t.Errorf("%s: status %d, want %d", s.name, got.Status, s.status)
		}
	}
}

package ota

import (
	"context"
	"errors"
	"time"
)

// dueBatch is how many due devices one tick handles.
const dueBatch = 200

// Run drives tasks until ctx ends: pushes pending devices when due (within
// each task's rate limit), retries or fails devices that went silent past
// their deadline, and closes finished tasks. All state is in the store, so
// a restarted server picks up where it stopped.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("ota tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick runs one round of the engine.
func (s *Service) Tick(ctx context.Context) error {
	now := s.clock()
	due, err := s.store.DueTaskDevices(ctx, now, dueBatch)
	if err != nil {
		return err
	}
	tasks := map[int64]Task{}
	counts := map[int64]*TaskCounts{}
	for _, d := range due {
		if err := s.tickDevice(ctx, d, tasks, counts, now); err != nil {
			return err
		}
	}
	s.forget(now)
	return s.store.FinishTasks(ctx, now)
}

// tickDevice handles one due device under its lock, re-reading its state
// in case a report changed it meanwhile.
func (s *Service) tickDevice(ctx context.Context, d TaskDevice, tasks map[int64]Task, counts map[int64]*TaskCounts, now time.Time) error {
	defer s.lockDevice(d.ProductID, d.DeviceName)()
	cur, err := s.store.ActiveTaskDevice(ctx, d.ProductID, d.DeviceName)
	if errors.Is(err, ErrNoActiveUpgrade) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur != d {
		return nil // changed since it was selected; the next tick sees it
	}
	t, ok := tasks[d.TaskID]
	if !ok {
		if t, err = s.store.GetTask(ctx, d.TaskID); err != nil {
			return err
		}
		tasks[d.TaskID] = t
	}
	if d.State == StatePending {
		if t.Status != TaskRunning || now.Before(t.DelayUntil) {
			return nil
		}
		c, ok := counts[t.ID]
		if !ok && (t.RolloutBatch > 0 || t.PauseFailurePct > 0) {
			n, err := s.store.CountTask(ctx, t.ID)
			if err != nil {
				return err
			}
			c = &n
			counts[t.ID] = c
		}
		if !s.rollout(ctx, t, c) {
			t.Status = TaskPaused // at least for this tick
			tasks[t.ID] = t
			return nil
		}
		if !s.allow(t, now) {
			return nil
		}
		if c != nil && d.Pushes == 0 {
			c.Started++
		}
		if err := s.push(ctx, d, t); err != nil {
			s.log.Debug("push deferred", "task_id", d.TaskID, "device_name", d.DeviceName, "err", err)
		}
		return nil
	}
	// In flight past the deadline: the device went silent.
	s.retryOrFail(&d, t, now, -1, "timeout: no progress from the device")
	d.UpdatedAt = now
	return s.store.UpdateTaskDevice(ctx, d)
}

// rollout reports whether the staged rollout of t lets one more device
// start; c are the task's counts (nil: read them). When more than
// PauseFailurePct of the finished devices failed, it pauses the task.
func (s *Service) rollout(ctx context.Context, t Task, c *TaskCounts) bool {
	if t.RolloutBatch <= 0 && t.PauseFailurePct <= 0 {
		return true
	}
	if c == nil {
		n, err := s.store.CountTask(ctx, t.ID)
		if err != nil {
			s.log.Warn("count firmware task", "task_id", t.ID, "err", err)
			return false
		}
		c = &n
	}
	finished := c.Done + c.Failed
	if t.PauseFailurePct > 0 && finished > 0 && c.Failed*100 > t.PauseFailurePct*finished {
		if err := s.store.SetTaskStatus(ctx, t.ID, TaskPaused, s.clock()); err != nil {
			s.log.Warn("pause firmware task", "task_id", t.ID, "err", err)
		} else {
			s.log.Warn("firmware task paused: failure rate over the threshold", "task_id", t.ID,
				"failed", c.Failed, "finished", finished, "threshold_pct", t.PauseFailurePct)
		}
		return false
	}
	// The first batch must finish before the others start.
	return t.RolloutBatch <= 0 || c.Started < t.RolloutBatch || finished+c.Canceled >= t.RolloutBatch
}

// allow takes one push from the task's per-minute budget.
func (s *Service) allow(t Task, now time.Time) bool {
	if t.RateLimit <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.rate[t.ID]
	if w == nil || now.Sub(w.start) >= time.Minute {
		w = &window{start: now}
		s.rate[t.ID] = w
	}
	if w.n >= t.RateLimit {
		return false
	}
	w.n++
	return true
}

// forget drops rate windows older than a minute.
func (s *Service) forget(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, w := range s.rate {
		if now.Sub(w.start) >= time.Minute {
			delete(s.rate, id)
		}
	}
}

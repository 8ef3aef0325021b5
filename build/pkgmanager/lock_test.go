package pkgmanager

import (
	"context"
	"testing"
	"time"
)

func TestPackageCacheLockWaitsAndHonoursCancel(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockCache(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if _, err := lockCache(ctx, dir, nil); err == nil {
		t.Fatal("a second holder got the lock")
	}
	got := make(chan error, 1)
	go func() {
		u, err := lockCache(context.Background(), dir, nil)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(200 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting build did not get the lock after it was released")
	}
}

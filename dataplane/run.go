package dataplane

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// BatchSize is how many frames a worker reads from its port at once.
const BatchSize = 64

// Run moves frames until ctx is done or every port has reached its end:
// one reader goroutine per port runs each batch to completion (Input for
// every frame, writes included), reading the clock once per batch, and a
// timer runs Tick once a second. Run returns when all readers have
// stopped; closing the ports (Close) stops readers blocked in ReadBatch.
// It returns the first read error other than io.EOF.
func (d *Dataplane) Run(ctx context.Context) error {
	d.lockWrites = true // readers write to each other's ports
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, ifc := range d.ifs {
		if ifc.port == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.read(ctx, ifc); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case now := <-t.C:
				d.Tick(now.UnixNano())
			}
		}
	}()
	go func() {
		<-ctx.Done()
		// Unblock readers: a port's Close makes ReadBatch return.
		d.Close()
	}()
	wg.Wait()
	close(done)
	return firstErr
}

// read is one port's reader goroutine.
func (d *Dataplane) read(ctx context.Context, ifc *Interface) error {
	w := d.NewWorker()
	batch := make([]*packet.Packet, BatchSize)
	for i := range batch {
		batch[i] = w.Get()
	}
	defer func() {
		for _, p := range batch {
			if p != nil {
				d.pool.Put(p)
			}
		}
		w.Close()
	}()
	for ctx.Err() == nil {
		n, err := ifc.port.ReadBatch(batch)
		if n > 0 {
			w.SetClock(time.Now().UnixNano())
			w.InputBatch(ifc, batch[:n])
			for i := range n {
				batch[i] = w.Get()
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

package client

import (
	"sync"

	"github.com/gatehouse-auth/gatehouse"
)

// StateChange is one move of the session state machine. Reason is set when
// To is Terminated.
type StateChange struct {
	From, To gatehouse.SessionState
	Reason   gatehouse.TerminationReason
}

// Observe calls fn with every state change, in order, from a goroutine of
// its own: a slow or blocked observer delays neither the client nor other
// observers (its changes queue up). The returned function stops the
// observation; changes not yet delivered are dropped.
func (c *Client) Observe(fn func(StateChange)) (stop func()) {
	return c.obs.add(fn)
}

type observers struct {
	mu     sync.Mutex
	list   map[int]*observer
	next   int
	closed bool
}

type observer struct {
	fn    func(StateChange)
	mu    sync.Mutex
	queue []StateChange
	wake  chan struct{} // capacity 1
	done  chan struct{}
	once  sync.Once
}

func (o *observers) add(fn func(StateChange)) func() {
	ob := &observer{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return func() {}
	}
	if o.list == nil {
		o.list = map[int]*observer{}
	}
	id := o.next
	o.next++
	o.list[id] = ob
	o.mu.Unlock()
	go ob.run()
	return func() {
		o.mu.Lock()
		delete(o.list, id)
		o.mu.Unlock()
		ob.stop()
	}
}

// publish queues ev for every observer. It never blocks on an observer.
func (o *observers) publish(ev StateChange) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ob := range o.list {
		ob.mu.Lock()
		ob.queue = append(ob.queue, ev)
		ob.mu.Unlock()
		select {
		case ob.wake <- struct{}{}:
		default:
		}
	}
}

func (o *observers) close() {
	o.mu.Lock()
	o.closed = true
	list := o.list
	o.list = nil
	o.mu.Unlock()
	for _, ob := range list {
		ob.stop()
	}
}

func (ob *observer) stop() { ob.once.Do(func() { close(ob.done) }) }

func (ob *observer) run() {
	for {
		select {
		case <-ob.done:
			return
		case <-ob.wake:
		}
		for {
			ob.mu.Lock()
			if len(ob.queue) == 0 {
				ob.mu.Unlock()
				break
			}
			ev := ob.queue[0]
			ob.queue = ob.queue[1:]
			ob.mu.Unlock()
			select {
			case <-ob.done:
				return
			default:
			}
			ob.fn(ev)
		}
	}
}

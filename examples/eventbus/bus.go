package main

import (
	"slices"
	"sync"
)

// Bus is a minimal in-process event bus, of the kind Go XMPP servers use to
// let modules hook into the core: handlers subscribe to a topic, and the core
// publishes a payload of the topic's type. Delivery is synchronous: Publish
// calls every handler of the topic in subscription order, on the publishing
// goroutine, and returns when they all have returned.
//
// A Bus is safe for concurrent use; its zero value is ready. Handlers are
// called without any lock of the bus held, so they may Subscribe, Publish or
// unsubscribe themselves.
type Bus struct {
	mu     sync.RWMutex
	nextID uint64
	subs   map[string][]subscription
}

type subscription struct {
	id uint64
	fn func(payload any)
}

// Subscribe registers fn for topic and returns a function that removes it
// again (calling it more than once is harmless). A handler removed while a
// Publish is running may still be called by that Publish.
func (b *Bus) Subscribe(topic string, fn func(payload any)) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = make(map[string][]subscription)
	}
	b.nextID++
	id := b.nextID
	b.subs[topic] = append(b.subs[topic], subscription{id: id, fn: fn})
	return func() { b.remove(topic, id) }
}

func (b *Bus) remove(topic string, id uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Replace the slice rather than edit it: a running Publish may be
	// iterating over the old one.
	b.subs[topic] = slices.DeleteFunc(slices.Clone(b.subs[topic]), func(s subscription) bool { return s.id == id })
	if len(b.subs[topic]) == 0 {
		delete(b.subs, topic)
	}
}

// Publish calls every handler subscribed to topic with payload.
func (b *Bus) Publish(topic string, payload any) {
	b.mu.RLock()
	subs := b.subs[topic] // never modified in place: see remove and Subscribe
	b.mu.RUnlock()
	for _, s := range subs {
		s.fn(payload)
	}
}

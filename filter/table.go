package filter

import (
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hostnet/hostnet/filter/pfconf"
)

// table is a compiled pf table: a set of prefixes, some negated, looked up
// by longest prefix match; a negated best match means "not in the table"
// (PF.md 2.7). Lookup probes one map per prefix length present, longest
// first.
type table struct {
	name    string
	entries []pfconf.TableEntry
	lens4   []int
	lens6   []int
	m       map[netip.Prefix]bool // value: negated

	// overload is set for a table named by `overload <t>`: addresses pf
	// adds at run time live in added (copy on write).
	overload bool
	mu       sync.Mutex
	added    atomic.Pointer[[]netip.Addr]
}

func newTable(name string, entries []pfconf.TableEntry) *table {
	t := &table{name: name, entries: entries, m: make(map[netip.Prefix]bool, len(entries))}
	have := map[int]bool{}
	for _, e := range entries {
		p := e.Prefix.Masked()
		t.m[p] = e.Not
		key := p.Bits()
		if p.Addr().Is6() {
			key += 1000
		}
		if !have[key] {
			have[key] = true
			if p.Addr().Is4() {
				t.lens4 = append(t.lens4, p.Bits())
			} else {
				t.lens6 = append(t.lens6, p.Bits())
			}
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(t.lens4)))
	sort.Sort(sort.Reverse(sort.IntSlice(t.lens6)))
	return t
}

// contains reports whether a is in the table. It does not allocate.
func (t *table) contains(a netip.Addr) bool {
	lens := t.lens4
	if a.Is6() {
		lens = t.lens6
	}
	for _, l := range lens {
		p, err := a.Prefix(l)
		if err != nil {
			continue
		}
		if not, ok := t.m[p]; ok {
			return !not
		}
	}
	if t.overload {
		if l := t.added.Load(); l != nil {
			for _, x := range *l {
				if x == a {
					return true
				}
			}
		}
	}
	return false
}

// add inserts a (overload).
func (t *table) add(a netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur []netip.Addr
	if l := t.added.Load(); l != nil {
		cur = *l
	}
	for _, x := range cur {
		if x == a {
			return false
		}
	}
	n := append(append([]netip.Addr(nil), cur...), a)
	t.added.Store(&n)
	return true
}

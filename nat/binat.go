package nat

import (
	"errors"
	"net/netip"
)

// Binat is a `binat-to` mapping: every address of the inside prefix has
// one address of the outside prefix, of the same length, with the same
// host part, and back. pfctl expands binat-to into an outbound nat-to of
// the outside prefix (bitmask, static-port) and an inbound rdr-to of the
// inside prefix with source and destination swapped; ports are never
// translated (PF.md 5.3). Out and In are those two directions. A Binat is
// a value: safe for concurrent use, and it does not allocate.
type Binat struct {
	inside, outside netip.Prefix
}

// NewBinat returns the mapping between inside and outside, which must be
// valid prefixes of one family and one length.
func NewBinat(inside, outside netip.Prefix) (Binat, error) {
	if !inside.IsValid() || !outside.IsValid() {
		return Binat{}, errors.New("nat: invalid binat prefix")
	}
	if inside.Addr().Is4() != outside.Addr().Is4() {
		return Binat{}, errors.New("nat: binat prefixes of different families")
	}
	if inside.Bits() != outside.Bits() {
		return Binat{}, errors.New("nat: binat prefixes of different lengths")
	}
	return Binat{inside: inside.Masked(), outside: outside.Masked()}, nil
}

// Inside returns the inside prefix.
func (b Binat) Inside() netip.Prefix { return b.inside }

// Outside returns the outside prefix.
func (b Binat) Outside() netip.Prefix { return b.outside }

// Out returns the outside address of inside address a (the source of an
// outbound packet), and reports whether a is in the inside prefix.
func (b Binat) Out(a netip.Addr) (netip.Addr, bool) {
	if !b.inside.Contains(a) {
		return netip.Addr{}, false
	}
	return poolmask(b.outside, a), true
}

// In returns the inside address of outside address a (the destination of
// an inbound packet), and reports whether a is in the outside prefix.
func (b Binat) In(a netip.Addr) (netip.Addr, bool) {
	if !b.outside.Contains(a) {
		return netip.Addr{}, false
	}
	return poolmask(b.inside, a), true
}

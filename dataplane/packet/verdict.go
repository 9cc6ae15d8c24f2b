package packet

import "strconv"

// Verdict is what a layer decided about a packet it borrowed.
type Verdict uint8

const (
	// Pass lets the packet go on.
	Pass Verdict = iota
	// Drop stops it; the caller Puts it and counts the reason.
	Drop
	// Taken means the callee took the packet (queued it, for example an
	// ARP hold queue): the caller must not touch it again.
	Taken
)

var verdictNames = [...]string{Pass: "pass", Drop: "drop", Taken: "taken"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// DropReason says why a frame was dropped. Every drop is counted under one.
// New reasons are added before NumDropReasons, with a name in dropNames.
type DropReason uint8

const (
	DropNone          DropReason = iota // not dropped
	DropRunt                            // shorter than an Ethernet header
	DropMalformed                       // a header is truncated or inconsistent
	DropBadIPHeader                     // IPv4/IPv6 header fails ipv4_check/ipv6_check
	DropTinyFragment                    // a first fragment too short for its transport header (RFC 1858)
	DropTooManyTags                     // more VLAN tags than hostnet parses
	DropUnclaimed                       // no layer took the frame
	DropDown                            // the interface is down
	DropOwnSource                       // the source MAC is a bridge member's own
	DropReservedGroup                   // 01:80:c2:00:00:01-0f, never forwarded
	DropSameLink                        // destination learned on the receiving member
	DropNoVLAN                          // a tag with no vlan interface and no bridge to take it
	DropBlockNonIP                      // blocknonip on the member
	DropProtected                       // both members share a protected domain
	DropBridgeRule                      // a bridge rule blocked it
	DropLocked                          // locked lladdr: not the VM's MAC
	DropFilter                          // pf blocked it
	DropMTU                             // larger than the egress MTU
	DropNoRoute                         // no route to the destination
	DropForwarding                      // forwarding is off for the family
	DropTTL                             // TTL or hop limit expired
	DropNoNeighbour                     // next hop did not answer ARP or ND
	DropHoldFull                        // ARP/ND hold queue full
	DropNotForUs                        // addressed to the host but not to one of its addresses
	DropNoListener                      // to us, nothing listens
	DropNATFull                         // no free NAT port or state slot
	DropStateLimit                      // the state table is full
	DropWriteError                      // the port failed to send it
	DropFragment                        // a fragment that could not be reassembled
	DropSpan                            // not dropped from the data path: a span copy that failed
	NumDropReasons
)

var dropNames = [NumDropReasons]string{
	DropNone:          "none",
	DropRunt:          "runt",
	DropMalformed:     "malformed",
	DropBadIPHeader:   "bad-ip-header",
	DropTinyFragment:  "tiny-fragment",
	DropTooManyTags:   "too-many-tags",
	DropUnclaimed:     "unclaimed",
	DropDown:          "down",
	DropOwnSource:     "own-source",
	DropReservedGroup: "reserved-group",
	DropSameLink:      "same-link",
	DropNoVLAN:        "novlan",
	DropBlockNonIP:    "blocknonip",
	DropProtected:     "protected",
	DropBridgeRule:    "bridge-rule",
	DropLocked:        "locked-lladdr",
	DropFilter:        "pf",
	DropMTU:           "mtu",
	DropNoRoute:       "no-route",
	DropForwarding:    "forwarding-off",
	DropTTL:           "ttl-exceeded",
	DropNoNeighbour:   "no-neighbour",
	DropHoldFull:      "hold-full",
	DropNotForUs:      "not-for-us",
	DropNoListener:    "no-listener",
	DropNATFull:       "nat-full",
	DropStateLimit:    "state-limit",
	DropWriteError:    "write-error",
	DropFragment:      "fragment",
	DropSpan:          "span",
}

// String returns the reason's short name, as the replay table prints it.
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "DropReason(" + strconv.Itoa(int(r)) + ")"
}

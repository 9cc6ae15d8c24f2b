package l2

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/hostnet/hostnet/dataplane/header"
)

// RuleAction is what a bridge rule does with a frame it matches.
type RuleAction uint8

const (
	RulePass RuleAction = iota
	RuleBlock
)

// Dir is the direction a bridge rule applies in, on its member.
type Dir uint8

const (
	DirIn   Dir = 1 << iota // frames received on the member
	DirOut                  // frames sent on the member
	DirBoth = DirIn | DirOut
)

// ARPKind restricts a rule to ARP or RARP frames (the `arp` and `rarp`
// keywords).
type ARPKind uint8

const (
	ARPAny  ARPKind = iota // not an ARP rule
	ARPOnly                // `arp`: ARP request or reply
	RARP                   // `rarp`: RARP request or reply
)

// ARPOp restricts an ARP rule to requests or replies.
type ARPOp uint8

const (
	OpAny ARPOp = iota
	OpRequest
	OpReply
)

// Rule is one bridge(4) rule, as ifconfig's `rule` command gives it:
//
//	rule pass|block [in|out] on IF [src MAC] [dst MAC] [tag NAME]
//	     [arp|rarp [request|reply] [sha MAC] [spa IP] [tha MAC] [tpa IP]]
//
// The member (IF) is the one whose Rules hold it. Rules are plain data,
// filled by the caller from the configuration.
type Rule struct {
	Action RuleAction
	// Dir is DirIn, DirOut or DirBoth (no direction given).
	Dir Dir
	// Src and Dst match the Ethernet addresses when MatchSrc and MatchDst
	// are set.
	Src, Dst           header.MAC
	MatchSrc, MatchDst bool
	// TagName is the pf tag the rule attaches to frames it matches; Tag its
	// id. When Tag is 0 and TagName is set, NewBridge resolves the name
	// with Config.TagID.
	TagName string
	Tag     uint16
	// ARP restricts the rule to ARP (ARPOnly) or RARP frames; Op, SHA, SPA,
	// THA and TPA (each when set) to the operation and the sender's and
	// target's hardware and protocol addresses.
	ARP      ARPKind
	Op       ARPOp
	SHA, THA header.MAC
	MatchSHA bool
	MatchTHA bool
	SPA, TPA netip.Addr // invalid: any
}

// String returns the rule as `ifconfig bridge0 rules IF` prints it, with
// ifname as the member's name.
func (r Rule) String(ifname string) string {
	var b strings.Builder
	if r.Action == RuleBlock {
		b.WriteString("block ")
	} else {
		b.WriteString("pass ")
	}
	switch r.Dir {
	case DirIn:
		b.WriteString("in ")
	case DirOut:
		b.WriteString("out ")
	default:
		b.WriteString("in/out ")
	}
	b.WriteString("on " + ifname)
	if r.MatchSrc {
		b.WriteString(" src " + r.Src.String())
	}
	if r.MatchDst {
		b.WriteString(" dst " + r.Dst.String())
	}
	if r.TagName != "" {
		b.WriteString(" tag " + r.TagName)
	}
	switch r.ARP {
	case ARPOnly:
		b.WriteString(" arp")
	case RARP:
		b.WriteString(" rarp")
	}
	switch r.Op {
	case OpRequest:
		b.WriteString(" request")
	case OpReply:
		b.WriteString(" reply")
	}
	if r.MatchSHA {
		b.WriteString(" sha " + r.SHA.String())
	}
	if r.SPA.IsValid() {
		b.WriteString(" spa " + r.SPA.String())
	}
	if r.MatchTHA {
		b.WriteString(" tha " + r.THA.String())
	}
	if r.TPA.IsValid() {
		b.WriteString(" tpa " + r.TPA.String())
	}
	return b.String()
}

// rule is a Rule compiled for matching: addresses as words, the ARP
// operation numbers resolved.
type rule struct {
	block    bool
	tag      uint16
	flags    uint8
	src, dst uint64
	arp      bool      // an arp or rarp rule
	ops      [2]uint16 // the operations the kind allows
	op       uint16    // the one asked for, 0 any
	sha, tha uint64
	spa, tpa [4]byte
}

const (
	rfSrc = 1 << iota
	rfDst
	rfSHA
	rfTHA
	rfSPA
	rfTPA
)

// ARP operations (RFC 826, RFC 903).
const (
	arpOpRequest    = 1
	arpOpReply      = 2
	arpOpRevRequest = 3
	arpOpRevReply   = 4
)

func compileRule(r Rule, tag uint16) rule {
	c := rule{block: r.Action == RuleBlock, tag: tag}
	if r.MatchSrc {
		c.flags |= rfSrc
		c.src = mac48(r.Src)
	}
	if r.MatchDst {
		c.flags |= rfDst
		c.dst = mac48(r.Dst)
	}
	switch r.ARP {
	case ARPOnly:
		c.arp = true
		c.ops = [2]uint16{arpOpRequest, arpOpReply}
		switch r.Op {
		case OpRequest:
			c.op = arpOpRequest
		case OpReply:
			c.op = arpOpReply
		}
	case RARP:
		c.arp = true
		c.ops = [2]uint16{arpOpRevRequest, arpOpRevReply}
		switch r.Op {
		case OpRequest:
			c.op = arpOpRevRequest
		case OpReply:
			c.op = arpOpRevReply
		}
	}
	if r.MatchSHA {
		c.flags |= rfSHA
		c.sha = mac48(r.SHA)
	}
	if r.MatchTHA {
		c.flags |= rfTHA
		c.tha = mac48(r.THA)
	}
	if r.SPA.Is4() {
		c.flags |= rfSPA
		c.spa = r.SPA.As4()
	}
	if r.TPA.Is4() {
		c.flags |= rfTPA
		c.tpa = r.TPA.As4()
	}
	return c
}

// ARP packet for IPv4 over Ethernet (RFC 826), after the Ethernet header:
// hrd(2) pro(2) hln(1) pln(1) op(2) sha(6) spa(4) tha(6) tpa(4).
const (
	arpSize = 28
	arpOp   = 6
	arpSHA  = 8
	arpSPA  = 14
	arpTHA  = 18
	arpTPA  = 24
)

// matchARP is bridge_arpfilter: an arp or rarp rule matches only an
// Ethernet/IPv4 ARP packet with ethertype 0x0806 (RARP packets too, as
// OpenBSD has it) whose operation belongs to the rule's kind.
func (r *rule) matchARP(f []byte) bool {
	if !r.arp {
		return true
	}
	if binary.BigEndian.Uint16(f[12:]) != header.EtherTypeARP || len(f) < header.EthernetSize+arpSize {
		return false
	}
	a := f[header.EthernetSize:]
	if binary.BigEndian.Uint16(a[0:]) != 1 || binary.BigEndian.Uint16(a[2:]) != header.EtherTypeIPv4 ||
		a[4] != 6 || a[5] != 4 {
		return false
	}
	op := binary.BigEndian.Uint16(a[arpOp:])
	if op != r.ops[0] && op != r.ops[1] {
		return false
	}
	if r.op != 0 && op != r.op {
		return false
	}
	if r.flags&rfSHA != 0 && load48(a[arpSHA:]) != r.sha {
		return false
	}
	if r.flags&rfTHA != 0 && load48(a[arpTHA:]) != r.tha {
		return false
	}
	if r.flags&rfSPA != 0 && [4]byte(a[arpSPA:arpSPA+4]) != r.spa {
		return false
	}
	if r.flags&rfTPA != 0 && [4]byte(a[arpTPA:arpTPA+4]) != r.tpa {
		return false
	}
	return true
}

// load48 reads a MAC from b as a word.
func load48(b []byte) uint64 {
	_ = b[5]
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

// filter is bridge_filterrule: the first rule that matches f decides;
// none matching passes. It returns whether f is blocked and the tag of the
// matching rule (0 for none). f is at least an Ethernet header.
func filter(rules []rule, f []byte) (block bool, tag uint16) {
	if len(rules) == 0 {
		return false, 0
	}
	dst, src := addrs(f)
	for i := range rules {
		r := &rules[i]
		if !r.matchARP(f) {
			continue
		}
		if r.flags&rfSrc != 0 && src != r.src {
			continue
		}
		if r.flags&rfDst != 0 && dst != r.dst {
			continue
		}
		return r.block, r.tag
	}
	return false, 0
}

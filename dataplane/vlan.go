package dataplane

import (
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/l2"
)

func pushTag(p *packet.Packet, tpid, tci uint16) bool { return l2.PushTag(p, tpid, tci) }

func popTag(p *packet.Packet) { l2.PopTag(p) }

func prioToPCP(prio uint8) uint8 { return l2.PCPFromPrio(prio) }

func pcpToPrio(pcp uint8) uint8 { return l2.PrioFromPCP(pcp) }

package dataplane

import (
	"crypto/sha256"
	"fmt"
	"log/slog"

	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// DefaultMTU is the MTU of an interface that sets none.
const DefaultMTU = 1500

// New builds the interface table of spec and opens the ports of its taps
// and host NICs through opts.Port. On error nothing is left open.
func New(spec *config.Spec, opts Options) (*Dataplane, error) {
	d := &Dataplane{byName: map[string]*Interface{}, pool: opts.Pool, log: opts.Logger}
	if d.pool == nil {
		d.pool = packet.NewPool()
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if len(spec.Interfaces) > 1<<16-1 {
		return nil, fmt.Errorf("dataplane: %d interfaces, at most %d", len(spec.Interfaces), 1<<16-1)
	}
	// Interfaces first, then what refers to them (parents, bridges).
	for i := range spec.Interfaces {
		ci := &spec.Interfaces[i]
		ifc := &Interface{
			Index:       packet.PortID(len(d.ifs)),
			Name:        ci.Name,
			Kind:        kindFrom(ci.Kind),
			MTU:         ci.MTU,
			Up:          ci.Up,
			Description: ci.Description,
			txprio:      -1,
			rxprio:      -1,
			member:      -1,
		}
		if ifc.MTU == 0 {
			ifc.MTU = DefaultMTU
		}
		if ci.LLAddr != nil {
			ifc.MAC = header.MAC(*ci.LLAddr)
		} else {
			ifc.MAC = StableMAC(ci.Name, opts.MACSeed)
		}
		ifc.Groups = groupsOf(ci)
		for _, a := range ci.Inet {
			ifc.Addrs = append(ifc.Addrs, a.Prefix)
		}
		for _, a := range ci.Inet6 {
			ifc.Addrs = append(ifc.Addrs, a.Prefix)
		}
		ifc.stack = ifc.Kind == KindVether || len(ifc.Addrs) > 0
		d.ifs = append(d.ifs, ifc)
		d.byName[ifc.Name] = ifc
	}
	for i := range spec.Interfaces {
		ci := &spec.Interfaces[i]
		ifc := d.ifs[i]
		if ifc.Kind != KindVLAN && ifc.Kind != KindSVLAN {
			continue
		}
		if ci.Parent == "" || ci.VNetID < 0 {
			// Without a parent or a VID a vlan interface moves nothing,
			// as on OpenBSD; check warns about it.
			continue
		}
		parent, ok := d.byName[ci.Parent]
		if !ok {
			return nil, fmt.Errorf("dataplane: %s: parent %s is not an interface", ci.Name, ci.Parent)
		}
		ifc.parent = parent
		ifc.vid = uint16(ci.VNetID)
		ifc.txprio = ci.TxPrio
		switch ci.RxPrio {
		case config.PrioOuter:
			ifc.rxprio = -1
		case config.PrioPacket:
			ifc.rxprio = -2
		default:
			ifc.rxprio = ci.RxPrio
		}
		if ci.TxPrio == config.PrioPacket {
			ifc.txprio = -1
		}
		if ci.LLAddr == nil {
			ifc.MAC = parent.MAC // vlan(4) takes its parent's address
		}
		table := &parent.vlans
		ifc.tpid = header.EtherTypeDot1Q
		if ifc.Kind == KindSVLAN {
			table = &parent.svlans
			ifc.tpid = header.EtherTypeDot1AD
		}
		if *table == nil {
			*table = new([4096]*Interface)
		}
		if other := (*table)[ifc.vid]; other != nil {
			return nil, fmt.Errorf("dataplane: %s and %s both take VID %d on %s", other.Name, ifc.Name, ifc.vid, parent.Name)
		}
		(*table)[ifc.vid] = ifc
	}
	// vlan interfaces on vlan interfaces inherit the MAC of the root.
	for _, ifc := range d.ifs {
		for p := ifc.parent; p != nil && spec.Interfaces[ifc.Index].LLAddr == nil; p = p.parent {
			ifc.MAC = p.MAC
		}
	}
	for i := range spec.Interfaces {
		ci := &spec.Interfaces[i]
		if ci.Kind != config.Bridge {
			continue
		}
		br, err := d.newBridge(d.ifs[i], ci)
		if err != nil {
			return nil, err
		}
		d.bridges = append(d.bridges, br)
	}
	if opts.Port != nil {
		for _, ifc := range d.ifs {
			if !ifc.Kind.HasPort() {
				continue
			}
			port, err := opts.Port(ifc)
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("dataplane: %s: %w", ifc.Name, err)
			}
			ifc.port = port
			if o, ok := port.(offloader); ok {
				ifc.offload = o.VnetHdr()
			}
		}
	}
	if err := d.newPF(spec, opts); err != nil {
		d.Close()
		return nil, err
	}
	// The stack comes last: configuring an address sends a gratuitous
	// ARP, which needs the ports.
	for _, ifc := range d.ifs {
		if ifc.stack {
			if err := d.newStack(spec, opts); err != nil {
				d.Close()
				return nil, err
			}
			break
		}
	}
	return d, nil
}

func kindFrom(k config.Kind) Kind {
	switch k {
	case config.Tap:
		return KindTap
	case config.Vether:
		return KindVether
	case config.VLAN:
		return KindVLAN
	case config.SVLAN:
		return KindSVLAN
	case config.Bridge:
		return KindBridge
	}
	return KindEther
}

// groupsOf returns the interface groups of ci: all, its kind's group for
// cloned interfaces, and the groups it is given.
func groupsOf(ci *config.Interface) []string {
	g := []string{"all"}
	if ci.Kind != config.Ether {
		g = append(g, ci.Kind.String())
	}
	return append(g, ci.Groups...)
}

// StableMAC returns a locally administered unicast MAC derived from name
// and seed: the same on every start of the same host. OpenBSD gives vether
// and tap interfaces random addresses; hostnet keeps them stable so that
// guests' ARP caches and replays survive a restart.
func StableMAC(name string, seed []byte) header.MAC {
	h := sha256.New()
	h.Write(seed)
	h.Write([]byte{0})
	h.Write([]byte(name))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var m header.MAC
	copy(m[:], sum[:6])
	m[0] = m[0]&^1 | 2 // unicast, locally administered
	return m
}

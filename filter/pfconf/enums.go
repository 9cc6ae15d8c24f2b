package pfconf

import "strconv"

// String methods for the enums, by hand: the names are pf.conf's own
// words where there is one.

func enumString(names []string, v uint8, typ string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(int(v)) + ")"
}

func (a Action) String() string {
	return enumString([]string{"pass", "block", "match", "anchor"}, uint8(a), "Action")
}

func (d Dir) String() string {
	return enumString([]string{"", "in", "out"}, uint8(d), "Dir")
}

func (m ReturnMode) String() string {
	return enumString([]string{"drop", "return", "return-rst", "return-icmp"}, uint8(m), "ReturnMode")
}

func (t AddrType) String() string {
	return enumString([]string{"any", "addrmask", "range", "dynamic", "table", "no-route", "urpf-failed"}, uint8(t), "AddrType")
}

func (o PortOp) String() string {
	return enumString([]string{"", "=", "!=", "<", "<=", ">", ">=", "><", "<>", ":"}, uint8(o), "PortOp")
}

func (t PoolType) String() string {
	return enumString([]string{"", "bitmask", "random", "source-hash", "round-robin", "least-states"}, uint8(t), "PoolType")
}

func (m StateMode) String() string {
	return enumString([]string{"no state", "keep state", "modulate state", "synproxy state"}, uint8(m), "StateMode")
}

func (t RouteType) String() string {
	return enumString([]string{"", "route-to", "reply-to", "dup-to"}, uint8(t), "RouteType")
}

func (p BlockPolicy) String() string {
	return enumString([]string{"drop", "return"}, uint8(p), "BlockPolicy")
}

func (p StatePolicy) String() string {
	return enumString([]string{"floating", "if-bound"}, uint8(p), "StatePolicy")
}
